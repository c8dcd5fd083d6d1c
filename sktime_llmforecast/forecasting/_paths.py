"""Forecast paths over a horizon: direct, then recursive; points, quantiles, samples.

Tensors come from the networks; numpy goes back to the forecaster. Horizons longer
than the network's head are forecast recursively: the mean (patch mode) or each
sample path (sampling modes) is appended to its context and the next block follows.
Beyond the first block, patch-mode quantiles are those of a model fed its own mean,
so they understate the uncertainty of the later steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sktime_llmforecast.forecasting._training import run_batched
from sktime_llmforecast.forecasting._windows import last_contexts


@dataclass
class Paths:
    """Forecasts for every series over ``total`` steps.

    Attributes
    ----------
    mean : np.ndarray, shape (n_series, total), or None
        Mean-head forecast (patch mode) or greedy decoding (token mode).
    quantiles : np.ndarray, shape (n_series, Q, total), or None
        Quantile-head forecast at ``levels`` (patch mode).
    samples : np.ndarray, shape (n_series, S, total), or None
        Sampled paths (token and zero-shot modes).
    levels : np.ndarray or None
    counts : dict
        Zero-shot ``repaired``/``dropped`` sample counts.
    """

    mean: np.ndarray = None
    quantiles: np.ndarray = None
    samples: np.ndarray = None
    levels: np.ndarray = None
    counts: dict = None


def _extend(history, block):
    return [np.concatenate([h, b]) for h, b in zip(history, block)]


def point_paths(net, series, context_length, total, device):
    """Mean (patch) or greedy (token) forecasts; quantiles too for patch networks."""
    history = [np.asarray(s, dtype=float) for s in series]
    means, quants = [], []
    has_q = hasattr(net, "forecast_quantiles") and net.n_outputs > 2
    done = 0
    while done < total:
        ctx, mask = last_contexts(history, context_length)
        block = run_batched(net.forecast, ctx, mask, device)
        means.append(block)
        if has_q:
            quants.append(run_batched(net.forecast_quantiles, ctx, mask, device))
        history = _extend(history, block)
        done += block.shape[1]
    mean = np.concatenate(means, axis=1)[:, :total]
    out = Paths(mean=mean)
    if has_q:
        out.quantiles = np.concatenate(quants, axis=2)[:, :, :total]
        out.levels = np.asarray(net.config.quantile_levels, dtype=float)
    return out


def sample_paths(net, series, context_length, total, device, num_samples, **sampling):
    """``num_samples`` sampled paths per series over ``total`` steps."""
    seed = int(sampling.pop("seed", 0))
    counts = {"repaired": 0, "dropped": 0}
    n_series = len(series)
    history = [np.asarray(s, dtype=float) for s in series]
    blocks, done, block_no = [], 0, 0
    per_row = num_samples
    while done < total:
        ctx, mask = last_contexts(history, context_length)

        def draw(c, m, _seed=seed + 7919 * block_no, _n=per_row):
            out = net.sample(c, m, _n, seed=_seed, **sampling)
            if isinstance(out, tuple):  # zero-shot also reports its repairs
                out, c_counts = out
                for key in counts:
                    counts[key] += c_counts[key]
            return out

        block = run_batched(draw, ctx, mask, device)  # (rows, per_row, H)
        block = block.reshape(n_series, num_samples, -1)
        blocks.append(block)
        # from now on every sample path continues on its own: one draw each
        flat = block.reshape(n_series * num_samples, -1)
        if block_no == 0:
            history = [h for h in history for _ in range(num_samples)]
        history = _extend(history, flat)
        per_row = 1
        done += block.shape[2]
        block_no += 1
    samples = np.concatenate(blocks, axis=2)[:, :, :total]
    return Paths(samples=samples, counts=counts)


def interp_quantiles(levels, qvals, alpha):
    """Quantiles at ``alpha`` by linear interpolation between trained ``levels``.

    Levels outside the trained range take the nearest trained quantile. The result
    is sorted along the level axis, so quantiles never cross.

    Parameters
    ----------
    levels : np.ndarray, shape (Q,), increasing
    qvals : np.ndarray, shape (n, Q, T)
    alpha : sequence of float

    Returns
    -------
    np.ndarray, shape (n, len(alpha), T)
    """
    alpha = np.asarray(alpha, dtype=float)
    pos = np.interp(alpha, levels, np.arange(len(levels)))
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(levels) - 1)
    w = (pos - lo)[None, :, None]
    out = qvals[:, lo, :] * (1 - w) + qvals[:, hi, :] * w
    order = np.argsort(alpha)
    out_sorted = np.sort(out[:, order, :], axis=1)
    result = np.empty_like(out)
    result[:, order, :] = out_sorted
    return result
