"""Forecasting metrics for sktime's ``evaluate`` and grid search."""

from sktime_llmforecast.metrics.crps import SampleCRPS

__all__ = ["SampleCRPS"]
