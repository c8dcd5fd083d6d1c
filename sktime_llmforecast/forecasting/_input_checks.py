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


def check_y(y, name="y", new_data=False):
    """Raise a ``ValueError``/``TypeError`` naming what is wrong with pandas ``y``.

    Other containers (numpy, dask, ...) are left to sktime's own checks. ``y`` is
    only read, never changed. ``new_data``: ``y`` extends a fitted history
    (``update``), so it may hold fewer than 2 observed values per series, or none.
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
        _check_values(frame[col], name if isinstance(y, pd.Series) else f"{name}[{col!r}]",
                      new_data)
    if not new_data and isinstance(frame.index, pd.MultiIndex) \
            and frame.isna().to_numpy().any():
        _check_members_observed(frame, name)
    _check_index(frame.index, name)


def _check_members_observed(frame, name):
    """Every panel member (and column) needs 2 observed values."""
    levels = list(range(frame.index.nlevels - 1))
    counts = frame.notna().groupby(level=levels, sort=False).sum()
    for key, row in counts.iterrows():
        for col, n in row.items():
            if n < 2:
                raise ValueError(
                    f"{name} (instance {key!r}, column {col!r}) has {int(n)} observed "
                    "value(s), the rest missing (NaN); LLMForecaster needs at least 2 "
                    "observed values per series: drop that instance or impute it."
                )


def check_complete(y, who, name="y"):
    """Raise a ``ValueError`` when pandas ``y`` has missing values (NaN), for the
    modes that cannot mask them; ``who`` names the mode and why."""
    if not isinstance(y, (pd.Series, pd.DataFrame)):
        return
    frame = y.to_frame() if isinstance(y, pd.Series) else y
    if _is_nested(frame):
        return
    count, first = _count_and_first(frame.index, frame.isna().to_numpy().any(axis=1))
    if count:
        raise ValueError(
            f"{name} has {count} rows with missing values (NaN), the first "
            f"at {first!r}, but {who} cannot mask them. Use patch mode (mode='trained' "
            "with a PatchTokenizer, the default, which masks missing values), or "
            "impute first, e.g. "
            "TransformedTargetForecaster([Imputer(method='linear'), LLMForecaster(...)]) "
            "or y.interpolate()."
        )


def _count_and_first(index, flags):
    """How many of ``flags`` are set, and the index label of the first (or None)."""
    count = int(flags.sum())
    return count, (index[np.argmax(flags)] if count else None)


def _is_nested(frame):
    if frame.empty or frame.shape[1] == 0:
        return False
    first = frame.iloc[0, 0]
    return isinstance(first, (pd.Series, np.ndarray))


def check_X(X, name="X"):
    """Raise a ``TypeError``/``ValueError`` naming what is wrong with pandas ``X``
    (a non-numeric column, missing or infinite values); ``X`` is only read."""
    if not isinstance(X, (pd.Series, pd.DataFrame)):
        return
    frame = X.to_frame() if isinstance(X, pd.Series) else X
    for col in frame.columns:
        s = frame[col]
        label = f"{name}[{col!r}]"
        if not pd.api.types.is_bool_dtype(s.dtype):
            _require_numbers(s, label, "encode it first, e.g. pd.get_dummies(X, "
                                       "columns=[...], dtype=float) or X.astype(float)")
        count, first = _count_and_first(
            s.index, ~np.isfinite(s.to_numpy(dtype=float, na_value=np.nan)))
        if count:
            raise ValueError(
                f"{label} has {count} missing or infinite values, the first at "
                f"{first!r}; covariates must be complete where they are passed: impute "
                "them first (e.g. X.interpolate()), or drop the column."
            )


def _require_numbers(s, label, fix):
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        example = s.dropna().iloc[0] if s.notna().any() else None
        raise TypeError(
            f"{label} must hold numbers, but has dtype {s.dtype} (categorical or text "
            f"values, e.g. {example!r}); {fix}."
        )


def _check_values(s, label, new_data=False):
    _require_numbers(s, label, "convert it first, e.g. pd.to_numeric(y) or y.astype(float)")
    missing = s.isna().to_numpy()
    if new_data:
        pass  # new values may all be missing: the forecast reads the whole history
    elif missing.all():
        raise ValueError(f"{label} has only missing values (NaN); there is nothing to learn from.")
    elif missing.any() and len(s) - int(missing.sum()) < 2:
        raise ValueError(
            f"{label} has {len(s) - int(missing.sum())} observed value and "
            f"{int(missing.sum())} missing (NaN); LLMForecaster needs at least 2 "
            "observed values per series."
        )
    values = s.to_numpy(dtype=float, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        first = s.index[np.argmax(infinite)]
        raise ValueError(
            f"{label} has {int(infinite.sum())} infinite values, the first at {first!r}; "
            "mark them missing with y.replace([np.inf, -np.inf], np.nan) (patch mode "
            "masks missing values; the token and zero-shot modes need them imputed)."
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


def missing_value_refusal(mode, tokenizer, pretrained):
    """None where the forecaster masks missing values (NaN in ``y``): patch mode;
    else the mode that cannot, and why, for the error message. A pretrained adapter
    whose tokenizer turns out not to be a patch tokenizer is refused in ``fit``."""
    from sktime_llmforecast.tokenizers import PatchTokenizer, TokenizerSwitcher

    if mode == "zero-shot":
        return "mode='zero-shot' (LLMTime writes every value as digit text)"
    if tokenizer is None or isinstance(tokenizer, PatchTokenizer):
        return None
    if isinstance(tokenizer, str) and tokenizer == "auto":
        if pretrained is not None:
            return None  # the adapter's tokenizer (the shipped ones: patches)
        tokenizer = TokenizerSwitcher()  # what "auto" means without an adapter
    if isinstance(tokenizer, TokenizerSwitcher):
        others = sorted({type(c).__name__ for c in tokenizer.candidate_list()
                         if not isinstance(c, PatchTokenizer)})
        if not others:
            return None
        return (f"a tokenizer search with token candidates ({', '.join(others)}; "
                "tokenizer='auto' without an adapter searches them too)")
    return f"token mode ({type(tokenizer).__name__}: every value becomes tokens)"


def check_maskable(kind, series):
    """Refuse missing values (NaN) in the ``series`` a ``kind`` network would train
    on, unless it is a patch network, the only kind that masks them.

    Raises
    ------
    ValueError
        Naming the network kind and the fix.
    """
    if kind != "patch" and any(np.isnan(v).any() for v in series):
        raise ValueError(
            f"y has missing values (NaN), but this forecaster's {kind} network "
            "(its adapter's or pretrain's tokenizer) cannot mask them; only patch "
            "networks do. Impute first, e.g. y.interpolate(), or use a patch adapter."
        )


def check_future_steps(steps):
    """Refuse forecast steps (relative to each member's cutoff) at or before it.

    Raises
    ------
    ValueError
        If a step is not strictly after the cutoff.
    """
    for member_steps in steps:
        if (member_steps <= 0).any():
            raise ValueError(
                "LLMForecaster only forecasts the future: fh must be strictly after "
                f"the cutoff, but got relative steps {member_steps.tolist()}. "
                "In-sample (fitted) values are not supported."
            )
