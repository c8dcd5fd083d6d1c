"""Interval calibration of the quantile head on held-out windows.

A network fine-tuned (or used zero-shot) on one series tends to be too sure of
itself: its quantiles are those of the windows it fits best. ``fit`` therefore
measures, on the held-out validation windows of the user's own series, how much
the head's spread around its median must be stretched or shrunk:
``q'(a) = m + s(a) * (q(a) - m)``, one factor per level, the same for every step.

The default, :func:`conformal_spread`, is conformalised quantile regression in a
multiplicative form: for the central interval of levels ``(a, 1 - a)``, ``s(a)`` is
the empirical ``(1 - 2a)(1 + 1/n)`` quantile of the stretch each held-out value
needs to fall inside it (``n`` validation windows). The alternative,
:func:`fit_spread`, is one factor for every level, chosen on a log grid to minimise
the mean pinball loss. On dev series outside the benchmark (8 quarterly series, 3
origins, h = 8) the conformal factors gave both a lower CRPS and coverage closer to
nominal, fine-tuned and zero-shot (docs/probabilistic.md, "Calibration and
recursive spread").

Recursive blocks (steps beyond the head) are fed their own median, so their
quantiles miss the uncertainty of the steps before them; :func:`accumulate_spread`
adds the last step's spread of the block before, in quadrature (independent
errors), so the spread never shrinks at a block boundary.
"""

from __future__ import annotations

import numpy as np
import torch

from sktime_llmforecast.nn.training import run_batched
from sktime_llmforecast.nn.windows import spaced_validation_windows
from sktime_llmforecast.tokenizers import masked_standardize

#: spread factors tried (log-spaced, 1 included)
SPREAD_GRID = np.exp(np.linspace(np.log(0.25), np.log(4.0), 49))
#: fewest validation windows a factor is fitted on (else the head is kept as is)
MIN_WINDOWS = 4
#: most validation windows the factors are fitted on: a large panel's are thinned
#: to this many, evenly spaced (deterministic), so calibrating costs at most this
#: many forward passes (conformal quantiles of 2,048 values are within about 0.01
#: of their level)
MAX_WINDOWS = 2048


def head_median(levels, quantiles):
    """The head's median ``(n, T)`` (interpolated in normal score when 0.5 is not a
    trained level)."""
    from sktime_llmforecast.nn.paths import interp_quantiles

    return interp_quantiles(levels, quantiles, [0.5])[:, 0]


def integrated_quantiles(levels, quantiles, start=0.0):
    """Quantiles ``(n, Q, T)`` of forecast steps cumulated from ``start``: the median
    cumulated, each level's distance from it added in quadrature over the steps."""
    median = head_median(levels, quantiles)[:, None]
    dev = quantiles - median
    start = np.asarray(start, dtype=float).reshape(-1, 1, 1)
    return start + np.cumsum(median, axis=-1) + np.sign(dev) * np.sqrt(
        np.cumsum(dev**2, axis=-1))


def integrated_targets(target):
    """Validation targets ``(n, T)`` of differenced windows as the cumulated change
    from each window's end. A missing difference hides the change across a missing
    value, so every cumulated step from it on is missing (counting it as no change
    would bias the later targets by that change)."""
    return np.cumsum(target, axis=-1)


def widen(levels, quantiles, spread):
    """Quantiles ``(n, Q, T)`` with their distance from the median times ``spread``:
    one factor, or one per level ``(Q,)`` (then sorted along the levels, so that
    they never cross)."""
    spread = np.asarray(spread, dtype=float)
    if np.all(spread == 1.0):
        return quantiles
    median = head_median(levels, quantiles)[:, None]
    if spread.ndim == 0:
        return median + float(spread) * (quantiles - median)
    return np.sort(median + spread[None, :, None] * (quantiles - median), axis=1)


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
    loss = np.maximum(a * err, (a - 1) * err)
    return float(np.nanmean(loss) if np.isnan(loss).any() else np.mean(loss))


def fit_spread(levels, quantiles, target, scale, grid=SPREAD_GRID):
    """The factor of ``grid`` whose widened quantiles score the least pinball loss
    (ties: the one closest to 1)."""
    median = head_median(levels, quantiles)[:, None]
    dev = quantiles - median
    scores = np.array([pinball(levels, median + s * dev, target, scale) for s in grid])
    best = np.flatnonzero(scores <= scores.min() + 1e-12)
    return float(grid[best[np.argmin(np.abs(np.log(grid[best])))]])


def conformal_spread(levels, quantiles, target, n_windows, grid=SPREAD_GRID):
    """One factor per level ``(Q,)``, conformalised: for the central interval of
    levels ``(a, 1 - a)`` the factor is the ``(1 - 2a)(1 + 1/n_windows)`` empirical
    quantile of the stretch each held-out value needs to fall inside it (0 inside
    the median's own width, ``|y - m| / |q - m|`` on the side ``y`` lies; missing
    targets left out), clipped to the range of ``grid``. A level without its mirror ``1 - a`` is conformalised
    one-sided (the share of values beyond it). The median keeps factor 1."""
    levels = np.asarray(levels, dtype=float)
    median = head_median(levels, quantiles)
    out = np.ones(len(levels))
    tiny = 1e-12
    for i, a in enumerate(levels):
        if np.isclose(a, 0.5):
            continue
        correction = 1.0 + 1.0 / max(n_windows, 1)
        j = len(levels) - 1 - i
        if np.isclose(levels[i] + levels[j], 1.0):  # central interval (a, 1 - a)
            lo, hi = (i, j) if a < 0.5 else (j, i)
            below = target < median
            dev = np.where(below, median - quantiles[:, lo], quantiles[:, hi] - median)
            need = np.abs(target - median) / np.maximum(dev, tiny)
            level = (1.0 - 2.0 * min(a, 1.0 - a)) * correction
        else:  # an unpaired level: one-sided, P(y beyond m + s (q - m)) = min(a, 1 - a)
            dev = np.abs(quantiles[:, i] - median)
            side = np.sign(a - 0.5)
            need = side * (target - median) / np.maximum(dev, tiny)
            level = max(a, 1.0 - a) * correction
        need = need[np.isfinite(target)]  # missing targets (NaN) do not count
        if not len(need):  # nothing observed to conformalise on: leave the level
            continue
        out[i] = np.quantile(need, min(1.0, level), method="higher")
    return np.clip(out, grid.min(), grid.max())


def validation_quantiles(net, series, horizon, validation_fraction, device,
                         max_windows=MAX_WINDOWS):
    """The head's quantiles ``(n, Q, T)`` on the validation windows of ``series``
    (at most ``max_windows`` of them, evenly spaced), with their targets ``(n, T)``
    and context scales ``(n,)``; None when there are no validation windows."""
    val = spaced_validation_windows(series, net.config.context_length, horizon,
                                    validation_fraction, max_windows)
    if val is None:
        return None
    ctx, mask, target = val.batch(np.arange(len(val)))
    net.eval()
    out = run_batched(lambda c, m: net.predict(c, m), ctx, mask, device)
    _, state = masked_standardize(torch.as_tensor(ctx), torch.as_tensor(mask))
    return out.quantiles[:, :, :horizon], target, state.scale.numpy().reshape(-1)


def calibrate_spread(net, series, horizon, validation_fraction, device,
                     method="conformal", cumulative=False):
    """Fit the spread factors of ``net``'s quantile head on the validation windows
    of ``series`` (the last ``validation_fraction`` of each member's windows, as
    training holds them out; at most :data:`MAX_WINDOWS` of them, evenly spaced),
    over the first ``horizon`` steps; ``method``:
    ``"conformal"`` (:func:`conformal_spread`) or ``"pinball"`` (:func:`fit_spread`).
    ``cumulative``: ``series`` are differences, and the factors are fitted to the
    cumulated forecasts (:func:`integrated_quantiles`) and targets, as they are
    forecast.

    Returns
    -------
    spread : np.ndarray of shape (Q,), or float
        One factor per level (conformal) or one for all (pinball); 1.0 when the
        network has no quantile head, or there are fewer than :data:`MIN_WINDOWS`
        validation windows.
    n_windows : int
        Windows the factor was fitted on.
    """
    if "quantiles" not in net.outputs or len(net.config.quantile_levels) < 2 \
            or not validation_fraction:
        return 1.0, 0
    found = validation_quantiles(net, series, horizon, validation_fraction, device)
    if found is None:
        return 1.0, 0
    quantiles, target, scale = found
    levels = np.asarray(net.config.quantile_levels, dtype=float)
    if cumulative:
        quantiles, target = integrated_quantiles(levels, quantiles), integrated_targets(target)
    if len(target) < MIN_WINDOWS:
        return 1.0, len(target)
    if method not in ("conformal", "pinball"):
        raise ValueError(f"method must be 'conformal' or 'pinball', got {method!r}")
    if method == "conformal":
        return conformal_spread(levels, quantiles, target, len(target)), len(target)
    return fit_spread(levels, quantiles, target, scale), len(target)
