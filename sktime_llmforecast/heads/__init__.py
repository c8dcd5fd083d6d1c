"""Output heads: map backbone hidden states to forecasts."""

from sktime_llmforecast.heads.flatten import FlattenHead
from sktime_llmforecast.heads.token import TokenHead

__all__ = ["FlattenHead", "TokenHead"]
