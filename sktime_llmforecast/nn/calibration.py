"""Interval calibration of the quantile head on held-out windows.

A network fine-tuned (or used zero-shot) on one series tends to be too sure of
itself: its quantiles are those of the windows it fits best. ``fit`` therefore
measures, on the held-out validation windows of the user's own series, how much
the head's spread around its median must be stretched or shrunk:
``q'(a) = m + s * (q(a) - m)``, one factor ``s`` for every level and step, chosen
on a log grid to minimise the mean pinball loss (the quantile CRPS), a proper
score, so the calibrated intervals are only as wide as the data says. A single
factor is what a few dozen overlapping windows of a short series can estimate
(docs/probabilistic.md, "Calibration and recursive spread").

Recursive blocks (steps beyond the head) are fed their own median, so their
quantiles miss the uncertainty of the steps before them; :func:`accumulate_spread`
adds the last step's spread of the block before, in quadrature (independent
errors), so the spread never shrinks at a block boundary.
"""

from __future__ import annotations

import numpy as np
import torch

from sktime_llmforecast.nn.training import run_batched
from sktime_llmforecast.nn.windows import make_windows
from sktime_llmforecast.tokenizers import masked_standardize

#: spread factors tried (log-spaced, 1 included)
SPREAD_GRID = np.exp(np.linspace(np.log(0.25), np.log(4.0), 49))
#: fewest validation windows a factor is fitted on (else the head is kept as is)
MIN_WINDOWS = 4


def head_median(levels, quantiles):
    """The head's median ``(n, T)`` (interpolated in normal score when 0.5 is not a
    trained level)."""
    from sktime_llmforecast.nn.paths import interp_quantiles

    return interp_quantiles(levels, quantiles, [0.5])[:, 0]


def widen(levels, quantiles, spread):
    """Quantiles ``(n, Q, T)`` with their distance from the median times ``spread``."""
    if spread == 1.0:
        return quantiles
    median = head_median(levels, quantiles)[:, None]
    return median + spread * (quantiles - median)


def accumulate_spread(levels, block, before):
    """Quantiles of a recursive ``block`` ``(n, Q, H)`` with the spread of the last
    step of the block ``before`` ``(n, Q, T)`` added in quadrature at every level."""
    median = head_median(levels, block)[:, None]
    dev = block - median
    prior = before[:, :, -1:] - head_median(levels, before[:, :, -1:])[:, None]
    return median + np.sign(dev) * np.sqrt(dev**2 + prior**2)


def pinball(levels, quantiles, target, scale):
    """Mean pinball loss over windows, levels and steps, each window divided by its
    ``scale`` (so series of every scale weigh alike)."""
    err = (target[:, None, :] - quantiles) / scale[:, None, None]
    a = np.asarray(levels, dtype=float)[None, :, None]
    return float(np.mean(np.maximum(a * err, (a - 1) * err)))


def fit_spread(levels, quantiles, target, scale, grid=SPREAD_GRID):
    """The factor of ``grid`` whose widened quantiles score the least pinball loss
    (ties: the one closest to 1)."""
    median = head_median(levels, quantiles)[:, None]
    dev = quantiles - median
    scores = np.array([pinball(levels, median + s * dev, target, scale) for s in grid])
    best = np.flatnonzero(scores <= scores.min() + 1e-12)
    return float(grid[best[np.argmin(np.abs(np.log(grid[best])))]])


def calibrate_spread(net, series, horizon, validation_fraction, device):
    """Fit the spread factor of ``net``'s quantile head on the validation windows of
    ``series`` (the last ``validation_fraction`` of each member's windows, as
    training holds them out), over the first ``horizon`` steps.

    Returns
    -------
    spread : float
        1.0 when the network has no quantile head, or there are fewer than
        :data:`MIN_WINDOWS` validation windows.
    n_windows : int
        Windows the factor was fitted on.
    """
    if "quantiles" not in net.outputs or len(net.config.quantile_levels) < 2 \
            or not validation_fraction:
        return 1.0, 0
    try:
        _, val = make_windows(series, net.config.context_length, horizon,
                              validation_fraction)
    except ValueError:  # no window at all
        return 1.0, 0
    if val is None or len(val) < MIN_WINDOWS:
        return 1.0, 0 if val is None else len(val)
    ctx, mask, target = val.batch(np.arange(len(val)))
    net.eval()
    out = run_batched(lambda c, m: net.predict(c, m), ctx, mask, device)
    quantiles = out.quantiles[:, :, :horizon]
    _, state = masked_standardize(torch.as_tensor(ctx), torch.as_tensor(mask))
    scale = state.scale.numpy().reshape(-1)
    levels = np.asarray(net.config.quantile_levels, dtype=float)
    return fit_spread(levels, quantiles, target, scale), len(val)
