"""sktime-llmforecast: forecast time series with pretrained LLMs, as an sktime plugin.

The estimators, tokenizers, switchers and metrics a user imports are here; the
stages live in their subpackages (``tokenizers``, ``interfaces``, ``backbones``,
``heads``, ``losses``, ``metrics``), the network layer in ``nn`` and pretraining in
``pretraining``.
"""

__version__ = "0.1.0"  # first: nn.adapter records it in adapter cards

from sktime_llmforecast.forecasting import FitPlan, LLMForecaster  # noqa: E402
from sktime_llmforecast.losses import LossSwitcher  # noqa: E402
from sktime_llmforecast.metrics import (  # noqa: E402
    MeanHuberError,
    MeanLogCoshError,
    QuantileCRPS,
    SampleCRPS,
    SwitchedLoss,
)
from sktime_llmforecast.tokenizers import (  # noqa: E402
    BinTokenizer,
    ChunkedDigitTokenizer,
    DigitTokenizer,
    PatchTokenizer,
    TokenizerSwitcher,
)

__all__ = [
    "BinTokenizer",
    "ChunkedDigitTokenizer",
    "DigitTokenizer",
    "FitPlan",
    "LLMForecaster",
    "LossSwitcher",
    "MeanHuberError",
    "MeanLogCoshError",
    "PatchTokenizer",
    "QuantileCRPS",
    "SampleCRPS",
    "SwitchedLoss",
    "TokenizerSwitcher",
    "__version__",
]
