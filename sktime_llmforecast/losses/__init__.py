"""Training losses, each written once as a torch function."""

from sktime_llmforecast.losses.point import mse_loss
from sktime_llmforecast.losses.quantile import pinball_loss
from sktime_llmforecast.losses.token import token_cross_entropy

__all__ = ["mse_loss", "pinball_loss", "token_cross_entropy"]
