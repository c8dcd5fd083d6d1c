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
    """The step of a time index: a pandas offset, or None (an integer index, or a
    ``DatetimeIndex`` without a set or inferable frequency, e.g. of 2 values)."""
    if isinstance(index, pd.PeriodIndex):
        return index.freq
    if isinstance(index, pd.DatetimeIndex):
        if index.freq is not None:
            return index.freq
        freq = pd.infer_freq(index) if len(index) >= 3 else None
        return None if freq is None else pd.tseries.frequencies.to_offset(freq)
    return None


def first_gap(index, freq):
    """``(first missing time, last missing time, count)`` of the first run of missing
    steps in a sorted, duplicate-free ``index`` on its grid, or None without gaps.

    Integer and period indexes are read from their differences (memory follows the
    rows, not the range of values). For a ``DatetimeIndex``, ``freq`` is the
    candidate step (e.g. inferred from a regular stretch); values off that grid
    give None (the caller reports them as irregular).
    """
    if len(index) < 2:
        return None
    if isinstance(index, pd.PeriodIndex) or pd.api.types.is_integer_dtype(index.dtype):
        diffs, step = _differences(index)
        bad = np.flatnonzero(diffs != step)
        if len(bad) == 0:
            return None
        k = bad[0]
        count = int(diffs[k] // step) - 1
        if diffs[k] % step or count < 1:
            return None
        before = index[k]
        return before + 1, index[k + 1] - 1, count  # a Period moves by its own freq
    if isinstance(index, pd.DatetimeIndex) and freq is not None:
        full = pd.date_range(index[0], index[-1], freq=freq)
        if not index.isin(full).all():
            return None
        present = full.isin(index)
        start = int(np.argmin(present))
        if present[start]:
            return None
        run = int(np.argmax(present[start:]))
        return full[start], full[start + run - 1], run
    return None


def on_unit_steps(index):
    """Whether an integer or period index moves by exactly one step (1, or its
    period) from each value to the next."""
    diffs, step = _differences(index)
    return bool((diffs == step).all())


def _differences(index):
    """``(differences between neighbours, one step)`` of an integer or period index,
    in integers (period ordinals)."""
    step = index.freq.n if isinstance(index, pd.PeriodIndex) else 1
    ordinals = index.asi8 if isinstance(index, pd.PeriodIndex) else np.asarray(index)
    return np.diff(ordinals.astype(np.int64)), step


def candidate_freq(index):
    """A step for a gapped ``DatetimeIndex``: the frequency of a regular stretch at
    its start or its end (None: none found)."""
    for n in (20, 10, 5, 3):
        for part in (index[:n], index[-n:]):
            if len(part) >= 3:
                freq = pd.infer_freq(part)
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
        diff = end.ordinal - start.ordinal
        if diff % start.freq.n:
            raise ValueError(
                f"{end} is not on the series' time grid (steps of {start.freqstr} from "
                f"{start})."
            )
        return diff // start.freq.n
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


def largest_step(steps):
    """The largest of the relative ``steps`` when positive, else None."""
    steps = np.asarray(steps, dtype=int)
    return int(steps.max()) if len(steps) and steps.max() > 0 else None
