"""Point-forecast losses: ``pred (B, H)`` against ``target (B, H)``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from sktime_llmforecast.losses._base import PointLoss, masked_mean


def mse_loss(pred, target, mask=None):
    """Mean squared error, optionally over the entries where ``mask`` is True.

    Examples
    --------
    >>> import torch
    >>> float(mse_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0])))
    5.0
    """
    return masked_mean((pred - target) ** 2, mask)


class MSELoss(PointLoss):
    """Mean squared error; its minimiser is the conditional mean.

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.losses import MSELoss
    >>> float(MSELoss()(torch.tensor([[1.0, 3.0]]), torch.zeros(1, 2)))
    5.0
    """

    name = "mse"

    def pointwise(self, pred, target, scale=None):
        return (pred - target) ** 2


class MAELoss(PointLoss):
    """Mean absolute error; its minimiser is the conditional median.

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.losses import MAELoss
    >>> float(MAELoss()(torch.tensor([[1.0, -3.0]]), torch.zeros(1, 2)))
    2.0
    """

    name = "mae"

    def pointwise(self, pred, target, scale=None):
        return (pred - target).abs()


class HuberLoss(PointLoss):
    """Huber loss: squared below ``delta``, linear above (robust to outliers).

    ``0.5 e^2`` for ``|e| <= delta``, ``delta (|e| - 0.5 delta)`` beyond; in
    standardised units, so ``delta=1`` means one context standard deviation.

    Parameters
    ----------
    delta : float, default=1.0

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.losses import HuberLoss
    >>> float(HuberLoss(delta=1.0)(torch.tensor([[0.5, 3.0]]), torch.zeros(1, 2)))
    1.3125
    """

    name = "huber"

    def __init__(self, delta=1.0):
        super().__init__()
        if not delta > 0:
            raise ValueError(f"HuberLoss delta must be > 0, got {delta!r}.")
        self.delta = float(delta)

    def pointwise(self, pred, target, scale=None):
        return F.huber_loss(pred, target, reduction="none", delta=self.delta)


def log_cosh(x):
    """``log(cosh(x))`` without overflow: ``|x| + log1p(exp(-2|x|)) - log 2``."""
    a = x.abs()
    return a + torch.log1p(torch.exp(-2.0 * a)) - math.log(2.0)


class LogCoshLoss(PointLoss):
    """Log-cosh loss: about ``e^2 / 2`` for small errors, ``|e| - log 2`` for large.

    Smooth everywhere (unlike Huber), robust like MAE in the tails.

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.losses import LogCoshLoss
    >>> round(float(LogCoshLoss()(torch.tensor([[0.0, 1.0]]), torch.zeros(1, 2))), 4)
    0.2169
    """

    name = "log_cosh"

    def pointwise(self, pred, target, scale=None):
        return log_cosh(pred - target)


class ScaledErrorLoss(PointLoss):
    """Absolute error scaled by each window's in-sample seasonal naive error (MASE).

    ``scale`` is ``(B, 1)``: the mean absolute ``season``-step difference of each
    context window (the networks compute it with :func:`seasonal_naive_scale`),
    so every window weighs the same whatever its level of noise.

    Parameters
    ----------
    season : int, default=1
        Seasonal period of the naive benchmark (1: the naive forecast).

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.losses import ScaledErrorLoss
    >>> loss = ScaledErrorLoss()
    >>> float(loss(torch.tensor([[2.0]]), torch.zeros(1, 1), scale=torch.tensor([[4.0]])))
    0.5
    """

    name = "mase"
    needs_scale = True

    def __init__(self, season=1):
        super().__init__()
        if not (isinstance(season, int) and season >= 1):
            raise ValueError(f"ScaledErrorLoss season must be an int >= 1, got {season!r}.")
        self.season = season

    def pointwise(self, pred, target, scale=None):
        if scale is None:
            raise ValueError("ScaledErrorLoss needs scale=(B, 1) naive errors.")
        return (pred - target).abs() / scale


def seasonal_naive_scale(context, mask, season=1, floor=0.05):
    """In-sample MAE of the seasonal naive forecast of each window, ``(B, 1)``.

    Only pairs of observed values count. The scale is at least ``floor`` (in the
    units of ``context``; the networks pass standardised windows, so 0.05 context
    standard deviations): exactly repeating or constant windows would otherwise
    multiply the loss by thousands.
    """
    if context.shape[1] <= season:
        return torch.full((len(context), 1), float(floor), dtype=context.dtype,
                          device=context.device)
    diff = (context[:, season:] - context[:, :-season]).abs()
    both = mask[:, season:] & mask[:, :-season]
    w = both.to(diff.dtype)
    mean = (diff * w).sum(1, keepdim=True) / w.sum(1, keepdim=True).clamp_min(1.0)
    return mean.clamp_min(floor)


class SMAPELoss(PointLoss):
    """Symmetric mean absolute percentage error, ``2|f - y| / (|f| + |y|)``.

    Computed in original units (the networks de-standardise first); bounded by 2;
    ``eps`` guards the 0/0 case.

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.losses import SMAPELoss
    >>> round(float(SMAPELoss()(torch.tensor([[110.0]]), torch.tensor([[90.0]]))), 6)
    0.2
    """

    name = "smape"
    units = "original"

    def __init__(self, eps=1e-8):
        super().__init__()
        self.eps = float(eps)

    def pointwise(self, pred, target, scale=None):
        num = 2.0 * (pred - target).abs()
        den = pred.abs() + target.abs() + self.eps
        return num / den
