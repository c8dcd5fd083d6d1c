"""Checks of the user's ``y`` before sktime's conversion, with messages that name the
problem and the fix (sktime's own messages for these cases are generic or missing)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sktime_llmforecast.forecasting._time_grid import (
    candidate_freq,
    first_gap,
    on_unit_steps,
)


def check_y(y, name="y"):
    """Raise a ``ValueError``/``TypeError`` naming what is wrong with pandas ``y``.

    Other containers (numpy, dask, ...) are left to sktime's own checks. ``y`` is
    only read, never changed.
    """
    if not isinstance(y, (pd.Series, pd.DataFrame)):
        return
    frame = y.to_frame() if isinstance(y, pd.Series) else y
    if _is_nested(frame):  # sktime's nested_univ panel format: sktime converts it
        return
    if len(frame) == 0 or frame.shape[1] == 0:
        raise ValueError(f"{name} is empty; LLMForecaster needs at least 2 values per series.")
    if frame.columns.has_duplicates:
        dup = frame.columns[frame.columns.duplicated()][0]
        raise ValueError(
            f"{name} has duplicated column names (e.g. {dup!r}); give every column a "
            "unique name first, e.g. y.columns = [f'y{i}' for i in range(y.shape[1])]."
        )
    for col in frame.columns:
        _check_values(frame[col], name if isinstance(y, pd.Series) else f"{name}[{col!r}]")
    _check_index(frame.index, name)


def _is_nested(frame):
    if frame.empty or frame.shape[1] == 0:
        return False
    first = frame.iloc[0, 0]
    return isinstance(first, (pd.Series, np.ndarray))


def _check_values(s, label):
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        example = s.dropna().iloc[0] if s.notna().any() else None
        raise TypeError(
            f"{label} must hold numbers, but has dtype {s.dtype} (categorical or text "
            f"values, e.g. {example!r}); "
            "convert it first, e.g. pd.to_numeric(y) or y.astype(float)."
        )
    missing = s.isna().to_numpy()
    if missing.all():
        raise ValueError(f"{label} has only missing values (NaN); there is nothing to learn from.")
    if missing.any():
        first = s.index[np.argmax(missing)]
        raise ValueError(
            f"{label} has {int(missing.sum())} missing values (NaN), the first at {first!r}; "
            "LLMForecaster needs complete series: impute them first, e.g. "
            "TransformedTargetForecaster([Imputer(method='linear'), LLMForecaster()]) "
            "or y.interpolate()."
        )
    values = s.to_numpy(dtype=float)
    infinite = ~np.isfinite(values)
    if infinite.any():
        first = s.index[np.argmax(infinite)]
        raise ValueError(
            f"{label} has {int(infinite.sum())} infinite values, the first at {first!r}; "
            "replace them (e.g. y.replace([np.inf, -np.inf], np.nan)) and impute."
        )


def _check_index(index, name):
    if isinstance(index, pd.MultiIndex):
        if not index.is_unique:
            raise ValueError(
                f"{name} has duplicated (instance, time) rows; aggregate them first, e.g. "
                "y.groupby(level=list(range(y.index.nlevels))).mean()."
            )
        times = pd.Series(index.get_level_values(-1), index=index.droplevel(-1))
        for key, t in times.groupby(level=list(range(index.nlevels - 1)), sort=False):
            _check_time_index(pd.Index(t.to_numpy()), f"{name} (instance {key!r})")
        return
    _check_time_index(index, name)


def _check_time_index(index, label):
    if isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)) and index.hasnans:
        where = int(np.argmax(index.isna()))
        raise ValueError(
            f"{label} has {int(index.isna().sum())} missing timestamps (NaT), the first "
            f"at position {where}; drop those rows or fill their timestamps first, e.g. "
            "y[y.index.notna()]."
        )
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise ValueError(
            f"{label} has duplicated time points (e.g. {dup!r}); aggregate them first, "
            "e.g. y.groupby(level=0).mean()."
        )
    if not index.is_monotonic_increasing:
        raise ValueError(f"{label}'s time index is not sorted; call y.sort_index() first.")
    if len(index) < 2:
        return
    if isinstance(index, pd.DatetimeIndex):
        if index.freq is not None or len(index) < 3 or pd.infer_freq(index) is not None:
            return
        gap = first_gap(index, candidate_freq(index))
        if gap is None:
            raise ValueError(
                f"{label} has irregular timestamps (no frequency can be inferred from its "
                "DatetimeIndex); LLMForecaster forecasts regularly spaced series: "
                "resample first, e.g. y.resample('D').mean() and impute, or index the "
                "series by position."
            )
    elif isinstance(index, pd.PeriodIndex) or pd.api.types.is_integer_dtype(index.dtype):
        gap = first_gap(index, None)
        if gap is None:
            if on_unit_steps(index):
                return
            raise ValueError(
                f"{label} has time points off its own grid (steps that are not whole "
                f"periods of {getattr(index, 'freqstr', 1)}); LLMForecaster forecasts "
                "regularly spaced series: reindex onto a regular index first."
            )
    else:
        raise TypeError(
            f"{label} has a {type(index).__name__} of dtype {index.dtype}; LLMForecaster "
            "needs a DatetimeIndex, PeriodIndex or integer time index."
        )
    start, end, count = gap
    raise ValueError(
        f"{label} has a gap in its time index: {count} missing time point(s) from "
        f"{start} to {end}; LLMForecaster forecasts regularly spaced series: reindex "
        "onto the full range and impute the missing values (e.g. "
        "y.reindex(full_index).interpolate()), or index the series by position."
        + (" An integer time index counts steps by 1." if isinstance(start, (int, np.integer))
           else "")
    )
