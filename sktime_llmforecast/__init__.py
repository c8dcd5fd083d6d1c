"""sktime-llmforecast: forecast time series with pretrained LLMs, as an sktime plugin."""

from sktime_llmforecast.forecasting import LLMForecaster
from sktime_llmforecast.losses import LossSwitcher
from sktime_llmforecast.tokenizers import (
    BinTokenizer,
    ChunkedDigitTokenizer,
    DigitTokenizer,
    PatchTokenizer,
)

__version__ = "0.1.0"

__all__ = [
    "BinTokenizer",
    "ChunkedDigitTokenizer",
    "DigitTokenizer",
    "LLMForecaster",
    "LossSwitcher",
    "PatchTokenizer",
    "__version__",
]
