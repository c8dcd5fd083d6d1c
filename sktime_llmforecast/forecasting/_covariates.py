"""Exogenous covariates ``X`` around the network: a ridge regression on ``X``, the
network forecasting what it leaves.

Each (member, column) series that the network would read (after the seasonal
adjustment) is regressed on the member's covariates and a linear time trend:
``y = a + c t + (X - mean(X)) b + r``, ridge-penalised on standardised columns (the
trend only keeps a trending series from lending its trend to the covariates; it is
not removed). The network reads and forecasts the
part ``X`` does not explain, ``y - (X - mean(X)) b`` (the level stays in it), and
every forecast, quantile and sample gets ``(X_future - mean(X)) b`` added at its
time before the season is put back. Only the forecast times need future covariates,
so recursive horizons need nothing more; past covariates shape the forecast through
the residual history the network reads.

Because the regression sits outside the network, every mode uses ``X`` the same way
(patch, token and zero-shot), and a pretrained adapter is read exactly as it was
trained: without ``X`` nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from sktime_llmforecast.forecasting._input_checks import check_X

#: ridge penalty on standardised covariates (relative to the rows fitted): enough
#: to keep collinear columns (e.g. Fourier terms with a constant) finite, little
#: shrinkage for a few hundred rows
RIDGE = 1.0


@dataclass(frozen=True)
class CovariateRegression:
    """Ridge coefficients of every (member, column) series on its member's ``X``.

    Attributes
    ----------
    columns : list
        The covariates' names.
    means : tuple of np.ndarray of shape (k,)
        Per member, the covariates' means over the rows fitted.
    coefs : tuple of np.ndarray of shape (k,)
        Per series (member by member, column by column), the coefficients in the
        covariates' own units.
    per_member : int
        Series per member (the columns of ``y``).
    """

    columns: list
    means: tuple
    coefs: tuple
    per_member: int

    @classmethod
    def fit(cls, series, x_memory, ridge=RIDGE):
        """Regress ``series`` (lists of 1-D arrays as ``SeriesMemory.series``: member
        by member, column by column; NaN left out) on ``x_memory``'s frames, whose
        rows are the same times."""
        per = len(series) // len(x_memory.frames)
        means, coefs = [], []
        for m, frame in enumerate(x_memory.frames):
            x = frame.to_numpy(dtype=float)
            mean = x.mean(axis=0)
            means.append(mean)
            for c in range(per):
                y = np.asarray(series[m * per + c], dtype=float)
                coefs.append(_ridge(x[-len(y):], y, mean, ridge))
        return cls(list(x_memory.columns), tuple(means), tuple(coefs), per)

    def effects(self, x_memory):
        """Per series, ``(X - mean) b`` over ``x_memory``'s rows."""
        out = []
        for m, frame in enumerate(x_memory.frames):
            x = frame.to_numpy(dtype=float) - self.means[m]
            out += [x @ self.coefs[m * self.per_member + c] for c in range(self.per_member)]
        return out

    def residuals(self, series, x_memory):
        """``series`` with the covariates' effect removed (aligned on the last rows)."""
        effects = self.effects(x_memory)
        return [s - e[-len(s):] for s, e in zip(series, effects)]

    def future_effects(self, X, members, times, total, steps):
        """``(n_series, total)`` effects at the forecast steps (0 at steps not
        asked for, which are never shown).

        ``X`` is the ``predict`` covariates (a frame, or a panel with the fit's
        member keys); ``members`` the member keys (None: one series); ``times`` and
        ``steps`` per member, the forecast times and their steps (1-based).
        """
        out = np.zeros((len(self.coefs), total))
        frames = _member_frames(X, members)
        for m, (frame, when, step) in enumerate(zip(frames, times, steps)):
            rows = self._columns_of(_rows_at(frame, when, members[m] if members else None))
            check_X(rows)  # NaN or inf at a forecast time: an error, not a NaN forecast
            x = rows.to_numpy(dtype=float) - self.means[m]
            for c in range(self.per_member):
                out[m * self.per_member + c, np.asarray(step) - 1] = \
                    x @ self.coefs[m * self.per_member + c]
        return out

    def _columns_of(self, rows):
        """``rows`` with the fitted covariate columns, in their order (one column on
        both sides: by position, as ``update`` takes a renamed univariate series)."""
        if len(self.columns) == 1 and rows.shape[1] == 1:
            return rows.set_axis(self.columns, axis=1)
        missing = [c for c in self.columns if c not in rows.columns]
        if missing:
            raise ValueError(
                f"X lacks the covariate column(s) {missing} that fit used; pass X with "
                f"the columns {self.columns}."
            )
        return rows[self.columns]


def covariate_rows(X, y):
    """The rows of ``X`` at ``y``'s (member, time) points, in ``y``'s order."""
    try:
        return X.loc[y.index]
    except KeyError:
        missing = y.index.difference(X.index)
        raise ValueError(
            f"X lacks {len(missing)} of y's time points, the first {missing[0]!r}; pass "
            "X at every time of y."
        ) from None


def shifted(paths, effect):
    """``paths`` (a ``Paths``) with ``effect`` ``(n_series, total)`` added to its
    mean, quantiles and samples."""
    def add(a):
        if a is None:
            return None
        e = effect[:, : a.shape[-1]]
        return a + (e if a.ndim == 2 else e[:, None])

    return replace(paths, mean=add(paths.mean), quantiles=add(paths.quantiles),
                   samples=add(paths.samples))


def _ridge(x, y, mean, ridge):
    """Coefficients of ``y ~ a + c t + (x - mean) b`` (rows where ``y`` is observed),
    ridge-penalised on standardised columns; constant columns get 0. The linear time
    trend ``t`` is estimated with ``b`` and not removed (the network keeps the trend):
    it keeps a trending series from lending its trend to covariates that happen to
    correlate with it."""
    ok = np.isfinite(y)
    t = np.arange(len(y), dtype=float)[ok]
    x, y = x[ok] - mean, y[ok]
    coef = np.zeros(x.shape[1])
    if len(y) < 3:
        return coef
    xc = x - x.mean(axis=0)
    sd = xc.std(axis=0)
    live = sd > 1e-12 * (np.abs(mean) + 1.0)
    if not live.any():
        return coef
    trend = (t - t.mean()) / t.std()
    z = np.column_stack([xc[:, live] / sd[live], trend])
    gram = z.T @ z + ridge * np.eye(z.shape[1])
    b = np.linalg.solve(gram, z.T @ (y - y.mean()))
    coef[live] = b[:-1] / sd[live]
    return coef


def _member_frames(X, members):
    """``X`` split into one time-indexed frame per member of ``members``."""
    if members is None:
        return [X.droplevel(list(range(X.index.nlevels - 1)))
                if isinstance(X.index, pd.MultiIndex) else X]
    levels = list(range(X.index.nlevels - 1))
    out = []
    for key in members:
        try:
            part = X.xs(key, level=levels if len(levels) > 1 else 0, drop_level=True)
        except KeyError:
            raise ValueError(
                f"X has no rows for panel member {key!r}; predict needs the covariates "
                "of every member at its forecast times."
            ) from None
        out.append(part)
    return out


def _rows_at(frame, times, key):
    """The rows of ``frame`` at ``times``; a ``ValueError`` names missing ones."""
    index = pd.Index(times)
    missing = index.difference(frame.index)
    if len(missing):
        who = "" if key is None else f" of member {key!r}"
        raise ValueError(
            f"X lacks the covariates{who} at {len(missing)} forecast time(s), the first "
            f"{missing[0]!r}; the forecaster was fitted with X, so predict needs X at "
            "every time it forecasts (pass X covering fh)."
        )
    return frame.loc[index]
