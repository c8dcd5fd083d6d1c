"""Forecast paths of fitted ``LLMForecaster``s: one forecaster's (every ``predict_*``
reduces them), or the point forecasts of several forecasters that share one network,
decoded in one batch (the rolling-origin check's zero-shot folds).

A forecast runs in three steps: the series the network reads (seasonally adjusted,
less what ``X`` explains, differenced), the network's paths, and the undoing of
each step (cumulated, shifted by ``X``'s effects, seasonality restored). Only the
middle step costs: for a token network it is a sampled decode of every path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sktime.utils.validation.forecasting import check_fh

from sktime_llmforecast.forecasting import _differencing as differencing
from sktime_llmforecast.forecasting._covariates import shifted
from sktime_llmforecast.forecasting._input_checks import check_future_steps
from sktime_llmforecast.forecasting.plan import resolve_device
from sktime_llmforecast.nn import forecast_paths


@dataclass(frozen=True)
class NetworkRead:
    """What a fitted forecaster's network reads for one ``fh``.

    Attributes
    ----------
    steps, times : list
        Per member: the steps ``fh`` asks and their times.
    total : int
        The most steps any member forecasts.
    series : list of np.ndarray
        The adjusted series (before differencing).
    read : list of np.ndarray
        What the network reads (``series``, differenced where the plan says so,
        up to each series' last observed value).
    gaps : np.ndarray
        Per series, the missing values at its end that the network forecasts
        before the series' next step (differences only; else zeros).
    """

    steps: list
    times: list
    total: int
    series: list
    read: list
    gaps: np.ndarray

    @property
    def width(self):
        """Steps the network forecasts for this read: ``total`` and the longest gap."""
        return self.total + int(self.gaps.max(initial=0))


def network_read(forecaster, fh, X=None):
    """:class:`NetworkRead` of a fitted ``forecaster`` for ``fh`` (and ``X``)."""
    memory = forecaster._memory
    steps, times = memory.steps_and_times(fh, forecaster.cutoff)
    check_future_steps(steps)
    series = forecaster._seasonality.adjusted_series(memory)
    if getattr(forecaster, "_covariates", None) is not None:
        if X is None:
            raise ValueError(
                "The forecaster was fitted with X: predict needs X at the forecast "
                "times (pass X covering fh)."
            )
        series = forecaster._covariates.residuals(series, forecaster._x_memory)
    if forecaster.plan_.difference:
        read, gaps = differencing.observed_differences(series)
    else:
        read, gaps = series, np.zeros(len(series), dtype=int)
    return NetworkRead(steps, times, max(int(s.max()) for s in steps), series, read, gaps)


def network_paths(forecaster, reads, greedy=False):
    """The paths of ``forecaster``'s network from every read's series, in one batch
    (``reads``: a list of :class:`NetworkRead`, their totals the longest one's)."""
    plan = forecaster.plan_
    # the machine, not the plan: a forecaster fitted on a GPU predicts on the CPU
    # of the machine it was loaded on when device="auto"
    device = resolve_device(forecaster.device)
    return forecast_paths(forecaster.network_, [s for r in reads for s in r.read],
                          plan.history_length, max(r.width for r in reads), device,
                          plan.sampling, greedy, spread=forecaster.interval_spread_,
                          accumulate=not plan.difference)


def finished_paths(forecaster, paths, part, X=None):
    """``(paths, cols, times)``: the network's ``paths`` of one :class:`NetworkRead`
    (``part``) in the units of ``y``, with the columns of each row's ``fh`` steps
    and each member's forecast times."""
    memory = forecaster._memory
    if forecaster.plan_.difference:  # cumulated from each series' last value
        paths = differencing.integrated(paths, part.series, part.gaps, part.total)
    if getattr(forecaster, "_covariates", None) is not None:
        paths = shifted(paths, forecaster._covariates.future_effects(
            X, memory.keys, part.times, part.total, part.steps))
    paths = forecaster._seasonality.restored(paths, memory.ends, part.total)
    cols = np.repeat(np.stack(part.steps) - 1, len(memory.columns), axis=0)
    return paths, cols, part.times


def fitted_paths(forecaster, fh, X=None, greedy=False):
    """``(paths, cols, times)`` of a fitted ``forecaster`` (see ``finished_paths``)."""
    part = network_read(forecaster, fh, X)
    paths = network_paths(forecaster, [part], greedy)
    if paths.counts is not None:
        forecaster.sample_counts_ = paths.counts
    return finished_paths(forecaster, paths, part, X)


def shared_network_predictions(forecasters, fh, Xs):
    """``[f.predict(fh, X) for f, X in zip(forecasters, Xs)]``, decoded together (in
    the inner layout, a ``pd.DataFrame`` per forecaster).

    The forecasters must share one network: fitted zero-shot
    (``finetune_epochs=0``) from one adapter with one ``random_state``, so that only
    their data differ. Their series are decoded in one batch per representation
    (values, differences); sampled paths then differ from one-by-one predictions
    only by the draws (one stream of random numbers for the batch), and
    deterministic forecasts (patch networks, greedy decoding) not at all.
    """
    fh, out = check_fh(fh), [None] * len(forecasters)
    for difference in (False, True):
        group = [i for i, f in enumerate(forecasters) if f.plan_.difference == difference]
        if not group:
            continue
        first = forecasters[group[0]]
        if any(forecasters[i].network_.config != first.network_.config
               or not np.array_equal(forecasters[i].interval_spread_,
                                     first.interval_spread_) for i in group):
            raise ValueError("shared_network_predictions needs forecasters of one "
                             "network (and one interval calibration).")
        point = first.plan_.point_forecast
        parts = [network_read(forecasters[i], fh, Xs[i]) for i in group]
        paths = network_paths(first, parts, greedy=point == "greedy")
        start = 0
        for i, part in zip(group, parts):
            f, stop = forecasters[i], start + len(part.read)
            rows = paths.rows(start, stop, part.width)
            rows, cols, times = finished_paths(f, rows, part, Xs[i])
            out[i] = f._to_frame(pick(rows.point(point), cols), times)
            start = stop
    return out


def pick(values, cols):
    """``values[i, ..., cols[i]]`` for every row ``i`` (each row's own steps)."""
    shape = (cols.shape[0],) + (1,) * (values.ndim - 2) + (cols.shape[1],)
    return np.take_along_axis(values, cols.reshape(shape), axis=-1)
