"""Distributional losses: quantiles, samples and a Gaussian."""

from __future__ import annotations

import math

import torch

from sktime_llmforecast.losses._base import ForecastLoss, masked_mean


def pinball_loss(pred_quantiles, target, levels, mask=None):
    """Mean pinball loss of quantile forecasts ``(B, Q, H)`` against ``(B, H)``.

    ``max(q (y - f), (q - 1) (y - f))`` averaged over batch, levels and steps.

    Examples
    --------
    >>> import torch
    >>> q = torch.tensor([[[0.0], [2.0]]])          # levels 0.1 and 0.9
    >>> round(float(pinball_loss(q, torch.tensor([[1.0]]), torch.tensor([0.1, 0.9]))), 6)
    0.1
    """
    diff = target[:, None, :] - pred_quantiles  # (B, Q, H)
    q = levels.to(diff.dtype)[None, :, None]
    loss = (q * diff).maximum((q - 1) * diff)
    return masked_mean(loss, None if mask is None else mask[:, None, :])


def level_weights(levels):
    """Midpoint-rule weights of sorted quantile levels for integrating over (0, 1).

    Level ``i`` stands for the interval between the midpoints to its neighbours,
    the outermost levels for the rest of the way to 0 and 1; the weights sum to 1.
    """
    lv = levels.to(torch.float64)
    edges = torch.cat([lv.new_zeros(1), (lv[1:] + lv[:-1]) / 2, lv.new_ones(1)])
    return (edges[1:] - edges[:-1]).to(levels.dtype)


class PinballLoss(ForecastLoss):
    """Pinball (quantile) loss, averaged with equal weight over the levels.

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.losses import PinballLoss
    >>> q = torch.tensor([[[0.0], [2.0]]])
    >>> round(float(PinballLoss()(q, torch.tensor([[1.0]]), levels=torch.tensor([0.1, 0.9]))), 6)
    0.1
    """

    name = "pinball"
    output = "quantiles"

    def forward(self, pred, target, mask=None, scale=None, levels=None):
        if levels is None:
            raise ValueError("PinballLoss needs the quantile levels.")
        return pinball_loss(pred, target, levels, mask)


class QuantileCRPSLoss(ForecastLoss):
    """CRPS approximated from quantile forecasts.

    ``CRPS = 2 * integral_0^1 pinball_q dq``, integrated with the midpoint-rule
    weights of :func:`level_weights`; with many evenly spaced levels it tends to
    the exact CRPS, and it is in the data's units (unlike the plain pinball mean,
    whose weight on the tails depends on how the levels are spread).

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.losses import QuantileCRPSLoss
    >>> q = torch.tensor([[[1.0], [1.0]]])
    >>> float(QuantileCRPSLoss()(q, torch.tensor([[1.0]]), levels=torch.tensor([0.25, 0.75])))
    0.0
    """

    name = "crps_quantile"
    output = "quantiles"

    def forward(self, pred, target, mask=None, scale=None, levels=None):
        if levels is None:
            raise ValueError("QuantileCRPSLoss needs the quantile levels.")
        diff = target[:, None, :] - pred
        q = levels.to(diff.dtype)[None, :, None]
        pin = (q * diff).maximum((q - 1) * diff)  # (B, Q, H)
        w = level_weights(levels).to(diff.dtype)[None, :, None]
        per_point = 2.0 * (pin * w).sum(1)  # (B, H)
        return masked_mean(per_point, mask)


def sample_crps(samples, target, fair=False):
    """CRPS of an ensemble ``(B, S, H)`` per point ``(B, H)``.

    ``mean|X - y| - 0.5 mean|X - X'|``: with ``fair=False`` the pair term averages
    over all ``S^2`` pairs (what ``properscoring.crps_ensemble`` computes); with
    ``fair=True`` over the ``S (S - 1)`` distinct pairs, the unbiased ("fair")
    estimator, whose minimiser is the true distribution for any ``S`` (the
    ``S^2`` form rewards ensembles that are too narrow). The pair term is
    ``O(S log S)`` from the sorted samples.
    """
    s = samples.shape[1]
    term1 = (samples - target[:, None, :]).abs().mean(1)
    x = samples.sort(dim=1).values
    i = torch.arange(1, s + 1, dtype=x.dtype, device=x.device)[None, :, None]
    pair_sum = 2.0 * ((2 * i - s - 1) * x).sum(1)  # sum_ij |x_i - x_j|
    n_pairs = s * (s - 1) if fair else s**2
    return term1 - 0.5 * pair_sum / n_pairs


def sample_from_quantiles(quantiles, levels, n_samples, generator=None):
    """Differentiable draws ``(B, n, H)`` from quantile forecasts ``(B, Q, H)``.

    Uniform levels ``u`` in (0, 1) are mapped through the piecewise-linear
    quantile function of the sorted quantiles (monotone), extended linearly
    beyond the outermost levels with the slope of the outermost segments, so the
    tails are not cut off. Gradients flow to the quantiles.
    """
    b, nq, h = quantiles.shape
    if nq < 2:
        raise ValueError(
            "Sampling from quantiles needs at least 2 quantile_levels; got "
            f"{nq}. Add levels or use a quantile loss such as 'crps_quantile'."
        )
    q = quantiles.sort(dim=1).values
    lv = levels.to(q.dtype)
    u = torch.rand((b, n_samples, h), generator=generator, dtype=q.dtype, device=q.device)
    hi = torch.searchsorted(lv, u.reshape(-1)).clamp(1, nq - 1).reshape(u.shape)
    lo = hi - 1
    w = (u - lv[lo]) / (lv[hi] - lv[lo])  # < 0 or > 1 in the tails: extrapolation
    q_lo = q.gather(1, lo)
    q_hi = q.gather(1, hi)
    return q_lo + w * (q_hi - q_lo)


class SampleCRPSLoss(ForecastLoss):
    """CRPS of sample paths (ensemble form, as in ``properscoring.crps_ensemble``).

    Trained with the fair (unbiased) estimator (see :func:`sample_crps`); the
    patch network supplies ``n_samples`` differentiable draws per window from its
    quantile head (:func:`sample_from_quantiles`).

    Parameters
    ----------
    n_samples : int, default=16

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.losses import SampleCRPSLoss
    >>> x = torch.tensor([[[0.0], [2.0]]])   # two samples of one point
    >>> float(SampleCRPSLoss()(x, torch.tensor([[1.0]])))
    0.0
    """

    name = "crps_samples"
    output = "samples"

    def __init__(self, n_samples=16):
        super().__init__()
        if not (isinstance(n_samples, int) and n_samples >= 2):
            raise ValueError(f"n_samples must be an int >= 2, got {n_samples!r}.")
        self.n_samples = n_samples

    def forward(self, pred, target, mask=None, scale=None, levels=None):
        return masked_mean(sample_crps(pred, target, fair=True), mask)


class GaussianNLLLoss(ForecastLoss):
    """Negative log-likelihood of a Gaussian with predicted mean and log-sd.

    ``pred[:, 0]`` is the mean, ``pred[:, 1]`` the log standard deviation
    (clamped to ``[-7, 7]`` for stability); a learned, per-step noise level that
    down-weights hard-to-predict points.

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.losses import GaussianNLLLoss
    >>> pred = torch.zeros(1, 2, 1)                 # N(0, 1)
    >>> round(float(GaussianNLLLoss()(pred, torch.zeros(1, 1))), 4)
    0.9189
    """

    name = "gaussian_nll"
    output = "gaussian"
    lower_bound = -7.0 + 0.5 * math.log(2 * math.pi)  # log-sd clamped at -7

    def forward(self, pred, target, mask=None, scale=None, levels=None):
        mean, log_sd = pred[:, 0], pred[:, 1].clamp(-7.0, 7.0)
        z = (target - mean) * torch.exp(-log_sd)
        nll = log_sd + 0.5 * z**2 + 0.5 * math.log(2 * math.pi)
        return masked_mean(nll, mask)
