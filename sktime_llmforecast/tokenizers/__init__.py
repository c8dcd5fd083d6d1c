"""Numeric tokenizers: turn a series into tokens for a backbone, and back."""

from sktime_llmforecast.tokenizers.patch import PatchState, PatchTokenizer

__all__ = ["PatchState", "PatchTokenizer"]
