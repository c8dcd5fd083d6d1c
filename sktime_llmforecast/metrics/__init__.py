"""Forecasting metrics: the training losses sktime lacks, in sktime's metric API."""

from sktime_llmforecast.metrics.crps import SampleCRPS
from sktime_llmforecast.metrics.point import MeanHuberError, MeanLogCoshError
from sktime_llmforecast.metrics.quantile import QuantileCRPS
from sktime_llmforecast.metrics.switched import SwitchedLoss

__all__ = [
    "MeanHuberError",
    "MeanLogCoshError",
    "QuantileCRPS",
    "SampleCRPS",
    "SwitchedLoss",
]
