"""What a fitted forecaster remembers of ``y``: each member's last values, on its
own time grid, aligned on the index when ``update`` brings more.

Every panel member keeps its own end (its cutoff), as sktime's per-series
forecasters do: a member whose data stops early is forecast from its own last
observation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from sktime_llmforecast.forecasting._time_grid import grid_freq, shifted, steps_between


@dataclass(frozen=True)
class SeriesMemory:
    """The kept history of every member of ``y``.

    Attributes
    ----------
    keys : list or None
        Instance keys of a panel or hierarchy (None: one series).
    columns : list
        The columns of ``y`` (channels of every member).
    index_names : list
        Names of ``y``'s index levels.
    frames : tuple of pd.DataFrame
        Per member, its last ``keep`` rows (float), indexed by time only, counted
        back from its last observed values (``last``).
    freq : pandas offset or None
        The step of a ``DatetimeIndex``/``PeriodIndex`` (None: integer index).
    """

    keys: list | None
    columns: list
    index_names: list
    frames: tuple
    freq: object

    @classmethod
    def from_y(cls, y, keep):
        """Remember the last ``keep`` values of every member of ``y``."""
        keys, frames = _members(y)
        return cls(keys, list(y.columns), list(y.index.names),
                   tuple(f.iloc[-keep:].copy() for f in frames), data_freq(y))

    def last(self, keep, past_gaps=True):
        """The memory of only the last ``keep`` values of every member (an int, or
        one per member).

        ``past_gaps``: counted back from each column's last observed value, so the
        missing values at a member's end are kept besides (a network that reads up
        to the last observed value still reads ``keep`` values); else the last
        ``keep`` rows.
        """
        keep = _per_member(keep, len(self.frames))
        return replace(self, frames=tuple(_tail(f, k, past_gaps).copy()
                                          for f, k in zip(self.frames, keep)))

    @property
    def lengths(self):
        """The rows kept per member."""
        return [len(f) for f in self.frames]

    def series(self):
        """The kept values as 1-D float arrays, member by member, column by column."""
        return [f[c].to_numpy(dtype=float) for f in self.frames for c in self.columns]

    @property
    def ends(self):
        """The last time point of every member."""
        return [f.index[-1] for f in self.frames]

    def updated(self, y, keep, past_gaps=True):
        """The memory after ``update(y)``: ``y``'s values replace those at the same
        times, later ones extend each member; a member not in ``y`` stays as it was.
        Each member then keeps ``keep`` values as ``last`` keeps them.

        Raises
        ------
        ValueError
            If ``y`` has members or columns not seen in ``fit``, does not reach past
            the cutoff (the latest end of any member), or leaves a gap after a
            member's last value.
        """
        keys, frames = _members(y)
        if len(self.columns) == 1 and len(y.columns) == 1:  # a renamed univariate series
            frames = [f.set_axis(self.columns, axis=1) for f in frames]
        elif list(y.columns) != self.columns:
            raise ValueError(
                f"update got columns {list(y.columns)}, but the forecaster was fitted on "
                f"{self.columns}; pass the same columns, or fit again."
            )
        if (keys is None) != (self.keys is None):
            raise ValueError(
                "update got a different kind of data than fit (a single series vs a "
                "panel); pass data of the same layout, or fit again."
            )
        position = {None: 0} if keys is None else {k: i for i, k in enumerate(self.keys)}
        unknown = [k for k in (keys or [None]) if k not in position]
        if unknown:
            raise ValueError(
                f"update got panel members not seen in fit: {unknown[:5]}; LLMForecaster "
                "forecasts the members it was fitted on: fit again on the new panel."
            )
        cutoff = max(self.ends)
        last = max(f.index[-1] for f in frames)
        if not steps_between(cutoff, last, self.freq) > 0:
            raise ValueError(
                f"update got data up to {last}, which does not extend past the "
                f"forecaster's cutoff {cutoff}. update appends new observations (values "
                "at times already seen replace the stored ones); to change only past "
                "values, fit again."
            )
        kept, keep = list(self.frames), _per_member(keep, len(self.frames))
        for key, new in zip(keys or [None], frames):
            i = position[key]
            kept[i] = _tail(_aligned(kept[i], new, self.freq, key), keep[i], past_gaps)
        return SeriesMemory(self.keys, self.columns, self.index_names, tuple(kept), self.freq)

    def steps_and_times(self, fh, cutoff):
        """Per member: the forecast steps after its own end, and their times.

        A relative ``fh`` counts from each member's own last observation (as
        sktime's per-series forecasters do); an absolute ``fh`` names the same
        times for every member, each forecast from its own end.
        """
        steps, times = [], []
        for end in self.ends:
            if fh.is_relative:
                rel = np.asarray(fh.to_pandas(), dtype=int)
                steps.append(rel)
                times.append(_stamps(fh, cutoff, end, rel, self.freq))
            else:
                abs_times = fh.to_pandas()
                steps.append(np.array([steps_between(end, t, self.freq) for t in abs_times]))
                times.append(abs_times)
        return steps, times


def data_freq(y):
    """The step of ``y``'s time grid (its first member with one), or None."""
    if not isinstance(y.index, pd.MultiIndex):
        return grid_freq(y.index)
    times = pd.Series(y.index.get_level_values(-1), index=y.index.droplevel(-1))
    for _, member in times.groupby(level=list(range(y.index.nlevels - 1)), sort=False):
        freq = grid_freq(pd.Index(member.to_numpy()))
        if freq is not None:
            return freq
    return None


def _stamps(fh, cutoff, end, rel, freq):
    """Times of relative steps ``rel`` after ``end`` (sktime's own conversion when
    the member ends at the cutoff and the cutoff knows its frequency)."""
    if end == cutoff[0]:
        try:
            return fh.to_absolute_index(cutoff)
        except (TypeError, ValueError, AttributeError):
            pass  # the cutoff of a panel without freq: count on the data's grid
    return shifted(end, rel, freq)


def _per_member(keep, n):
    return [int(keep)] * n if np.ndim(keep) == 0 else [int(k) for k in keep]


def trailing_missing(series):
    """Per series, how many values at its end are missing (NaN; all of them where
    none is observed), ``(n_series,)``."""
    out = []
    for s in series:
        seen = np.flatnonzero(np.isfinite(np.asarray(s, dtype=float).reshape(-1)))
        out.append(len(s) - 1 - seen[-1] if len(seen) else len(s))
    return np.asarray(out, dtype=int)


def _tail(frame, keep, past_gaps=True):
    """The last ``keep`` rows of ``frame``; with ``past_gaps``, counted back from
    the column whose last observed value is earliest (all rows where a column has
    none)."""
    if past_gaps and len(frame):
        keep += int(trailing_missing(frame.to_numpy(dtype=float).T).max())
    return frame.iloc[-keep:] if keep > 0 else frame.iloc[:0]


def _members(y):
    """``(keys or None, frames)``: one time-indexed float frame per member."""
    if not isinstance(y.index, pd.MultiIndex):
        return None, [_as_float_frame(y)]
    levels = list(range(y.index.nlevels - 1))
    keys, frames = [], []
    for key, group in y.groupby(level=levels, sort=False):
        keys.append(key[0] if isinstance(key, tuple) and len(key) == 1 else key)
        frames.append(_as_float_frame(group.droplevel(levels)))
    return keys, frames


def _as_float_frame(frame):
    index = frame.index
    if not isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)):
        index = pd.Index(np.asarray(index, dtype=np.int64))
    return pd.DataFrame(frame.to_numpy(dtype=float), index=index, columns=frame.columns)


def _aligned(old, new, freq, key):
    """``old`` with ``new``'s values replacing those at the same times, extended by
    ``new``'s later values; a gap between them is a ``ValueError`` naming it."""
    start, end = new.index[0], new.index[-1]
    who = "" if key is None else f" for member {key!r}"
    _refuse_gap(old.index[-1], start, freq,
                f"update got data{who} starting at {start}, but the stored series ends "
                f"at {old.index[-1]}")
    _refuse_gap(end, old.index[0], freq,
                f"update got data{who} ending at {end}, but the stored series starts "
                f"at {old.index[0]}")
    before = old[old.index < start]
    later = old[old.index > end]
    return pd.concat([before, new, later])


def _refuse_gap(earlier, later, freq, what):
    """A ``ValueError`` (``what``, then the missing range) when time points are
    missing between ``earlier`` and ``later``."""
    steps = steps_between(earlier, later, freq)
    if steps > 1:
        first, last = shifted(earlier, [1, steps - 1], freq)
        raise ValueError(
            f"{what}: {steps - 1} time point(s) from {first} to {last} are missing. "
            "Pass the missing values too (or impute them), or fit again."
        )
