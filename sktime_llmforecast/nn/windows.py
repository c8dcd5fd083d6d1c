"""Sliding (context, target) windows over many series, with a temporal split.

Short-history rule: every context has exactly ``context_length`` slots; a window whose
history is shorter is left-padded and the padding is masked (``mask`` False), so the
tokenizer's scaling and the backbone's attention ignore it. A window needs at least
``MIN_OBSERVED`` observed context values.

Missing values (NaN) inside a series are masked the same way in the context; a
missing target is NaN in the window's target (the losses leave it out), and a window
needs at least one observed target.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

MIN_OBSERVED = 2


@dataclass(frozen=True)
class WindowSet:
    """Windows as index arrays into one concatenated, left-padded value buffer.

    Attributes
    ----------
    values : np.ndarray, shape (N,)
        All series, each preceded by ``context_length`` padding zeros (missing
        values are 0 here too).
    observed : np.ndarray of bool, shape (N,)
        False at padding and at missing values.
    starts : np.ndarray of int, shape (W,)
        Buffer position of each window's first context slot.
    series : np.ndarray of int, shape (W,)
        Index, in the list given to :func:`make_windows`, of each window's series.
    context_length, horizon : int
    """

    values: np.ndarray
    observed: np.ndarray
    starts: np.ndarray
    series: np.ndarray
    context_length: int
    horizon: int

    def subset(self, idx):
        """The windows ``idx`` (an index array into this set's windows)."""
        return replace(self, starts=self.starts[idx], series=self.series[idx])

    def __len__(self):
        return len(self.starts)

    def one_per_target(self, phase=0):
        """The windows that make every target value a target once: in each run of
        consecutive window starts, every ``horizon``-th window from ``phase`` (taken
        modulo the run's length when the run is shorter than ``horizon``).

        A teacher-forced network predicts each value of a window from the true
        values before it, so the ``horizon`` windows that share a target differ only
        in where their context starts; one of them carries its lesson. Rotating
        ``phase`` over ``horizon`` epochs visits every window.
        """
        if self.horizon == 1 or len(self.starts) == 0:
            return self
        breaks = np.flatnonzero(np.diff(self.starts) != 1) + 1
        keep = []
        for run in np.split(np.arange(len(self.starts)), breaks):
            first = phase % min(self.horizon, len(run))
            keep.append(run[first :: self.horizon])
        return self.subset(np.concatenate(keep))

    def batch(self, idx):
        """Return ``(context, mask, target)`` numpy arrays for windows ``idx``
        (the target is NaN where the value is missing)."""
        s = self.starts[idx][:, None]
        ctx_idx = s + np.arange(self.context_length)
        tgt_idx = s + self.context_length + np.arange(self.horizon)
        target = self.values[tgt_idx]
        seen = self.observed[tgt_idx]
        if not seen.all():
            target = np.where(seen, target, np.nan)
        return self.values[ctx_idx], self.observed[ctx_idx], target


def has_window(series_list, horizon, context_length=None):
    """Whether any series is long enough for one training window of :func:`make_windows`
    (``MIN_OBSERVED`` observed values among the last ``context_length`` (None: all)
    before a target, then ``horizon`` targets of which at least one is observed)."""
    return any(len(_window_ends(np.asarray(s, dtype=float), context_length, horizon))
               for s in series_list)


def _window_ends(s, context_length, horizon):
    """First target positions ``t`` of the windows of ``s``: at least ``MIN_OBSERVED``
    observed values among the (last ``context_length``) values before ``t``, and at
    least one observed value among the ``horizon`` from ``t``."""
    n = len(s)
    ends = np.arange(MIN_OBSERVED, n - horizon + 1)
    ok = np.isfinite(s)
    if ok.all() or not len(ends):
        return ends
    seen = np.concatenate([[0], np.cumsum(ok)])  # seen[t]: observed values before t
    first = ends - (context_length if context_length else n)
    in_context = seen[ends] - seen[np.maximum(first, 0)]
    in_target = seen[ends + horizon] - seen[ends]
    return ends[(in_context >= MIN_OBSERVED) & (in_target >= 1)]


def make_windows(series_list, context_length, horizon, validation_fraction=0.2):
    """Cut training and validation windows from a list of 1-D series.

    Validation windows are the last ``round(validation_fraction * n)`` window ends of
    each series (at least one, when the series has at least 4 windows); training
    windows are those whose targets end before the first validation target begins,
    so no validation value is ever a training target.

    Parameters
    ----------
    series_list : list of np.ndarray
        1-D float arrays; NaN marks a missing value (masked in contexts, NaN in
        targets).
    context_length, horizon : int
    validation_fraction : float in [0, 1)

    Returns
    -------
    train : WindowSet
    val : WindowSet or None
        None when no series is long enough for a split.

    Raises
    ------
    ValueError
        If no series yields a single window.
    """
    chunks, obs, train_starts, val_starts, train_series, val_series = [], [], [], [], [], []
    offset = 0
    for i, s in enumerate(series_list):
        s = np.asarray(s, dtype=float)
        n = len(s)
        seen = np.isfinite(s)
        chunks.append(np.concatenate([np.zeros(context_length), np.where(seen, s, 0.0)]))
        obs.append(np.concatenate([np.zeros(context_length, bool), seen]))
        ends = _window_ends(s, context_length, horizon)  # t = first target position
        n_val = (
            max(1, int(round(validation_fraction * len(ends))))
            if validation_fraction > 0 and len(ends) >= 4
            else 0
        )
        if n_val:
            val_ends = ends[-n_val:]
            tr_ends = ends[ends + horizon <= val_ends[0]]
            if len(tr_ends) == 0:
                tr_ends, val_ends = ends, ends[:0]
        else:
            tr_ends, val_ends = ends, ends[:0]
        # window ending at t: context buffer slots [t, t + L) hold s[t - L : t]
        train_starts.append(offset + tr_ends)
        val_starts.append(offset + val_ends)
        train_series.append(np.full(len(tr_ends), i))
        val_series.append(np.full(len(val_ends), i))
        offset += n + context_length
    values = np.concatenate(chunks) if chunks else np.zeros(0)
    observed = np.concatenate(obs) if obs else np.zeros(0, bool)
    tr, tr_series, va, va_series = (
        np.concatenate(parts) if parts else np.zeros(0, int)
        for parts in (train_starts, train_series, val_starts, val_series)
    )
    if len(tr) == 0:
        longest = max((int(np.isfinite(np.asarray(s, dtype=float)).sum())
                       for s in series_list), default=0)
        raise ValueError(
            f"The training series are too short: the longest has {longest} observed "
            f"values, but a window needs at least {MIN_OBSERVED} observed values plus "
            f"the horizon of {horizon} (at least one of them observed). Pass a longer "
            "series or a shorter fh."
        )
    train = WindowSet(values, observed, tr, tr_series, context_length, horizon)
    val = (WindowSet(values, observed, va, va_series, context_length, horizon)
           if len(va) else None)
    return train, val


def spaced_validation_windows(series_list, context_length, horizon, validation_fraction,
                              max_windows):
    """:func:`make_windows`' validation windows, at most ``max_windows`` of them,
    evenly spaced (first and last kept); None when there are none (no window at
    all, or too few for a split)."""
    try:
        _, val = make_windows(series_list, context_length, horizon, validation_fraction)
    except ValueError:  # no window at all
        return None
    if val is None or len(val) <= max_windows:
        return val
    idx = np.unique(np.linspace(0, len(val) - 1, max_windows).round().astype(int))
    return val.subset(idx)


def last_contexts(series_list, context_length):
    """Left-padded last ``context_length`` values of each series, with masks
    (False at padding and at missing values, which are 0 in ``context``).

    Returns
    -------
    context : np.ndarray, shape (S, context_length)
    mask : np.ndarray of bool, shape (S, context_length)

    Raises
    ------
    ValueError
        If missing values leave a series fewer than ``MIN_OBSERVED`` observed
        values among them.
    """
    ctx = np.zeros((len(series_list), context_length))
    mask = np.zeros((len(series_list), context_length), bool)
    for i, s in enumerate(series_list):
        tail = np.asarray(s[-context_length:], dtype=float)
        seen = np.isfinite(tail)
        ctx[i, context_length - len(tail) :] = np.where(seen, tail, 0.0)
        mask[i, context_length - len(tail) :] = seen
        if seen.sum() < min(MIN_OBSERVED, len(tail)):  # missing values left too few
            raise ValueError(
                f"Series {i} has {int(seen.sum())} observed value(s) among its last "
                f"{context_length}, the history the forecast reads; at least "
                f"{MIN_OBSERVED} are needed. Impute its most recent missing values "
                "(e.g. y.interpolate()) or forecast it from a longer history."
            )
    return ctx, mask
