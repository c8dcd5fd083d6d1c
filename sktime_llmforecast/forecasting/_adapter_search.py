"""Successive halving over the shipped pretrained adapters, with the primary (patch)
adapter as the incumbent.

Every adapter is scored zero-shot on the user's validation windows (the cheap first
rung). Another adapter challenges the primary one only when its score is below
``CHALLENGE_MARGIN`` times the primary's; with no challenger the primary adapter is
kept. The primary adapter is scored first, on every window; another is decoded a
batch of windows at a time, the primary's hardest first, and stops as soon as its
errors so far rule the challenge out (its mean over all windows could no longer fall
below the margin): the rung's outcome on every window, at about half the decoding
where no adapter challenges. Otherwise the best two of the primary and the
challengers are fine-tuned as ``fit`` would fine-tune one, and a challenger again
has to beat the primary's fine-tuned score by the margin. Whichever adapter is kept,
``fit`` goes on as if it were fixed, its rolling-origin check included (a challenger
keeps its fine-tuned network when the check fine-tunes it on the representation it
was tuned on). Few validation windows are close to their series' end and to each
other, so a small win on them is mostly noise; the margin was chosen on series
outside the accuracy benchmark (``benchmarks/adapter_margin.py``).

Where the primary adapter is kept, the other adapters whose zero-shot score is at
most ``COMBINE_MARGIN`` times the primary's are its *partners*: ``fit`` fits each
zero-shot beside it, in the representation (values or differences) the primary
adapter's check chose, and forecasts with the equal-weight combination (the mean of
the point forecasts, the mixture of the distributions). An average cannot score as
the worst of its members where they differ, and the validation windows rarely tell
which adapter will forecast best (``benchmarks/combination_members.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from sktime_llmforecast.forecasting._tokenizer_search import (
    CANDIDATE_ERRORS,
    SCORE_COLUMNS,
    candidate_failure,
)
from sktime_llmforecast.nn import (
    MIN_OBSERVED,
    load_adapter_network,
    run_batched,
    spaced_validation_windows,
)

#: adapters fine-tuned after the zero-shot rung
FINALISTS = 2
#: another adapter is chosen over the primary one only when its validation MASE is
#: below this times the primary's (in each rung where both are scored): the best of
#: the margins tried on 93 dev folds outside the accuracy benchmark, where a 10 %
#: lower validation MASE also meant a lower test MASE in only 53 to 55 % of cases
#: (``benchmarks/adapter_margin.py``)
CHALLENGE_MARGIN = 0.5
#: validation windows the rungs score, at most (evenly spaced over all of them): the
#: smallest cap that gave each of 24 long synthetic series the zero-shot rung's
#: outcome at ``CHALLENGE_MARGIN`` of all 117, at a seventh of the cost
#: (``benchmarks/rung_windows.py``)
MAX_SCORED_WINDOWS = 16
#: where the primary adapter is kept, another adapter whose zero-shot score is at
#: most this times the primary's is combined with it (its forecasts, zero-shot,
#: averaged in with equal weight): of the thresholds tried (0.8 to 2 and
#: combining all), the one with the smallest largest shortfall against the best
#: fixed adapter over the 93 dev folds and the accuracy backtest together; chosen
#: with the backtest in view (``benchmarks/combination_members.py``)
COMBINE_MARGIN = 1.25


@dataclass(frozen=True)
class AdapterChoice:
    """What :func:`select_adapter` hands back.

    Attributes
    ----------
    network : BackboneNetwork or None
        The winner, fine-tuned; None when the primary adapter won (``fit`` then
        fits it as it fits a fixed adapter).
    plan : FitPlan
        The winner's plan (its adapter, tokenizer and architecture).
    result : TrainResult or None
        The winner's fine-tuning (None with ``network``).
    scores : pd.DataFrame
        One row per adapter and rung (``SCORE_COLUMNS`` plus ``adapter`` and
        ``windows``, the validation windows scored: fewer than the primary
        adapter's where a zero-shot score stopped early or met a non-finite
        forecast, 0 where the adapter failed; see :class:`RungScore`).
    partners : tuple of FitPlan
        Where the primary adapter won: the other adapters (their candidate plans)
        whose zero-shot score is at most ``COMBINE_MARGIN`` times the primary's,
        best first, to be fitted zero-shot and combined with it; empty otherwise.
    """

    network: object
    plan: object
    result: object
    scores: pd.DataFrame
    partners: tuple = ()


def select_adapter(plan, series, horizon, fine_tune):
    """Choose among ``plan.adapter_candidates`` by successive halving.

    Parameters
    ----------
    plan : FitPlan
        With at least two ``adapter_candidates``, the primary one first.
    series : list of np.ndarray
        The (seasonally adjusted) training series.
    horizon : int or None
        The largest step ``fh`` asks (None: every candidate's head); forecasts are
        scored on the first ``min(horizon, shortest head)`` steps.
    fine_tune : callable
        ``fine_tune(network, plan) -> TrainResult``: trains ``network`` in place as
        ``fit`` trains a network loaded from an adapter.

    Returns
    -------
    AdapterChoice or None
        ``network`` None: the primary adapter won (no challenger within the margin
        at the zero-shot rung, or none beat its fine-tuned score by it); ``fit``
        then fits it as if it were fixed, and its ``partners`` zero-shot beside
        it. Else a challenger, fine-tuned: ``fit``
        fits it as if fixed too, and keeps this network only when its check
        fine-tunes on the same representation. None when there is nothing to choose:
        fewer than two adapters can read ``series`` (token adapters cannot read
        missing values), or the series are too short for a validation split.

    Raises
    ------
    RuntimeError
        If no finalist could be fine-tuned and scored.
    torch.cuda.OutOfMemoryError or RuntimeError
        An out-of-memory error (``nn.is_out_of_memory``) of any candidate is
        re-raised: running out of memory is not a score.
    """
    gaps = any(np.isnan(s).any() for s in series)
    # only patch networks mask missing values
    cands = [c for c in plan.adapter_candidates if not gaps or c.kind == "patch"]
    if len(cands) < 2:
        return None
    steps = min([c.network.horizon for c in cands] + ([horizon] if horizon else []))
    windows = _scored_windows(series, cands, steps, plan.train.validation_fraction)
    if windows is None:
        return None
    rows, zero, nets, primary = [], {}, {}, None
    for i, cand in enumerate(cands):  # the primary first: the others race its score
        nets[i], score, error = _scored_load(cand, windows, primary)
        if i == 0:
            primary = score
        zero[i] = score.score
        rows.append(_row(i, cand, 0, 0, score, error))
    partners = tuple(cands[i] for i in sorted(zero, key=lambda i: (zero[i], i))
                     if i != 0 and nets[i] is not None and _partners(zero[i], zero[0]))
    contenders = [i for i in zero if nets[i] is not None
                  and (i == 0 or _challenges(zero[i], zero[0]))]
    if not set(contenders) - {0}:  # no challenger: the primary adapter, as if fixed
        return AdapterChoice(None, cands[0], None, _frame(rows), partners)
    finalists = sorted(contenders, key=lambda i: (zero[i], i))[:FINALISTS]
    nets = {i: nets[i] for i in finalists}  # the others' backbones are freed here
    results, final = {}, {}
    for i in finalists:
        error, epochs, score = "", 0, _FAILED
        try:
            results[i] = fine_tune(nets[i], cands[i])
            epochs = results[i].history["epochs_run"]
            score = rung_score(nets[i], windows, cands[i].device)
            error = "" if np.isfinite(score.score) else "non-finite forecasts"
        except CANDIDATE_ERRORS as exc:
            error = candidate_failure(exc)
        final[i] = score.score
        rows.append(_row(i, cands[i], 1, epochs, score, error))
    scores = _frame(rows)
    alive = [i for i in finalists if np.isfinite(final[i])]
    if not alive:
        raise RuntimeError(
            "No pretrained adapter could be fine-tuned and scored; errors: "
            + "; ".join(e for e in scores["error"] if e)
        )
    best = min(alive, key=lambda i: (final[i], i))
    if best == 0 or (0 in alive and not _challenges(final[best], final[0])):
        return AdapterChoice(None, cands[0], None, scores, partners)
    return AdapterChoice(nets[best], cands[best], results[best], scores)


def _challenges(score, primary):
    """Whether ``score`` beats the primary adapter's by ``CHALLENGE_MARGIN``."""
    return bool(np.isfinite(score) and score < CHALLENGE_MARGIN * primary)


def _partners(score, primary):
    """Whether a zero-shot ``score`` is within ``COMBINE_MARGIN`` of the primary's."""
    return bool(np.isfinite(score) and score <= COMBINE_MARGIN * primary)


def racing_margin():
    """The largest margin a zero-shot score is compared at: a raced score stops
    only once it could no longer be below it."""
    return max(CHALLENGE_MARGIN, COMBINE_MARGIN)


def _frame(rows):
    return pd.DataFrame(rows, columns=SCORE_COLUMNS + ["adapter", "windows"])


def no_choice_scores():
    """The scores of a search with nothing to choose (no rung ran): no rows, the
    columns of :class:`AdapterChoice`'s ``scores``."""
    return _frame([])


def _scored_load(cand, windows, against):
    """``(network or None, zero-shot RungScore, error)`` of one candidate, raced
    against the primary adapter's RungScore ``against`` (None: every window)."""
    try:
        net = load_adapter_network(cand.adapter.card, cand.adapter.path, cand.network,
                                   cand.seed, cand.device)
        score = rung_score(net, windows, cand.device, against)
    except CANDIDATE_ERRORS as exc:
        return None, _FAILED, candidate_failure(exc)
    return net, score, "" if np.isfinite(score.score) else "non-finite forecasts"


class RungScore(NamedTuple):
    """A rung's score of one adapter.

    Attributes
    ----------
    score : float
        The mean of :func:`window_errors` over every validation window; where a
        raced score stopped early, the primary adapter's score times this
        adapter's errors relative to the primary's on the windows scored (``inf``
        when a forecast is not finite).
    windows : int
        The windows scored.
    errors : np.ndarray
        Per window, its error (NaN where it was not scored); empty when the
        adapter failed before any window was scored.
    """

    score: float
    windows: int
    errors: np.ndarray


_FAILED = RungScore(math.inf, 0, np.array([]))


def rung_score(net, windows, device, against=None):
    """Score ``net`` on ``windows`` (``(context, mask, target, scale)``).

    With ``against`` (the primary adapter's RungScore, every window scored), the
    score races the primary's: the windows are decoded in :func:`racing_batches`
    (the primary's largest errors first), and decoding stops after the batch whose
    errors, summed, reach ``racing_margin()`` times the primary's score times the
    number of windows. Its mean over every window could then no longer be below
    that bar, and neither can the score given (the primary's score times the ratio
    of the two adapters' errors on the windows scored; where the primary's sum
    there is 0, the mean over them): whether ``net`` challenges the primary adapter,
    or is combined with it, is what scoring every window would say (up to the
    rounding of smaller batches).
    A non-finite forecast ends the scoring with ``inf``.

    Returns
    -------
    RungScore
    """
    n = len(windows[2])
    bar = racing_margin() * against.score if against is not None else math.inf
    batches = racing_batches(against.errors) if np.isfinite(bar) else [np.arange(n)]
    errors, scored = np.full(n, np.nan), np.zeros(n, dtype=bool)
    for idx in batches:
        errors[idx] = window_errors(net, *(part[idx] for part in windows), device)
        scored[idx] = True
        if not np.isfinite(errors[scored]).all():
            return RungScore(math.inf, int(scored.sum()), errors)
        if errors[scored].sum() >= bar * n:
            break
    done = int(scored.sum())
    if done == n:
        return RungScore(float(errors.mean()), n, errors)
    rival = float(against.errors[scored].sum())
    estimate = (against.score * errors[scored].sum() / rival if rival > 0
                else errors[scored].mean())
    return RungScore(float(estimate), done, errors)


def racing_batches(primary_errors):
    """Indices of the windows in the batches a raced score decodes them: the
    primary adapter's largest errors first (where a challenger's errors are
    largest too, so the sum that rules it out comes soonest), half the windows,
    then a quarter, then the rest (the rest at once where fewer than 4 are left: a
    batch of one window costs about as much to start as to decode)."""
    n = len(primary_errors)
    order = np.argsort(-np.asarray(primary_errors), kind="stable")
    half = (n + 1) // 2
    cuts = [half, half + (n - half + 1) // 2] if n - half >= 4 else [half]
    return [b for b in np.split(order, cuts) if len(b)]


def window_errors(net, context, mask, target, scale, device):
    """Per window, ``mean|point forecast - target| / scale``, shape ``(W,)``.

    The point forecast is the quantile head's median (patch networks) or greedy
    decoding (token networks), in original units; a network whose context is
    shorter than ``context`` reads its last values. Every entry is ``inf`` when a
    forecast is not finite.
    """
    net.eval()
    length = net.config.context_length
    steps = min(target.shape[1], net.config.horizon)
    out = run_batched(lambda c, m: net.predict(c, m, greedy=True, n_values=steps),
                      context[:, -length:], mask[:, -length:], device)
    point = out.mean
    levels = list(net.config.quantile_levels)
    if out.quantiles is not None and 0.5 in levels:
        point = out.quantiles[:, levels.index(0.5), :]
    point = point[:, : target.shape[1]]
    if not np.isfinite(point).all():
        return np.full(len(target), math.inf)
    err = np.abs(point - target)
    per_window = np.nanmean(err, axis=1) if np.isnan(err).any() else err.mean(axis=1)
    return per_window / scale


def _scored_windows(series, cands, steps, validation_fraction):
    """``(context, mask, target, scale)`` of the validation windows every candidate
    is scored on, or None when there are none.

    The windows are ``make_windows``' validation split at the longest candidate
    context (a shorter context reads their last values), at most
    ``MAX_SCORED_WINDOWS`` of them, evenly spaced; a window whose shortest-context
    slice has fewer than ``MIN_OBSERVED`` observed values is left out. ``scale``:
    the mean absolute one-step change of the window's whole series (MASE's
    in-sample scale), so every candidate is judged by the same yardstick.
    """
    longest = max(c.network.context_length for c in cands)
    shortest = min(c.network.context_length for c in cands)
    val = spaced_validation_windows(series, longest, steps, validation_fraction,
                                    MAX_SCORED_WINDOWS)
    if val is None:
        return None
    context, mask, target = val.batch(np.arange(len(val)))
    keep = mask[:, -shortest:].sum(axis=1) >= MIN_OBSERVED
    if not keep.any():
        return None
    scales = np.array([_naive_scale(s) for s in series])
    return context[keep], mask[keep], target[keep], scales[val.series][keep]


def _naive_scale(values):
    """Mean absolute one-step change of ``values`` (missing values left out),
    floored away from zero."""
    values = np.asarray(values, dtype=float)
    diffs = np.abs(np.diff(values))
    diffs = diffs[np.isfinite(diffs)]
    level = np.nanmax(np.abs(values)) if np.isfinite(values).any() else 0.0
    return max(float(diffs.mean()) if len(diffs) else 0.0, 1e-8 * (level + 1.0))


def _row(i, cand, rnd, epochs, score, error):
    return {"stage": "adapter", "round": rnd, "candidate": i,
            "tokenizer": repr(cand.tokenizer), "epochs": epochs,
            "score": score.score if np.isfinite(score.score) else math.inf,
            "error": error,
            "adapter": cand.adapter.path.name if cand.adapter.path is not None else None,
            "windows": score.windows}
