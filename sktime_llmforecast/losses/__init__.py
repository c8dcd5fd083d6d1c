"""Training losses: the menu, their coupling and the switcher that picks them."""

from sktime_llmforecast.losses._base import ForecastLoss
from sktime_llmforecast.losses.categories import (
    CATEGORY_LOSSES,
    loss_category,
    series_features,
)
from sktime_llmforecast.losses.coupling import CoupledLoss
from sktime_llmforecast.losses.point import (
    HuberLoss,
    LogCoshLoss,
    MAELoss,
    MSELoss,
    ScaledErrorLoss,
    SMAPELoss,
    mse_loss,
    seasonal_naive_scale,
)
from sktime_llmforecast.losses.probabilistic import (
    GaussianNLLLoss,
    PinballLoss,
    QuantileCRPSLoss,
    SampleCRPSLoss,
    pinball_loss,
    sample_crps,
    sample_from_quantiles,
)
from sktime_llmforecast.losses.registry import LOSSES, loss_names, make_loss
from sktime_llmforecast.losses.switcher import LossSwitcher
from sktime_llmforecast.losses.token import TokenCrossEntropyLoss, token_cross_entropy

__all__ = [
    "CATEGORY_LOSSES",
    "LOSSES",
    "CoupledLoss",
    "ForecastLoss",
    "GaussianNLLLoss",
    "HuberLoss",
    "LogCoshLoss",
    "LossSwitcher",
    "MAELoss",
    "MSELoss",
    "PinballLoss",
    "QuantileCRPSLoss",
    "SMAPELoss",
    "SampleCRPSLoss",
    "ScaledErrorLoss",
    "TokenCrossEntropyLoss",
    "loss_category",
    "loss_names",
    "make_loss",
    "mse_loss",
    "pinball_loss",
    "sample_crps",
    "sample_from_quantiles",
    "seasonal_naive_scale",
    "series_features",
    "token_cross_entropy",
]
