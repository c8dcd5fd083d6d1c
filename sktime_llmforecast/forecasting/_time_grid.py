"""Steps on a series' regular time grid: integer, ``PeriodIndex`` or ``DatetimeIndex``.

The forecaster counts forecast steps, gaps and panel members' lags on the grid of
the data's own index, so a forecast is never stamped at a time it was not made for.
An integer index counts steps by 1 (sktime adds ``fh`` to the last integer), a
``PeriodIndex`` by its period, a ``DatetimeIndex`` by its (set or inferred)
frequency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def grid_freq(index):
    """The step of a time index: a pandas offset, or None for an integer index.

    Raises a ``ValueError`` when a ``DatetimeIndex`` of 3 or more values has no
    inferable frequency (two values: their difference).
    """
    if isinstance(index, pd.PeriodIndex):
        return index.freq
    if isinstance(index, pd.DatetimeIndex):
        if index.freq is not None:
            return index.freq
        if len(index) >= 3:
            freq = pd.infer_freq(index)
            return None if freq is None else pd.tseries.frequencies.to_offset(freq)
        if len(index) == 2:
            return pd.tseries.frequencies.to_offset(index[1] - index[0])
        return None
    return None


def first_gap(index, freq):
    """``(first missing time, last missing time, count)`` of the first run of missing
    steps in a sorted, duplicate-free ``index`` on its grid, or None without gaps.

    For a ``DatetimeIndex``, ``freq`` is the candidate step (e.g. inferred from its
    first values); values off that grid give None (the caller reports them as
    irregular).
    """
    if len(index) < 2:
        return None
    if isinstance(index, pd.PeriodIndex):
        full = pd.period_range(index[0], index[-1], freq=index.freq)
    elif isinstance(index, pd.DatetimeIndex):
        if freq is None:
            return None
        full = pd.date_range(index[0], index[-1], freq=freq)
        if not index.isin(full).all():
            return None
    elif pd.api.types.is_integer_dtype(index.dtype):
        full = pd.RangeIndex(int(index[0]), int(index[-1]) + 1)
    else:
        return None
    missing = full.difference(index)
    if len(missing) == 0:
        return None
    start = full.get_loc(missing[0])
    run = 1
    while start + run < len(full) and full[start + run] not in index:
        run += 1
    return missing[0], full[start + run - 1], run


def candidate_freq(index):
    """A step for a gapped ``DatetimeIndex``: the frequency of its longest regular
    stretch among the first values (None: none found)."""
    for n in (len(index), 20, 10, 5, 3):
        if n <= len(index) and n >= 3:
            freq = pd.infer_freq(index[:n])
            if freq is not None:
                return pd.tseries.frequencies.to_offset(freq)
    return None


def steps_between(start, end, freq):
    """How many steps of the grid lead from ``start`` to ``end`` (negative: back).

    Raises a ``ValueError`` when ``end`` is not on ``start``'s grid.
    """
    if isinstance(start, pd.Period):
        if not isinstance(end, pd.Period) or end.freq != start.freq:
            raise ValueError(f"{end!r} is not a period of frequency {start.freqstr}.")
        return (end.ordinal - start.ordinal) // start.freq.n
    if isinstance(start, pd.Timestamp):
        if freq is None:
            raise ValueError("the series' DatetimeIndex has no frequency to count steps by.")
        end = pd.Timestamp(end)
        lo, hi, sign = (start, end, 1) if end >= start else (end, start, -1)
        grid = pd.date_range(lo, hi, freq=freq)
        if len(grid) == 0 or grid[0] != lo or grid[-1] != hi:
            raise ValueError(
                f"{end} is not on the series' time grid (steps of {freq.freqstr} from "
                f"{start})."
            )
        return sign * (len(grid) - 1)
    if not isinstance(end, (int, np.integer)):
        raise ValueError(f"{end!r} is not an integer time point of the series.")
    return int(end) - int(start)


def shifted(time, steps, freq):
    """The times ``steps`` (array of ints) after ``time`` on the grid, as an Index."""
    steps = np.asarray(steps, dtype=int)
    if isinstance(time, pd.Period):
        return pd.PeriodIndex([time + int(k) for k in steps], freq=time.freq)
    if isinstance(time, pd.Timestamp):
        return pd.DatetimeIndex([time + int(k) * freq for k in steps])
    return pd.Index(int(time) + steps)
