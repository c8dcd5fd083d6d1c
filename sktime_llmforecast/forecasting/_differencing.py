"""First differences around the network (``LLMForecaster(difference=...)``).

With differencing, the network reads and forecasts the steps of each (seasonally
adjusted) series rather than its values, and the forecast is cumulated from the
series' last observed value: a trend becomes a level the network forecasts
directly (as ARIMA's ``d = 1`` with drift does), instead of a slope it must
extrapolate. Forecast paths are integrated here:

- the last observed value of each series is the origin (a difference next to a
  missing value is missing and masked). Where a series ends in missing values, the
  network reads it up to its last observed value and also forecasts the missing
  steps: the forecast is cumulated through them, so a step ``fh`` asks carries the
  change over the gap, and is labelled with its own time;
- mean paths and sample paths are cumulative sums (exact for each path);
- quantile-head forecasts are cumulated as a median path, with each level's
  distance from the median added up in quadrature over the steps (the steps'
  errors taken as independent). The spread is calibrated after integration
  (``calibrate_spread(..., cumulative=True)`` on the validation windows), so the
  quadrature rule sets the shape over the steps and the conformal factors the width;
  recursive blocks beyond the head are not widened again (``forecast_paths(...,
  accumulate=False)``): the cumulated sum already carries the earlier steps.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sktime_llmforecast.forecasting._memory import SeriesMemory, trailing_missing
from sktime_llmforecast.forecasting._seasonal import seasonally_adjusted
from sktime_llmforecast.nn.calibration import integrated_quantiles


def differenced(series):
    """First differences of each 1-D series, one value shorter; a difference next to
    a missing value is missing (the network masks it)."""
    return [np.diff(np.asarray(s, dtype=float)) for s in series]


def last_values(series):
    """The last observed (finite) value of each series ``(n_series,)``, the origin of
    the integrated forecast.

    Raises
    ------
    ValueError
        If a series has no observed value.
    """
    out = []
    for s in series:
        s = np.asarray(s, dtype=float).reshape(-1)
        seen = np.flatnonzero(np.isfinite(s))
        if not len(seen):
            raise ValueError(
                "difference=True needs an observed value to cumulate the forecast "
                "from, but a series is all missing values (NaN); drop it or impute it."
            )
        out.append(s[seen[-1]])
    return np.asarray(out)


def observed_differences(series):
    """``(differences, gaps)``: the first differences of each series up to its last
    observed value, and ``trailing_missing(series)``, the steps the network then
    forecasts before the series' own next step."""
    gaps = trailing_missing(series)
    cut = [np.asarray(s, dtype=float)[: len(s) - g] for s, g in zip(series, gaps)]
    return differenced(cut), gaps


def integrated(paths, series, gaps=None, total=None):
    """``paths`` (a ``Paths`` forecast from ``observed_differences(series)``)
    cumulated from the last observed value of each of ``series``.

    With ``gaps`` (per series, the missing values at its end), each row's first
    ``gaps[i]`` steps are the missing ones: they are cumulated, then dropped, and
    ``total`` steps from each series' own end are returned.
    """
    last = last_values(series)

    def cumulate(a):
        if a is None:
            return None
        start = last[:, None] if a.ndim == 2 else last[:, None, None]
        return start + np.cumsum(a, axis=-1)

    quantiles = paths.quantiles
    if quantiles is not None:
        quantiles = integrated_quantiles(paths.levels, quantiles, last)
    out = replace(paths, mean=cumulate(paths.mean), quantiles=quantiles,
                  samples=cumulate(paths.samples))
    if gaps is None or not np.any(gaps):
        return out

    def after_gap(a):
        if a is None:
            return None
        cols = np.asarray(gaps)[:, None] + np.arange(total)
        shape = (len(cols),) + (1,) * (a.ndim - 2) + (total,)
        return np.take_along_axis(a, cols.reshape(shape), axis=-1)

    return replace(out, mean=after_gap(out.mean), quantiles=after_gap(out.quantiles),
                   samples=after_gap(out.samples))


def kept_length(plan):
    """Values of history a fitted forecaster keeps per series: what a forecast
    reads, and one more with ``difference`` (the differences are one shorter)."""
    return plan.history_length + int(plan.difference)


def pretraining_series(y, plan):
    """The series a network trained on ``y`` (checked) reads: seasonally adjusted as
    ``plan`` says, and differenced with ``plan.difference``."""
    series = seasonally_adjusted(SeriesMemory.from_y(y, len(y)), plan)[1]
    return differenced(series) if plan.difference else series
