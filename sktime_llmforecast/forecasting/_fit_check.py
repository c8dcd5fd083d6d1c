"""Choose the representation and whether to fine-tune on rolling origins inside the
training data.

A pretrained adapter forecasts a series zero-shot; fine-tuning its head on that one
series helps some series and hurts others, and reading first differences instead of
values (``difference``) helps trending series and hurts cyclical ones. The
validation windows that early stopping reads are too few and too close to tell which.
The check refits the forecaster at earlier cutoffs, forecasts the ``horizon``
values after each, and scores every candidate by MASE (each member and column
scaled by the mean absolute one-step change of its training values):

1. with ``difference="auto"``, zero-shot on values and zero-shot on differences at
   up to ``DIFFERENCE_FOLDS * n_folds`` cutoffs, those with enough history before
   them (zero-shot fits are cheap, and one or two folds are noisy to choose on);
   differences are chosen when the geometric mean over the folds of their MASE
   over the values' MASE is below ``DIFFERENCE_MARGIN``;
2. where ``fit`` would fine-tune, fine-tuned in that representation at the last
   ``n_folds`` cutoffs; ``fit`` fine-tunes only when it scored a lower mean MASE
   there than zero-shot in the same representation.

The rule of step 1 (folds, margin, geometric mean) was chosen on zero-shot
forecasts of 8 quarterly macro series outside the accuracy benchmark and of the
benchmark's own series (``benchmarks/difference_rule.py``; docs/benchmarks.md,
"Values or differences").
"""

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from sktime_llmforecast.forecasting._fitted_paths import shared_network_predictions
from sktime_llmforecast.forecasting.plan import resolve_plan

#: a fold's training part holds at least this many horizons of values
MIN_TRAIN_HORIZONS = 3
#: the representation is chosen on this many times ``n_folds`` zero-shot folds
DIFFERENCE_FOLDS = 2
#: differences are chosen when their MASE over the values' is below this
#: (geometric mean over the folds): values are kept unless differences clearly win
DIFFERENCE_MARGIN = 0.9
#: scores within this relative distance are a tie: the zero-shot folds are decoded
#: in one batch and the fine-tuned ones alone, and batches round differently
TIE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class FitCheck:
    """What the rolling-origin check measured.

    Attributes
    ----------
    scores : dict
        Mean MASE per candidate over the last ``n_folds`` folds (the same folds for
        every candidate), keyed by :func:`label`, e.g.
        ``{"values, zero-shot": 0.8, "differences, zero-shot": 0.7,
        "differences, fine-tuned": 0.75}``; with two representations also
        ``"differences / values"``, the geometric mean over all the zero-shot folds
        of the differences' MASE over the values'.
    held_out : tuple of int
        Per fold of ``scores``, the values after its cutoff (counted from each
        member's end).
    difference : bool
        Whether the network should read differences.
    fine_tune : bool
        Whether fine-tuning scored lower by more than ``TIE_TOLERANCE`` (ties keep
        the pretrained model).
    """

    scores: dict
    held_out: tuple
    difference: bool
    fine_tune: bool


def label(difference, fine_tuned):
    """The name of a candidate in :attr:`FitCheck.scores`."""
    return (f"{'differences' if difference else 'values'}, "
            f"{'fine-tuned' if fine_tuned else 'zero-shot'}")


def checked_plan(forecaster, plan, y, X, asked, after_pretrain):
    """``(plan, scores)``: ``plan`` as ``fit`` resolved it, with the check's choices
    where it ran: ``difference`` set (``difference="auto"``), and, where the
    zero-shot forecasts scored lower, the same settings with ``finetune_epochs=0``;
    ``scores`` as :attr:`FitCheck.scores` (None: no check ran; ``"auto"`` then
    reads values).

    The check runs when ``fit`` starts from one pretrained adapter (not
    ``pretrain``'s network, ``after_pretrain``; not a plan that still holds several
    shipped adapters: ``fit`` checks the one ``select_adapter`` keeps) with
    ``check_folds > 0``, and there is a choice: ``difference="auto"``, or a
    fine-tune (``finetune_epochs > 0``). Each fold forecasts ``asked`` steps (None:
    the adapter's horizon).
    """
    fine_tunes = plan.loss_switcher is not None and plan.finetune_epochs > 0
    if (forecaster.check_folds == 0 or after_pretrain or plan.adapter is None
            or plan.adapter_candidates or not (fine_tunes or plan.choose_difference)):
        return plan, None
    representations = (False, True) if plan.choose_difference else (plan.difference,)
    check = run_fit_check(forecaster, y, X, asked or plan.network.horizon,
                          forecaster.check_folds, representations, fine_tunes)
    if check is None:
        return plan, None
    if fine_tunes and not check.fine_tune:  # the pretrained model forecast better
        plan = resolve_plan({**forecaster.get_params(deep=False), "finetune_epochs": 0},
                            asked)
    return replace(plan, difference=check.difference, choose_difference=False), \
        dict(check.scores)


def fold_cutoffs(n_times, horizon, n_folds):
    """Positions (training lengths) of the rolling origins: the last ``n_folds``
    non-overlapping blocks of ``horizon`` values are forecast, each from all values
    before it; folds whose training part is shorter than ``MIN_TRAIN_HORIZONS``
    horizons are left out (a short series may have none)."""
    cuts = [n_times - j * horizon for j in range(n_folds, 0, -1)]
    return [c for c in cuts if c >= MIN_TRAIN_HORIZONS * horizon]


def run_fit_check(forecaster, y, X, horizon, n_folds, representations=(False,),
                  fine_tunes=True):
    """:class:`FitCheck` of ``forecaster`` on ``y`` (and ``X``), or None when no
    fold fits in ``y`` or none could be scored.

    ``forecaster`` is cloned for every fold and candidate with the check switched
    off: zero-shot (``finetune_epochs=0``) in each of ``representations``
    (``difference`` False and/or True; two: at ``DIFFERENCE_FOLDS * n_folds``
    folds), then, with ``fine_tunes``, as it is (fine-tuned) in the chosen one at
    the last ``n_folds`` folds, so the folds forecast exactly as ``fit`` would.
    Each panel member is cut at its own end (a member that ends early is forecast
    from its own last values), and folds are placed by the shortest member. A fold
    whose data a fit rejects (e.g. a part that is mostly missing values) or whose
    test block holds no value is skipped for every candidate.
    """
    from_end = _positions_from_end(y)
    n_shortest = len(y) if not isinstance(y.index, pd.MultiIndex) else int(
        y.groupby(level=list(range(y.index.nlevels - 1))).size().min())
    wide = DIFFERENCE_FOLDS * n_folds if len(representations) > 1 else n_folds
    folds = [n_shortest - c for c in fold_cutoffs(n_shortest, horizon, wide)]
    base = forecaster.clone().set_params(check_folds=0)
    # zero-shot point forecasts do not depend on the interval calibration, which
    # validation_fraction=0 skips (on long series most of a zero-shot fit's time)
    zero_shot = {d: base.clone().set_params(finetune_epochs=0, difference=d,
                                            validation_fraction=0.0)
                 for d in representations}
    errors = _fold_errors({label(d, False): f for d, f in zero_shot.items()},
                          y, X, from_end, folds, horizon, shared=True)
    if not errors:
        return None
    extra, difference = {}, representations[0]
    if len(representations) > 1:
        ratio = difference_ratio(errors)
        extra["differences / values"] = ratio
        difference = bool(ratio < DIFFERENCE_MARGIN)
    errors = {back: errors[back] for back in sorted(errors)[:n_folds][::-1]}  # the last
    tuned, zero = label(difference, True), label(difference, False)
    if fine_tunes:
        more = _fold_errors({tuned: base.clone().set_params(difference=difference)},
                            y, X, from_end, list(errors), horizon,
                            unchanged={back: e[zero] for back, e in errors.items()})
        if more:  # else no fine-tuned fold scored: keep the representation, fine-tune
            errors = {back: {**errors[back], **more[back]} for back in more}
    names = list(next(iter(errors.values())))
    scores = {name: float(np.mean([e[name] for e in errors.values()])) for name in names}
    fine_tune = (scores[tuned] < scores[zero] * (1 - TIE_TOLERANCE) if tuned in scores
                 else fine_tunes)
    return FitCheck(scores={**scores, **extra}, held_out=tuple(sorted(errors, reverse=True)),
                    difference=difference, fine_tune=fine_tune)


def difference_ratio(errors):
    """Geometric mean over the folds of ``errors`` (``{fold: {label: MASE}}``) of the
    zero-shot MASE on differences over that on values (folds where either is 0 are
    left out; none left: 1.0)."""
    ratios = [e[label(True, False)] / e[label(False, False)] for e in errors.values()
              if e[label(True, False)] > 0 and e[label(False, False)] > 0]
    return float(np.exp(np.mean(np.log(ratios)))) if ratios else 1.0


def _fold_errors(candidates, y, X, from_end, folds, horizon, shared=False,
                 unchanged=None):
    """``{fold: {name: MASE}}`` of each of ``candidates`` (name -> forecaster) fitted
    before and scored on the ``horizon`` values after each fold's cutoff; folds a
    fit rejects or without a value to score are left out.

    ``shared``: the candidates are zero-shot forecasters of one adapter (one
    network at every fold), so all their folds' forecasts are decoded in one batch
    (``shared_network_predictions``) instead of one decode per fold and candidate,
    and the clones waiting for it hold one network object (a network that trains
    its backbone would otherwise hold a private copy per clone).
    ``unchanged``: ``{fold: MASE}`` of the zero-shot model; a candidate whose
    fine-tune kept the pretrained weights there (``best_epoch == -1``) forecasts as
    that model does, so it gets its score without a second decode (for a token
    network, a second decode would differ only by its random draws).
    """
    steps = list(range(1, horizon + 1))
    scored, waiting, kept = {}, {}, {}  # (fold, name) -> forecast; (fitted, X); MASE
    for back in folds:
        past = from_end >= back
        x_past, x_ahead = _x_parts(X, y, past, _ahead(from_end, back, horizon))
        try:
            fold = {(back, name): candidate.clone().fit(y[past], X=x_past, fh=steps)
                    for name, candidate in candidates.items()}
            same = {key: unchanged[back] for key, f in fold.items()
                    if unchanged is not None and back in unchanged
                    and f.history_["best_epoch"] == -1}
            if not shared:
                fold = {key: f.predict(fh=steps, X=x_ahead) for key, f in fold.items()
                        if key not in same}
        except ValueError:  # this fold's data is not forecastable; the full y may be
            continue
        kept.update(same)
        if shared:  # one network object for all: the clones' copies are freed
            for f in fold.values():
                f.network_ = next((g.network_ for g, _ in waiting.values()
                                   if g.network_.config == f.network_.config), f.network_)
            waiting.update({key: (f, x_ahead) for key, f in fold.items()})
        else:
            scored.update(fold)
    if waiting:
        keys = list(waiting)
        scored.update(zip(keys, shared_network_predictions(
            [waiting[k][0] for k in keys], steps, [waiting[k][1] for k in keys])))
    out = {}
    for (back, name), forecast in scored.items():
        out.setdefault(back, {})[name] = scaled_error(
            y[from_end >= back], y[_ahead(from_end, back, horizon)], forecast)
    for (back, name), error in kept.items():
        out.setdefault(back, {})[name] = error
    return {back: fold for back, fold in out.items()
            if all(np.isfinite(v) for v in fold.values())}


def _ahead(from_end, back, horizon):
    """Rows of the ``horizon`` values after the cutoff ``back`` rows before the end."""
    return (from_end < back) & (from_end >= back - horizon)


def _x_parts(X, y, past, ahead):
    """``X`` at the rows of ``y`` in ``past`` and in ``ahead`` (None without ``X``)."""
    if X is None:
        return None, None
    return X[X.index.isin(y.index[past])], X[X.index.isin(y.index[ahead])]


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
