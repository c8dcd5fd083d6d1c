"""Output heads: map backbone hidden states to forecasts."""

from sktime_llmforecast.heads.flatten import FlattenHead

__all__ = ["FlattenHead"]
