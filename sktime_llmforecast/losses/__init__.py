"""Training losses, each written once as a torch function."""

from sktime_llmforecast.losses.point import mse_loss

__all__ = ["mse_loss"]
