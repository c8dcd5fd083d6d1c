"""Keep fine-tuning only where it forecasts better: a rolling-origin check inside the
training data.

A pretrained adapter forecasts a series zero-shot; fine-tuning its head on that one
series helps some series and hurts others, and the validation windows that early
stopping reads are too few and too close to tell which. The check refits the
forecaster at ``n_folds`` earlier cutoffs, once fine-tuned and once zero-shot,
forecasts the ``horizon`` values after each cutoff, and scores both by MASE (each
member and column scaled by the mean absolute one-step change of its training
values). ``fit`` then fine-tunes only when the fine-tuned forecasts scored lower.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sktime_llmforecast.forecasting.plan import resolve_plan

#: a fold's training part holds at least this many horizons of values
MIN_TRAIN_HORIZONS = 3


@dataclass(frozen=True)
class FinetuneCheck:
    """What the rolling-origin check measured.

    Attributes
    ----------
    scores : dict
        ``{"zero-shot": MASE, "fine-tuned": MASE}``, each the mean over the folds.
    held_out : tuple of int
        Per fold, the values after its cutoff (counted from each member's end).
    """

    scores: dict
    held_out: tuple

    @property
    def fine_tune(self):
        """Whether fine-tuning forecast better (ties keep the pretrained model)."""
        return self.scores["fine-tuned"] < self.scores["zero-shot"]


def checked_plan(forecaster, plan, y, X, asked, after_pretrain):
    """``(plan, scores)``: ``plan`` as ``fit`` resolved it, or, where the check ran
    and the zero-shot forecasts scored lower, the same settings with
    ``finetune_epochs=0``; ``scores`` as :attr:`FinetuneCheck.scores` (None: no
    check ran).

    The check runs when ``fit`` starts from a pretrained adapter (not ``pretrain``'s
    network, ``after_pretrain``) and would fine-tune it, with
    ``finetune_check_folds > 0``, forecasting ``asked`` steps (None: the adapter's
    horizon) after each cutoff.
    """
    folds = forecaster.finetune_check_folds
    if (folds == 0 or after_pretrain or plan.adapter is None
            or plan.loss_switcher is None or plan.finetune_epochs == 0):
        return plan, None
    check = run_finetune_check(forecaster, y, X, asked or plan.network.horizon, folds)
    if check is None:
        return plan, None
    if not check.fine_tune:  # the pretrained model forecast better
        plan = resolve_plan({**forecaster.get_params(deep=False), "finetune_epochs": 0},
                            asked)
    return plan, dict(check.scores)


def fold_cutoffs(n_times, horizon, n_folds):
    """Positions (training lengths) of the rolling origins: the last ``n_folds``
    non-overlapping blocks of ``horizon`` values are forecast, each from all values
    before it; folds whose training part is shorter than ``MIN_TRAIN_HORIZONS``
    horizons are left out (a short series may have none)."""
    cuts = [n_times - j * horizon for j in range(n_folds, 0, -1)]
    return [c for c in cuts if c >= MIN_TRAIN_HORIZONS * horizon]


def run_finetune_check(forecaster, y, X, horizon, n_folds):
    """:class:`FinetuneCheck` of ``forecaster`` on ``y`` (and ``X``), or None when
    no fold fits in ``y`` or none could be scored.

    ``forecaster`` is cloned for every fold with the check switched off, once as it
    is (fine-tuned) and once with ``finetune_epochs=0`` (zero-shot), so the folds
    forecast exactly as ``fit`` would. Each panel member is cut at its own end (a
    member that ends early is forecast from its own last values), and folds are
    placed by the shortest member. A fold whose data a fit rejects (e.g. a part
    that is mostly missing values) or whose test block holds no value is skipped.
    """
    from_end = _positions_from_end(y)
    n_shortest = len(y) if not isinstance(y.index, pd.MultiIndex) else int(
        y.groupby(level=list(range(y.index.nlevels - 1))).size().min())
    held_out = [n_shortest - c for c in fold_cutoffs(n_shortest, horizon, n_folds)]
    variants = {
        "zero-shot": forecaster.clone().set_params(finetune_check_folds=0,
                                                   finetune_epochs=0),
        "fine-tuned": forecaster.clone().set_params(finetune_check_folds=0),
    }
    steps = list(range(1, horizon + 1))
    errors, used = {name: [] for name in variants}, []
    for back in held_out:
        past, ahead = from_end >= back, (from_end < back) & (from_end >= back - horizon)
        x_past = None if X is None else X[X.index.isin(y.index[past])]
        x_ahead = None if X is None else X[X.index.isin(y.index[ahead])]
        try:
            fold = {name: scaled_error(y[past], y[ahead], variant.clone().fit(
                        y[past], X=x_past, fh=steps).predict(fh=steps, X=x_ahead))
                    for name, variant in variants.items()}
        except ValueError:  # this fold's data is not forecastable; the full y may be
            continue
        if all(np.isfinite(v) for v in fold.values()):
            for name, value in fold.items():
                errors[name].append(value)
            used.append(back)
    if not used:
        return None
    return FinetuneCheck(scores={name: float(np.mean(e)) for name, e in errors.items()},
                         held_out=tuple(used))


def _positions_from_end(y):
    """Per row of ``y``: how many rows of its member (series) follow it."""
    if isinstance(y.index, pd.MultiIndex):
        members = list(range(y.index.nlevels - 1))
        return y.groupby(level=members).cumcount(ascending=False).to_numpy()
    return np.arange(len(y))[::-1]


def scaled_error(y_train, y_test, forecast):
    """Mean absolute error of ``forecast`` on ``y_test``, each member and column
    scaled by the mean absolute one-step change of its ``y_train`` values (MASE
    without seasonality); missing values are skipped."""
    train, test = _frame(y_train), _frame(y_test)
    pred = _frame(forecast).reindex(index=test.index, columns=test.columns)
    err = (pred - test).abs()
    if isinstance(train.index, pd.MultiIndex):  # per member: its own steps and scale
        members = list(range(train.index.nlevels - 1))
        step = train.groupby(level=members).diff().abs()
        err, step, level = (frame.groupby(level=members)
                            for frame in (err, step, train.abs()))
    else:
        step, level = train.diff().abs(), train.abs()
    err, scale, level = err.mean(), step.mean(), level.mean()
    # a constant training part: scale by its level instead (else by 1)
    scale = scale.where(scale > 0, level.where(level > 0, 1.0))
    values = (err / scale).to_numpy(dtype=float)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def _frame(y):
    return y.to_frame() if isinstance(y, pd.Series) else y
