"""Learnable interfaces: map tokenizer output to the backbone's embedding width."""

from sktime_llmforecast.interfaces.projection import (
    INTERFACE_KINDS,
    build_interface,
)
from sktime_llmforecast.interfaces.resampler import QueryResampler
from sktime_llmforecast.interfaces.token_embedding import build_token_embedding

__all__ = ["INTERFACE_KINDS", "QueryResampler", "build_interface", "build_token_embedding"]
