"""Between sktime's pandas containers and lists of 1-D float arrays (one per series)."""

from __future__ import annotations

import numpy as np
import pandas as pd

def split_series(y):
    """Split sktime ``y`` into a list of float arrays, one per (member, column).

    Returns
    -------
    series : list of np.ndarray
    layout : tuple
        ``(instance_keys or None, columns)``; ``instance_keys`` is None for a
        single (possibly multivariate) series.
    """
    if isinstance(y, pd.Series):
        y = y.to_frame()
    columns = list(y.columns)
    if isinstance(y.index, pd.MultiIndex):
        levels = list(range(y.index.nlevels - 1))
        keys, series = [], []
        for key, group in y.groupby(level=levels, sort=False):
            keys.append(key)
            for col in columns:
                series.append(as_float(group[col]))
        return series, (keys, columns)
    return [as_float(y[col]) for col in columns], (None, columns)


def as_float(s):
    values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(
            "LLMForecaster got NaN, infinite or non-numeric values in y; impute or "
            "clean them first (e.g. sktime.transformations.series.impute.Imputer)."
        )
    return values


def assemble(values, keys, columns, times, index_names):
    """Put ``values`` (one row per member and column) back into ``y``'s layout.

    Parameters
    ----------
    values : np.ndarray, shape (n_members * n_columns, n_steps)
    keys : list or None
        Instance keys (None: one series).
    columns : list
    times : list of pd.Index
        The forecast times of every member (each member has its own end).
    index_names : list
    """
    n_cols = len(columns)
    if keys is None:
        return pd.DataFrame(values.T, index=times[0], columns=columns)
    # one index for the whole panel (a MultiIndex per member and a concat cost
    # seconds per call for 1,000 members)
    keys = [key if isinstance(key, tuple) else (key,) for key in keys]
    n_steps = values.shape[1]  # every member forecasts the same steps
    levels = [[key[j] for key in keys for _ in range(n_steps)]
              for j in range(len(keys[0]))]
    time_index = times[0].append(list(times[1:])) if len(times) > 1 else times[0]
    index = pd.MultiIndex.from_arrays([*levels, time_index], names=index_names)
    # rows (member, column) x steps -> rows (member, step) x columns
    rows = values.reshape(len(keys), n_cols, n_steps).transpose(0, 2, 1)
    return pd.DataFrame(rows.reshape(-1, n_cols), index=index, columns=columns)
