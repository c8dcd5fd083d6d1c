"""The sktime forecaster, and the plan its parameters resolve into."""

from sktime_llmforecast.forecasting.llm import LLMForecaster
from sktime_llmforecast.forecasting.plan import FitPlan, resolve_plan

__all__ = ["FitPlan", "LLMForecaster", "resolve_plan"]
