"""Learnable interfaces: map tokenizer output to the backbone's embedding width."""

from sktime_llmforecast.interfaces.projection import (
    INTERFACE_KINDS,
    build_interface,
)

__all__ = ["INTERFACE_KINDS", "build_interface"]
