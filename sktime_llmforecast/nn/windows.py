"""Sliding (context, target) windows over many series, with a temporal split.

Short-history rule: every context has exactly ``context_length`` slots; a window whose
history is shorter is left-padded and the padding is masked (``mask`` False), so the
tokenizer's scaling and the backbone's attention ignore it. A window needs at least
``MIN_OBSERVED`` observed context values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_OBSERVED = 2


@dataclass(frozen=True)
class WindowSet:
    """Windows as index arrays into one concatenated, left-padded value buffer.

    Attributes
    ----------
    values : np.ndarray, shape (N,)
        All series, each preceded by ``context_length`` padding zeros.
    observed : np.ndarray of bool, shape (N,)
        False at padding.
    starts : np.ndarray of int, shape (W,)
        Buffer position of each window's first context slot.
    context_length, horizon : int
    """

    values: np.ndarray
    observed: np.ndarray
    starts: np.ndarray
    context_length: int
    horizon: int

    def __len__(self):
        return len(self.starts)

    def batch(self, idx):
        """Return ``(context, mask, target)`` numpy arrays for windows ``idx``."""
        s = self.starts[idx][:, None]
        ctx_idx = s + np.arange(self.context_length)
        tgt_idx = s + self.context_length + np.arange(self.horizon)
        return self.values[ctx_idx], self.observed[ctx_idx], self.values[tgt_idx]


def has_window(series_list, horizon):
    """Whether any series is long enough for one training window of :func:`make_windows`
    (``MIN_OBSERVED`` context values plus ``horizon`` targets)."""
    return any(len(s) >= MIN_OBSERVED + horizon for s in series_list)


def make_windows(series_list, context_length, horizon, validation_fraction=0.2):
    """Cut training and validation windows from a list of 1-D series.

    Validation windows are the last ``round(validation_fraction * n)`` window ends of
    each series (at least one, when the series has at least 4 windows); training
    windows are those whose targets end before the first validation target begins,
    so no validation value is ever a training target.

    Parameters
    ----------
    series_list : list of np.ndarray
        Finite 1-D float arrays.
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
    chunks, obs, train_starts, val_starts = [], [], [], []
    offset = 0
    for s in series_list:
        n = len(s)
        chunks.append(np.concatenate([np.zeros(context_length), s]))
        obs.append(np.concatenate([np.zeros(context_length, bool), np.ones(n, bool)]))
        ends = np.arange(MIN_OBSERVED, n - horizon + 1)  # t = first target position
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
        offset += n + context_length
    values = np.concatenate(chunks) if chunks else np.zeros(0)
    observed = np.concatenate(obs) if obs else np.zeros(0, bool)
    tr = np.concatenate(train_starts) if train_starts else np.zeros(0, int)
    va = np.concatenate(val_starts) if val_starts else np.zeros(0, int)
    if len(tr) == 0:
        longest = max((len(s) for s in series_list), default=0)
        raise ValueError(
            f"The training series are too short: the longest has {longest} values, "
            f"but a window needs at least {MIN_OBSERVED} observed values plus the "
            f"horizon of {horizon}. Pass a longer series or a shorter fh."
        )
    train = WindowSet(values, observed, tr, context_length, horizon)
    val = WindowSet(values, observed, va, context_length, horizon) if len(va) else None
    return train, val


def last_contexts(series_list, context_length):
    """Left-padded last ``context_length`` values of each series, with masks.

    Returns
    -------
    context : np.ndarray, shape (S, context_length)
    mask : np.ndarray of bool, shape (S, context_length)
    """
    ctx = np.zeros((len(series_list), context_length))
    mask = np.zeros((len(series_list), context_length), bool)
    for i, s in enumerate(series_list):
        tail = s[-context_length:]
        ctx[i, context_length - len(tail) :] = tail
        mask[i, context_length - len(tail) :] = True
    return ctx, mask
