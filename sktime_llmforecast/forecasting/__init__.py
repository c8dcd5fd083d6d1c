"""Forecasters that compose tokenizer, interface, backbone, head and loss."""

from sktime_llmforecast.forecasting.llm import LLMForecaster

__all__ = ["LLMForecaster"]
