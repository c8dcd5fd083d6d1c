"""Classical seasonal adjustment around the network (the M4 benchmarks' recipe).

Before the network reads a series, each (member, column) is divided by
(multiplicative) or has subtracted (additive) its classical-decomposition seasonal
indices (statsmodels' ``seasonal_decompose``, as in sktime's
``ConditionalDeseasonalizer``) when its autocorrelation at the seasonal lag passes
the M4 competition's 90 % test (sktime's ``autocorrelation_seasonality_test``) and
the indices explain at least ``MIN_STRENGTH`` of the detrended variation, over the
whole series and over its last ``RECENT_CYCLES`` cycles (a season that has died out
is not carried into the forecast). Every
forecast path is then multiplied by (or added) the indices of its forecast times.
The indices are kept by phase on the member's own time grid, so ``update`` with new
values and forecasts from any member's end line up without refitting.

The season ``sp`` is the user's, or read from the index's frequency
(:func:`period_of`): 12 for monthly data, 4 quarterly, 52 weekly, 7 daily, 24
hourly, a day's steps for sub-hourly data, 1 (nothing to adjust) for yearly data
and integer indexes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from pandas.tseries.offsets import Tick

from sktime_llmforecast.forecasting._time_grid import steps_between
from sktime_llmforecast.tokenizers import interpolate_gaps

#: deseasonalize choices
MODELS = ("auto", "multiplicative", "additive")
#: the least seasonal strength, 1 - Var(remainder) / Var(seasonal + remainder) of the
#: decomposition (in logs for the multiplicative one; Wang, Smith & Hyndman 2006),
#: at which a series is adjusted. The ACF test alone also passes strongly trending
#: series without a season (e.g. real GDP): their indices are noise around 1, and
#: dividing by them only perturbs the series.
MIN_STRENGTH = 0.1
#: the season must also hold at the end of the history, where the forecast starts:
#: the strength over the last ``RECENT_CYCLES`` cycles on which the decomposition is
#: defined must reach ``MIN_STRENGTH`` too. A season that has died out (e.g. counts
#: that fell to zero for good) would otherwise be put back onto every forecast.
RECENT_CYCLES = 3

# seasonal periods of pandas' calendar offsets by rule code (the anchor after "-"
# dropped): a year's steps for yearly to weekly data, a week's for daily data
_PERIODS = {
    **dict.fromkeys(("Y", "YE", "YS", "A", "AS", "BY", "BYE", "BYS", "BA", "BAS"), 1),
    **dict.fromkeys(("Q", "QE", "QS", "BQ", "BQE", "BQS"), 4),
    **dict.fromkeys(("M", "ME", "MS", "BM", "BME", "BMS", "CBM", "CBME", "CBMS",
                     "WOM", "LWOM"), 12),
    **dict.fromkeys(("SM", "SME", "SMS"), 24),
    "W": 52,
    "D": 7,
    **dict.fromkeys(("B", "C"), 5),
}
_DAY_SECONDS = 24 * 60 * 60


def period_of(freq):
    """The seasonal period of a pandas offset: a year's steps for yearly to weekly
    data, a week's for daily data, a day's for (sub-)hourly data down to minutes;
    1 (no season) otherwise, and for None (an integer index).

    Examples
    --------
    >>> import pandas as pd
    >>> [period_of(pd.tseries.frequencies.to_offset(f)) for f in ("ME", "QE", "30min")]
    [12, 4, 48]
    """
    if freq is None:
        return 1
    try:
        code, n = freq.rule_code.split("-")[0], max(int(freq.n), 1)
    except (AttributeError, NotImplementedError, TypeError, ValueError):
        return 1  # a generic DateOffset (e.g. months=1) has no rule code
    if code in _PERIODS:
        per = _PERIODS[code]
        return per // n if per % n == 0 else 1
    try:
        seconds = pd.Timedelta(freq).total_seconds()
    except (TypeError, ValueError):
        return 1
    if 60 <= seconds < _DAY_SECONDS and _DAY_SECONDS % seconds == 0:
        return int(_DAY_SECONDS // seconds)
    return 1


def seasonal_strength(decomposed, model, last=None):
    """``1 - Var(remainder) / Var(seasonal + remainder)`` of a statsmodels
    decomposition (0: no season, also where the detrended values do not vary; in
    logs for a multiplicative one); ``last``: over the last ``last`` values on which
    the remainder is defined only."""
    seasonal, resid = np.asarray(decomposed.seasonal), np.asarray(decomposed.resid)
    if model == "multiplicative":
        seasonal, resid = np.log(seasonal), np.log(resid)
    ok = np.isfinite(resid)
    if last is not None:
        ok &= np.cumsum(ok[::-1])[::-1] <= last
    total = np.var(seasonal[ok] + resid[ok])
    return 0.0 if total == 0 else max(0.0, 1.0 - np.var(resid[ok]) / total)


@dataclass(frozen=True)
class SeasonalAdjustment:
    """Seasonal indices of every (member, column) series, by phase.

    Attributes
    ----------
    sp : int
        The seasonal period (1: nothing is adjusted).
    models : tuple of str or None
        Per series (member by member, column by column, as
        ``SeriesMemory.series``): "multiplicative", "additive", or None where the
        seasonality test failed (or the series is too short for it).
    indices : tuple of np.ndarray of shape (sp,), or None
        Per series, the index at phase ``k`` (None where nothing is adjusted).
    origins : tuple
        Per member, the time point of phase 0 (its first time in ``fit``).
    freq : pandas offset or None
        The memory's grid step.
    """

    sp: int
    models: tuple
    indices: tuple
    origins: tuple
    freq: object

    @classmethod
    def fit(cls, memory, sp, model="auto"):
        """Test and decompose every series of ``memory`` (a ``SeriesMemory`` of the
        whole of ``y``; missing values are interpolated for the test and the
        decomposition, and stay missing in the adjusted series). ``model``: "auto"
        (multiplicative where every value is positive, else additive),
        "multiplicative" or "additive"."""
        from sktime.utils.seasonality import autocorrelation_seasonality_test
        from statsmodels.tsa.seasonal import seasonal_decompose

        models, indices = [], []
        for values in memory.series():
            # missing values: the tests and the decomposition read them interpolated
            values = interpolate_gaps(values)
            if model == "multiplicative" and values.min() <= 0:
                raise ValueError(
                    "deseasonalize='multiplicative' needs strictly positive values, "
                    "but y has zeros or negative values; use deseasonalize='auto' "
                    "or 'additive'."
                )
            kind, seasonal = None, None
            if sp > 1 and len(values) >= 3 * sp and np.ptp(values) > 0 and \
                    autocorrelation_seasonality_test(pd.Series(values), sp):
                kind = model
                if model == "auto":
                    kind = "multiplicative" if values.min() > 0 else "additive"
                decomposed = seasonal_decompose(values, model=kind, period=sp)
                if min(seasonal_strength(decomposed, kind),
                       seasonal_strength(decomposed, kind, RECENT_CYCLES * sp)) \
                        >= MIN_STRENGTH:
                    # phase 0 is the series' first value
                    seasonal = np.asarray(decomposed.seasonal[:sp], dtype=float)
                else:
                    kind = None
            models.append(kind)
            indices.append(seasonal)
        origins = tuple(f.index[0] for f in memory.frames)
        return cls(int(sp), tuple(models), tuple(indices), origins, memory.freq)

    @property
    def active(self):
        """Whether any series is adjusted."""
        return any(m is not None for m in self.models)

    def _phases(self, member, start, n):
        """Phases of ``n`` consecutive grid points of ``member`` from ``start``."""
        origin = self.origins[member]
        if start == origin:
            offset = 0
        elif isinstance(start, pd.Timestamp) and isinstance(self.freq, Tick):
            offset = (start - origin) // pd.Timedelta(self.freq)  # fixed-length steps
        else:  # calendar steps (months, weeks): counted on the grid
            offset = steps_between(origin, start, self.freq)
        return (offset + np.arange(n)) % self.sp

    def adjusted_series(self, memory):
        """``memory.series()`` (the kept histories) with the seasonal indices
        removed."""
        series = memory.series()
        if not self.active:
            return series
        per = len(series) // len(memory.frames)
        out = []
        for row, values in enumerate(series):
            kind = self.models[row]
            if kind is not None:
                member = row // per
                index = self.indices[row][self._phases(
                    member, memory.frames[member].index[0], len(values))]
                values = values / index if kind == "multiplicative" else values - index
            out.append(values)
        return out

    def restored(self, paths, ends, total):
        """``paths`` (a ``Paths`` of ``total`` steps after each member's end in
        ``ends``) with the seasonal indices put back."""
        if not self.active:
            return paths
        per = len(self.models) // len(ends)
        n = len(self.models)
        mult, add = np.ones((n, total)), np.zeros((n, total))
        for row, kind in enumerate(self.models):
            if kind is None:
                continue
            member = row // per
            index = self.indices[row][self._phases(member, ends[member], total + 1)[1:]]
            if kind == "multiplicative":
                mult[row] = index
            else:
                add[row] = index

        def put_back(a):  # (n_series, total) or (n_series, Q or S, total)
            if a is None:
                return None
            if a.ndim == 2:
                return a * mult + add
            return a * mult[:, None] + add[:, None]

        return replace(paths, mean=put_back(paths.mean),
                       quantiles=put_back(paths.quantiles), samples=put_back(paths.samples))


def seasonally_adjusted(memory, plan):
    """``(SeasonalAdjustment fitted on memory's series, the series adjusted)`` with
    ``plan``'s ``deseasonalize`` and ``sp`` (None: read from the data's frequency)."""
    sp = 1  # deseasonalize=False: nothing is adjusted
    if plan.deseasonalize:
        sp = plan.sp if plan.sp is not None else period_of(memory.freq)
    seasonality = SeasonalAdjustment.fit(memory, sp, plan.deseasonalize or "auto")
    return seasonality, seasonality.adjusted_series(memory)
