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
    cutoffs : tuple
        The folds' cutoffs (the last training time point of each).
    horizon : int
        Steps forecast after each cutoff.
    """

    scores: dict
    cutoffs: tuple
    horizon: int

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
    no fold fits in ``y``.

    ``forecaster`` is cloned for every fold with the check switched off, once as it
    is (fine-tuned) and once with ``finetune_epochs=0`` (zero-shot), so the folds
    forecast exactly as ``fit`` would.
    """
    times = y.index.get_level_values(-1).unique().sort_values()
    cuts = fold_cutoffs(len(times), horizon, n_folds)
    if not cuts:
        return None
    variants = {
        "zero-shot": forecaster.clone().set_params(finetune_check_folds=0,
                                                   finetune_epochs=0),
        "fine-tuned": forecaster.clone().set_params(finetune_check_folds=0),
    }
    steps = list(range(1, horizon + 1))
    errors = {name: [] for name in variants}
    for cut in cuts:
        past = y.index.get_level_values(-1).isin(times[:cut])
        ahead = y.index.get_level_values(-1).isin(times[cut:cut + horizon])
        x_past = x_ahead = None
        if X is not None:
            x_past = X[X.index.get_level_values(-1).isin(times[:cut])]
            x_ahead = X[X.index.get_level_values(-1).isin(times[cut:cut + horizon])]
        for name, variant in variants.items():
            fitted = variant.clone().fit(y[past], X=x_past, fh=steps)
            forecast = fitted.predict(fh=steps, X=x_ahead)
            errors[name].append(scaled_error(y[past], y[ahead], forecast))
    return FinetuneCheck(
        scores={name: float(np.mean(e)) for name, e in errors.items()},
        cutoffs=tuple(times[c - 1] for c in cuts), horizon=horizon)


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
    return float(np.nanmean((err / scale).to_numpy(dtype=float)))


def _frame(y):
    return y.to_frame() if isinstance(y, pd.Series) else y
