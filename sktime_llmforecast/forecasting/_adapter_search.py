"""Successive halving over the shipped pretrained adapters, with the primary (patch)
adapter as the incumbent.

Every adapter is scored zero-shot on the user's validation windows (the cheap first
rung). Another adapter challenges the primary one only when its score is below
``CHALLENGE_MARGIN`` times the primary's; with no challenger the primary adapter is
kept. Otherwise the best two of the primary and the challengers are fine-tuned as
``fit`` would fine-tune one, and a challenger again has to beat the primary's
fine-tuned score by the margin. Whichever adapter is kept, ``fit`` goes on as if it
were fixed, its rolling-origin check included (a challenger keeps its fine-tuned
network when the check fine-tunes it on the representation it was tuned on). Few
validation windows are close to their series' end and to each other, so a small win
on them is mostly noise; the margin was chosen on series outside the accuracy
benchmark (``benchmarks/adapter_margin.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
        One row per adapter and rung (``SCORE_COLUMNS`` plus ``adapter``).
    """

    network: object
    plan: object
    result: object
    scores: pd.DataFrame


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
        then fits it as if it were fixed. Else a challenger, fine-tuned: ``fit``
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
    rows, zero, nets = [], {}, {}
    for i, cand in enumerate(cands):
        nets[i], zero[i], error = _scored_load(cand, windows)
        rows.append(_row(i, cand, 0, 0, zero[i], error))
    contenders = [i for i in zero if nets[i] is not None
                  and (i == 0 or _challenges(zero[i], zero[0]))]
    if not set(contenders) - {0}:  # no challenger: the primary adapter, as if fixed
        return AdapterChoice(None, cands[0], None, _frame(rows))
    finalists = sorted(contenders, key=lambda i: (zero[i], i))[:FINALISTS]
    nets = {i: nets[i] for i in finalists}  # the others' backbones are freed here
    results, final = {}, {}
    for i in finalists:
        error, epochs = "", 0
        try:
            results[i] = fine_tune(nets[i], cands[i])
            epochs = results[i].history["epochs_run"]
            final[i] = forecast_mase(nets[i], *windows, cands[i].device)
            error = "" if np.isfinite(final[i]) else "non-finite forecasts"
        except CANDIDATE_ERRORS as exc:
            final[i], error = math.inf, candidate_failure(exc)
        rows.append(_row(i, cands[i], 1, epochs, final[i], error))
    scores = _frame(rows)
    alive = [i for i in finalists if np.isfinite(final[i])]
    if not alive:
        raise RuntimeError(
            "No pretrained adapter could be fine-tuned and scored; errors: "
            + "; ".join(e for e in scores["error"] if e)
        )
    best = min(alive, key=lambda i: (final[i], i))
    if best == 0 or (0 in alive and not _challenges(final[best], final[0])):
        return AdapterChoice(None, cands[0], None, scores)
    return AdapterChoice(nets[best], cands[best], results[best], scores)


def _challenges(score, primary):
    """Whether ``score`` beats the primary adapter's by ``CHALLENGE_MARGIN``."""
    return bool(np.isfinite(score) and score < CHALLENGE_MARGIN * primary)


def _frame(rows):
    return pd.DataFrame(rows, columns=SCORE_COLUMNS + ["adapter"])


def _scored_load(cand, windows):
    """``(network or None, zero-shot score, error)`` of one candidate."""
    try:
        net = load_adapter_network(cand.adapter.card, cand.adapter.path, cand.network,
                                   cand.seed, cand.device)
        score = forecast_mase(net, *windows, cand.device)
    except CANDIDATE_ERRORS as exc:
        return None, math.inf, candidate_failure(exc)
    return net, score, "" if np.isfinite(score) else "non-finite forecasts"


def forecast_mase(net, context, mask, target, scale, device):
    """Mean over windows of :func:`window_errors` (``inf`` when a forecast is not
    finite)."""
    return float(np.mean(window_errors(net, context, mask, target, scale, device)))


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
            "score": score if np.isfinite(score) else math.inf, "error": error,
            "adapter": cand.adapter.path.name if cand.adapter.path is not None else None}
