"""Forecast paths over a horizon, computed once and reduced by every ``predict_*``.

Tensors come from the networks; numpy goes back to the forecaster. Horizons longer
than the network's head are forecast recursively: the mean (deterministic paths) or
each sample path (sampled paths) is appended to its context and the next block
follows. Beyond the first block, patch-mode quantiles are those of a model fed its
own mean; the spread of the block before is added to them in quadrature
(``calibration.accumulate_spread``), so the spread never shrinks from one block to
the next. Patch-mode quantiles are first widened by the spread factor ``fit``
calibrated on held-out windows (``calibration.calibrate_spread``).

Quantiles at any level in (0, 1) (see ``docs/probabilistic.md``, "Interval tails"):

- quantile head: the quantile function is piecewise linear in the standard-normal
  score ``Phi^-1(alpha)`` through the trained levels (exact at them) and continues
  linearly beyond the outermost two on each side (:func:`interp_quantiles`);
- sample paths: the ``k``-th smallest of ``S`` samples is the ``k / (S + 1)``
  quantile (Weibull plotting positions, linear between them); beyond ``1 / (S + 1)``
  and ``S / (S + 1)`` the tail continues from the extreme sample, linearly in the
  normal score with the slope from it to the sample median
  (:func:`sample_quantiles`).

Both tails are floored at :data:`TAIL_SLOPE_FLOOR` times the forecast's own spread,
so a wider coverage gives a strictly wider interval whenever there is any spread.
A single trained level or a single sample path cannot give intervals or a variance:
those raise ``ValueError`` instead of returning zero width.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import ndtri

from sktime_llmforecast.nn.calibration import accumulate_spread, widen
from sktime_llmforecast.nn.config import SamplingConfig
from sktime_llmforecast.nn.training import run_batched
from sktime_llmforecast.nn.windows import last_contexts

#: seed offset between recursive blocks of sampled paths
_BLOCK_SEED_STRIDE = 7919
#: the interquartile range of a standard normal (variance from the quantile head)
_NORMAL_IQR = 1.3489795
#: least tail slope (per unit of normal score), as a share of the forecast's spread
#: (its outermost pair of quantiles over their normal-score distance: the sd of a
#: normal with those quantiles); keeps wider coverages strictly wider
TAIL_SLOPE_FLOOR = 1e-3
_ADVICE_LEVELS = "set quantile_levels=(0.1, 0.5, 0.9) or more"
_ADVICE_SAMPLES = "set num_samples=20 (the default) or more"


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

    def rows(self, start, stop, total=None):
        """The paths of series ``start`` to ``stop`` (exclusive), cut at ``total``
        steps (None: all); ``counts`` stay with the whole batch."""
        def cut(a):
            return None if a is None else a[start:stop, ..., :total]

        return Paths(mean=cut(self.mean), quantiles=cut(self.quantiles),
                     samples=cut(self.samples), levels=self.levels)

    def point(self, point_forecast="median"):
        """Point forecasts ``(n_series, total)``: the sample median or mean, the
        head's interpolated median, or the mean (greedy) path."""
        if self.samples is not None:
            reduce = np.mean if point_forecast == "mean" else np.median
            return reduce(self.samples, axis=1)
        if point_forecast == "median" and self.quantiles is not None:
            return interp_quantiles(
                self.levels, self.quantiles, [0.5],
                need="a median point forecast needs",
                advice=f"{_ADVICE_LEVELS}, or use point_forecast='mean'",
            )[:, 0]
        return self.mean

    def quantiles_at(self, alpha):
        """Quantiles ``(n_series, len(alpha), total)`` at levels in (0, 1), never
        crossing; tails beyond the trained levels or the samples are extrapolated
        (module docstring).

        Raises
        ------
        ValueError
            If a level is outside (0, 1), or the head has a single trained level
            (samples: a single path) and ``alpha`` asks for another level.
        """
        if self.samples is not None:
            return sample_quantiles(self.samples, alpha)
        return interp_quantiles(self.levels, self.quantiles, alpha)

    def variance(self):
        """Sample variance, or the normal variance of the head's interquartile range.

        Raises
        ------
        ValueError
            For a single sample path or a single trained level: there is no spread
            to measure (not a variance of 0).
        """
        need = "the variance (predict_var, predict_proba) needs"
        if self.samples is not None:
            _check_samples(self.samples.shape[1], need)
            return self.samples.var(axis=1, ddof=1)
        q = interp_quantiles(self.levels, self.quantiles, [0.25, 0.75], need=need)
        return ((q[:, 1] - q[:, 0]) / _NORMAL_IQR) ** 2


def _extend(history, block):
    return [np.concatenate([h, b]) for h, b in zip(history, block)]


def forecast_paths(net, series, history_length, total, device,
                   sampling: SamplingConfig = SamplingConfig(), greedy=False, spread=1.0,
                   accumulate=True):
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
    spread : float, default=1.0
        Factor on the quantile head's distance from its median (patch mode).
    accumulate : bool, default=True
        Add each recursive block's predecessor spread in quadrature (patch mode).
        False where the caller cumulates the steps itself (differences), which
        already carries the earlier steps' spread.

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
    levels = np.asarray(net.config.quantile_levels, dtype=float)
    history = [np.asarray(s, dtype=float) for s in series]
    n_series = len(series)
    blocks, done, block_no = [], 0, 0
    while done < total:
        ctx, mask = last_contexts(history, history_length)
        draws = sampling
        if block_no:  # every sample path continues on its own: one draw each
            draws = replace(sampling, num_samples=1,
                            seed=sampling.seed + _BLOCK_SEED_STRIDE * block_no)
        block = run_batched(lambda c, m, _s=draws, _n=total - done: net.predict(
            c, m, _s, greedy, n_values=_n), ctx, mask, device)
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
        if block.quantiles is not None:
            block.quantiles = widen(levels, block.quantiles, spread)
            if accumulate and block_no and len(levels) > 1:  # one level: nothing to carry
                block.quantiles = accumulate_spread(levels, block.quantiles,
                                                    blocks[-1].quantiles)
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
        paths.levels = levels
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


def _check_alpha(alpha):
    alpha = np.asarray(alpha, dtype=float)
    if alpha.ndim != 1 or not np.all((alpha > 0) & (alpha < 1)):
        raise ValueError(
            f"quantile levels must lie in the open interval (0, 1), got {alpha.tolist()}."
        )
    return alpha


def _sorted_like(out, alpha):
    """``out`` (n, len(alpha), T) sorted along the level axis in ``alpha``'s order,
    so quantiles never cross (a guard: the rules below are monotone already)."""
    order = np.argsort(alpha, kind="stable")
    result = np.empty_like(out)
    result[:, order, :] = np.sort(out[:, order, :], axis=1)
    return result


def _tail_slopes(q_lo, q_in_lo, dz_lo, q_in_hi, q_hi, dz_hi, q_min, q_max, dz_span):
    """Normal-score slopes of the lower and upper tails, floored at
    :data:`TAIL_SLOPE_FLOOR` times the spread ``(q_max - q_min) / dz_span``."""
    floor = TAIL_SLOPE_FLOOR * (q_max - q_min) / dz_span
    lower = np.maximum((q_in_lo - q_lo) / dz_lo, floor)
    upper = np.maximum((q_hi - q_in_hi) / dz_hi, floor)
    return lower, upper


def interp_quantiles(levels, qvals, alpha, need="intervals need", advice=_ADVICE_LEVELS):
    """Quantiles at ``alpha`` from a quantile head trained at ``levels``.

    The quantile function is piecewise linear in the standard-normal score
    ``z = Phi^-1(alpha)`` through the (sorted) trained quantiles, so a trained level
    gives its trained quantile exactly and a head whose quantiles are those of a
    normal distribution gives that normal's quantiles at every level. Beyond the
    outermost trained level on each side it continues linearly in ``z`` with the
    slope of the outermost two levels on that side,
    ``q(a) = q(a1) + (z(a) - z(a1)) * (q(a2) - q(a1)) / (z(a2) - z(a1))``, the slope
    floored at :data:`TAIL_SLOPE_FLOOR` times the head's spread (so a higher
    coverage is strictly wider whenever the head has any spread). Nothing is
    clamped. The result is sorted along the level axis: quantiles never cross.

    Parameters
    ----------
    levels : np.ndarray, shape (Q,), increasing, in (0, 1)
    qvals : np.ndarray, shape (n, Q, T)
    alpha : sequence of float, in (0, 1)
    need, advice : str
        The error message's "what needs two levels" and "how to fix it" parts.

    Returns
    -------
    np.ndarray, shape (n, len(alpha), T)

    Raises
    ------
    ValueError
        If a level of ``alpha`` is outside (0, 1), or ``levels`` is a single level
        and ``alpha`` asks for any other (one quantile has no spread to extend).
    """
    alpha = _check_alpha(alpha)
    levels = np.asarray(levels, dtype=float)
    qvals = np.sort(np.asarray(qvals, dtype=float), axis=1)
    n_levels = len(levels)
    if n_levels < 2:
        if not np.allclose(alpha, levels[0], rtol=0.0, atol=1e-12):
            raise ValueError(
                f"the quantile head was trained at the single level {levels[0]:g}; "
                f"{need} at least two levels: {advice}."
            )
        return np.repeat(qvals[:, :1, :], len(alpha), axis=1)
    z, za = ndtri(levels), ndtri(alpha)
    # inside: segment i of [z_i, z_{i+1}], weight 0 or 1 exactly at trained levels
    seg = np.clip(np.searchsorted(z, za, side="right") - 1, 0, n_levels - 2)
    w = np.clip((za - z[seg]) / (z[seg + 1] - z[seg]), 0.0, 1.0)[None, :, None]
    out = qvals[:, seg, :] * (1 - w) + qvals[:, seg + 1, :] * w
    lower, upper = _tail_slopes(
        qvals[:, 0], qvals[:, 1], z[1] - z[0], qvals[:, -2], qvals[:, -1], z[-1] - z[-2],
        qvals[:, 0], qvals[:, -1], z[-1] - z[0],
    )
    below, above = za < z[0], za > z[-1]
    if below.any():
        out[:, below, :] = qvals[:, :1] + (za[below] - z[0])[None, :, None] * lower[:, None]
    if above.any():
        out[:, above, :] = qvals[:, -1:] + (za[above] - z[-1])[None, :, None] * upper[:, None]
    return _sorted_like(out, alpha)


def _check_samples(n_samples, need):
    if n_samples < 2:
        raise ValueError(
            f"there is a single sample path per series (num_samples=1); {need} at "
            f"least two: {_ADVICE_SAMPLES}."
        )


def sample_quantiles(samples, alpha):
    """Quantiles at ``alpha`` of ``S`` sample paths per series.

    The ``k``-th smallest sample is the ``k / (S + 1)`` quantile (Weibull plotting
    positions: the expected level of the ``k``-th of ``S`` draws), linear in the
    level between them (``np.quantile(..., method="weibull")``); the median is the
    sample median. Levels below ``1 / (S + 1)`` (above ``S / (S + 1)``), which
    ``S`` samples cannot resolve, continue from the smallest (largest) sample
    linearly in the normal score, with the slope from it to the sample median,
    floored at :data:`TAIL_SLOPE_FLOOR` times the samples' spread. Measured on
    normal samples in ``docs/probabilistic.md`` ("Interval tails").

    Parameters
    ----------
    samples : np.ndarray, shape (n, S, T)
    alpha : sequence of float, in (0, 1)

    Returns
    -------
    np.ndarray, shape (n, len(alpha), T), sorted along the level axis

    Raises
    ------
    ValueError
        If a level is outside (0, 1), or ``S == 1`` and ``alpha`` asks for a level
        other than 0.5.
    """
    alpha = _check_alpha(alpha)
    samples = np.asarray(samples, dtype=float)
    n_samples = samples.shape[1]
    if n_samples < 2:
        if not np.allclose(alpha, 0.5, rtol=0.0, atol=1e-12):
            _check_samples(n_samples, "intervals need")
        return np.repeat(samples[:, :1, :], len(alpha), axis=1)
    edge = 1.0 / (n_samples + 1)
    inner = np.clip(alpha, edge, 1.0 - edge)
    out = np.quantile(samples, inner, axis=1, method="weibull").transpose(1, 0, 2)
    below, above = alpha < edge, alpha > 1.0 - edge
    if below.any() or above.any():
        x_min, x_max = samples.min(axis=1), samples.max(axis=1)
        median = np.median(samples, axis=1)
        dz = -ndtri(edge)  # normal-score distance from the extreme sample to the median
        lower, upper = _tail_slopes(x_min, median, dz, median, x_max, dz,
                                    x_min, x_max, 2 * dz)
        za = ndtri(alpha)
        if below.any():
            out[:, below, :] = (x_min[:, None]
                                + (za[below] + dz)[None, :, None] * lower[:, None])
        if above.any():
            out[:, above, :] = (x_max[:, None]
                                + (za[above] - dz)[None, :, None] * upper[:, None])
    return _sorted_like(out, alpha)
