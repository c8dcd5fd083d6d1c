"""Shared sktime plumbing of the numeric tokenizers.

A tokenizer implements three small hooks per column of values (numpy, 1-D):

* ``_fit_column(values) -> dict``: the scaling learnt in ``fit``;
* ``_encode_column(values, scaling) -> dict[str, np.ndarray]``: named token columns;
* ``_decode_column(fields, scaling) -> np.ndarray``: the exact inverse.

This base turns them into an sktime ``BaseTransformer`` that handles univariate and
multivariate input natively (columns ``"{column}__{field}"`` when there are several
input columns), keeps the time index, and gives back a ``pd.Series`` from
``inverse_transform`` when ``fit`` saw a ``pd.Series``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sktime.transformations.base import BaseTransformer

_SEP = "__"


class BaseNumericTokenizer(BaseTransformer):
    """Base class of the numeric tokenizers (not for direct use)."""

    _tags = {
        "authors": ["sktime-llmforecast developers"],
        "maintainers": ["sktime-llmforecast developers"],
        "python_dependencies": ["torch"],
        "scitype:transform-input": "Series",
        "scitype:transform-output": "Series",
        "scitype:transform-labels": "None",
        "scitype:instancewise": True,
        "X_inner_mtype": "pd.DataFrame",
        "y_inner_mtype": "None",
        "capability:inverse_transform": True,
        "capability:inverse_transform:exact": True,
        "capability:multivariate": True,
        "capability:missing_values": False,
        "fit_is_empty": False,
        "transform-returns-same-time-index": True,
    }

    # ---------------------------------------------------------------- public glue
    def fit(self, X, y=None):
        """Fit the scaling to ``X``; see ``sktime``'s ``BaseTransformer.fit``."""
        super().fit(X, y)  # resets non-parameter attributes first
        self._fitted_on_series = isinstance(X, pd.Series)
        self._fitted_series_name = X.name if isinstance(X, pd.Series) else None
        return self

    def inverse_transform(self, X, y=None):
        """Decode tokens to values; a ``pd.Series`` if ``fit`` saw a ``pd.Series``."""
        out = super().inverse_transform(X, y)
        if (
            getattr(self, "_fitted_on_series", False)
            and isinstance(out, pd.DataFrame)
            and out.shape[1] == 1
        ):
            out = out.iloc[:, 0].rename(self._fitted_series_name)
        return out

    # ---------------------------------------------------------------- sktime hooks
    def _fit(self, X, y=None):
        self.columns_ = list(X.columns)
        self.scaling_ = {
            col: self._fit_column(self._column_values(X[col])) for col in self.columns_
        }
        return self

    def _transform(self, X, y=None):
        self._check_columns(X.columns)
        out = {}
        for col in self.columns_:
            fields = self._encode_column(
                self._column_values(X[col]), self.scaling_[col]
            )
            for field, arr in fields.items():
                out[self._out_name(col, field)] = arr
        return pd.DataFrame(out, index=X.index)

    def _inverse_transform(self, X, y=None):
        expected = [
            self._out_name(col, field)
            for col in self.columns_
            for field in self._field_names()
        ]
        if list(X.columns) != expected and X.shape[1] == len(expected):
            # numpy round trips lose column names; the order is still transform's
            X = X.set_axis(expected, axis=1)
        out = {}
        for col in self.columns_:
            fields = {}
            for field in self._field_names():
                name = self._out_name(col, field)
                if name not in X.columns:
                    raise ValueError(
                        f"{type(self).__name__}.inverse_transform needs column "
                        f"{name!r}, as produced by transform; got {list(X.columns)}."
                    )
                fields[field] = X[name].to_numpy()
            out[col] = self._decode_column(fields, self.scaling_[col])
        return pd.DataFrame(out, index=X.index)

    # ---------------------------------------------------------------- helpers
    def _out_name(self, col, field):
        return field if len(self.columns_) == 1 else f"{col}{_SEP}{field}"

    def _check_columns(self, columns):
        if list(columns) != self.columns_:
            raise ValueError(
                f"{type(self).__name__} was fitted on columns {self.columns_}, but "
                f"transform got {list(columns)}; transform data with the same columns."
            )

    def _column_values(self, series):
        """Float values of one column; NaN and inf are refused by default."""
        return _finite_values(series, type(self).__name__)

    # ---------------------------------------------------------------- to implement
    def _field_names(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_column(self, values):  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode_column(self, values, scaling):  # pragma: no cover - abstract
        raise NotImplementedError

    def _decode_column(self, fields, scaling):  # pragma: no cover - abstract
        raise NotImplementedError


def _finite_values(series, owner):
    values = np.asarray(series, dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"{owner} got NaN or infinite values. Missing values are not tokenised "
            "(no silent fill); impute them first, e.g. with "
            "sktime.transformations.series.impute.Imputer."
        )
    return values
