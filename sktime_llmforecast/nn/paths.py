"""Forecast paths over a horizon, computed once and reduced by every ``predict_*``.

Tensors come from the networks; numpy goes back to the forecaster. Horizons longer
than the network's head are forecast recursively: the mean (deterministic paths) or
each sample path (sampled paths) is appended to its context and the next block
follows. Beyond the first block, patch-mode quantiles are those of a model fed its
own mean, so they understate the uncertainty of the later steps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sktime_llmforecast.nn.config import SamplingConfig
from sktime_llmforecast.nn.training import run_batched
from sktime_llmforecast.nn.windows import last_contexts

#: seed offset between recursive blocks of sampled paths
_BLOCK_SEED_STRIDE = 7919
#: the interquartile range of a standard normal (variance from the quantile head)
_NORMAL_IQR = 1.3489795


@dataclass
class Paths:
    """Forecasts for every series over ``total`` steps.

    Attributes
    ----------
    mean : np.ndarray, shape (n_series, total), or None
        Mean-head forecast (patch) or greedy decoding (token, zero-shot).
    quantiles : np.ndarray, shape (n_series, Q, total), or None
        Quantile-head forecast at ``levels`` (patch).
    samples : np.ndarray, shape (n_series, S, total), or None
        Sampled paths (token and zero-shot).
    levels : np.ndarray or None
    counts : dict or None
        Zero-shot ``repaired``/``dropped`` sample counts (None: nothing is
        repaired by this kind of network).
    """

    mean: np.ndarray = None
    quantiles: np.ndarray = None
    samples: np.ndarray = None
    levels: np.ndarray = None
    counts: dict = None

    def point(self, point_forecast="median"):
        """Point forecasts ``(n_series, total)``: the sample median or mean, the
        head's interpolated median, or the mean (greedy) path."""
        if self.samples is not None:
            reduce = np.mean if point_forecast == "mean" else np.median
            return reduce(self.samples, axis=1)
        if point_forecast == "median" and self.quantiles is not None:
            return interp_quantiles(self.levels, self.quantiles, [0.5])[:, 0]
        return self.mean

    def quantiles_at(self, alpha):
        """Quantiles ``(n_series, len(alpha), total)``, never crossing."""
        if self.samples is not None:
            # sample quantiles are monotone in the level by construction
            return np.quantile(self.samples, alpha, axis=1).transpose(1, 0, 2)
        return interp_quantiles(self.levels, self.quantiles, alpha)

    def variance(self):
        """Sample variance, or the normal variance of the head's interquartile range."""
        if self.samples is not None:
            ddof = 1 if self.samples.shape[1] > 1 else 0  # one sample: variance 0
            return self.samples.var(axis=1, ddof=ddof)
        q = interp_quantiles(self.levels, self.quantiles, [0.25, 0.75])
        return ((q[:, 1] - q[:, 0]) / _NORMAL_IQR) ** 2


def _extend(history, block):
    return [np.concatenate([h, b]) for h, b in zip(history, block)]


def forecast_paths(net, series, history_length, total, device,
                   sampling: SamplingConfig = SamplingConfig(), greedy=False):
    """Forecast ``total`` steps after every series, recursively in head-sized blocks.

    Parameters
    ----------
    net : BackboneNetwork
    series : list of np.ndarray
        The stored histories (at least ``history_length`` values are read).
    history_length : int
        Values of history each block reads (the context, plus zero-shot
        demonstrations).
    total : int
    device : str
    sampling : SamplingConfig
    greedy : bool
        Deterministic paths (mean head or greedy decoding) instead of samples.

    Returns
    -------
    Paths

    Raises
    ------
    FloatingPointError
        If the network produced a non-finite forecast.
    """
    net.to(device)
    net.eval()
    history = [np.asarray(s, dtype=float) for s in series]
    n_series = len(series)
    blocks, done, block_no = [], 0, 0
    while done < total:
        ctx, mask = last_contexts(history, history_length)
        draws = sampling
        if block_no:  # every sample path continues on its own: one draw each
            draws = replace(sampling, num_samples=1,
                            seed=sampling.seed + _BLOCK_SEED_STRIDE * block_no)
        block = run_batched(lambda c, m, _s=draws: net.predict(c, m, _s, greedy),
                            ctx, mask, device)
        if block.samples is not None:
            block.samples = block.samples.reshape(n_series, sampling.num_samples, -1)
            flat = block.samples.reshape(n_series * sampling.num_samples, -1)
            if block_no == 0:
                history = [h for h in history for _ in range(sampling.num_samples)]
            history = _extend(history, flat)
            done += block.samples.shape[2]
        else:
            history = _extend(history, block.mean)
            done += block.mean.shape[1]
        blocks.append(block)
        block_no += 1
    paths = _join(blocks, total)
    if any(a is not None and not np.all(np.isfinite(a))
           for a in (paths.mean, paths.quantiles, paths.samples)):
        raise FloatingPointError(
            "The network produced non-finite forecasts; refit with a lower "
            "learning_rate or check the input scale."
        )
    if paths.quantiles is not None:
        paths.levels = np.asarray(net.config.quantile_levels, dtype=float)
    return paths


def _join(blocks, total):
    """One :class:`Paths` from recursive blocks (cut at ``total`` steps)."""
    def cat(name, axis):
        arrays = [getattr(b, name) for b in blocks]
        return None if arrays[0] is None else np.concatenate(arrays, axis=axis)[..., :total]

    counts = None
    if blocks[0].counts is not None:
        counts = {k: sum(b.counts[k] for b in blocks) for k in ("repaired", "dropped")}
    return Paths(mean=cat("mean", 1), quantiles=cat("quantiles", 2),
                 samples=cat("samples", 2), counts=counts)


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
