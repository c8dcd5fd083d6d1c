"""Successive halving over the shipped pretrained adapters: every adapter is scored
zero-shot on the user's validation windows (the cheap first rung), the best two are
fine-tuned as ``fit`` would fine-tune one, and the better of those is kept."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sktime_llmforecast.forecasting._tokenizer_search import SCORE_COLUMNS
from sktime_llmforecast.nn import MIN_OBSERVED, load_adapter_network, make_windows, run_batched

#: adapters fine-tuned after the zero-shot rung
FINALISTS = 2
#: validation windows the rungs score, at most (evenly spaced over all of them)
MAX_SCORED_WINDOWS = 256


@dataclass(frozen=True)
class AdapterChoice:
    """What :func:`select_adapter` hands back.

    Attributes
    ----------
    network : BackboneNetwork
        The winner, fine-tuned.
    plan : FitPlan
        The winner's plan (its adapter, tokenizer and architecture).
    result : TrainResult
        The winner's fine-tuning.
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
        With at least two ``adapter_candidates``.
    series : list of np.ndarray
        The (seasonally adjusted) training series.
    horizon : int or None
        The steps ``fh`` asks (None: every candidate's head); forecasts are scored
        on the first ``min(horizon, shortest head)`` steps.
    fine_tune : callable
        ``fine_tune(network, plan) -> TrainResult``: trains ``network`` in place as
        ``fit`` trains a network loaded from an adapter.

    Returns
    -------
    AdapterChoice

    Raises
    ------
    RuntimeError
        If no candidate could be loaded, fine-tuned and scored.
    """
    gaps = any(np.isnan(s).any() for s in series)
    # only patch networks mask missing values
    cands = [c for c in plan.adapter_candidates if not gaps or c.kind == "patch"]
    steps = min([c.network.horizon for c in cands] + ([horizon] if horizon else []))
    windows = _scored_windows(series, cands, steps, plan.train.validation_fraction)
    rows, nets = [], {}
    for i, cand in enumerate(cands):
        net, error = None, ""
        try:
            net = load_adapter_network(cand.adapter.card, cand.adapter.path, cand.network,
                                       cand.seed, cand.device)
            score = forecast_mase(net, *windows, cand.device)
        except (ValueError, RuntimeError, FloatingPointError) as exc:
            score, error = math.inf, f"{type(exc).__name__}: {exc}"
        rows.append(_row(i, cand, 0, 0, score, error))
        nets[i] = net
    ranked = sorted(range(len(cands)), key=lambda i: (rows[i]["score"], i))
    finalists = [i for i in ranked if nets[i] is not None][:FINALISTS]
    for i in set(nets) - set(finalists):
        nets.pop(i)  # free the backbones of the adapters out of the race
    results, final = {}, {}
    for i in finalists:
        error = ""
        try:
            results[i] = fine_tune(nets[i], cands[i])
            score = forecast_mase(nets[i], *windows, cands[i].device)
            epochs = results[i].history["epochs_run"]
        except (ValueError, RuntimeError, FloatingPointError) as exc:
            score, error, epochs = math.inf, f"{type(exc).__name__}: {exc}", 0
        final[i] = score
        rows.append(_row(i, cands[i], 1, epochs, score, error))
    scores = pd.DataFrame(rows, columns=SCORE_COLUMNS + ["adapter"])
    alive = [i for i in finalists if np.isfinite(final[i])]
    if not alive:
        raise RuntimeError(
            "No pretrained adapter could be fine-tuned and scored; errors: "
            + "; ".join(e for e in scores["error"] if e)
        )
    best = min(alive, key=lambda i: (final[i], finalists.index(i)))
    return AdapterChoice(nets[best], cands[best], results[best], scores)


def forecast_mase(net, context, mask, target, scale, device):
    """Mean over windows of ``mean|point forecast - target| / scale``.

    The point forecast is the quantile head's median (patch networks) or greedy
    decoding (token networks), in original units; a network whose context is
    shorter than ``context`` reads its last values. ``inf`` when a forecast is not
    finite.
    """
    length = net.config.context_length
    out = run_batched(lambda c, m: net.predict(c, m, greedy=True),
                      context[:, -length:], mask[:, -length:], device)
    point = out.mean
    levels = list(net.config.quantile_levels)
    if out.quantiles is not None and 0.5 in levels:
        point = out.quantiles[:, levels.index(0.5), :]
    point = point[:, : target.shape[1]]
    if not np.isfinite(point).all():
        return math.inf
    err = np.abs(point - target)
    per_window = np.nanmean(err, axis=1) if np.isnan(err).any() else err.mean(axis=1)
    return float(np.mean(per_window / scale))


def _scored_windows(series, cands, steps, validation_fraction):
    """``(context, mask, target, scale)`` of the validation windows every candidate
    is scored on: the last windows of each series (``make_windows``' split, at
    the longest candidate context; the training windows when there is no split),
    at most ``MAX_SCORED_WINDOWS``. ``scale``: each window's mean absolute
    one-step change over the shortest candidate context, so every candidate is
    judged by the same yardstick."""
    longest = max(c.network.context_length for c in cands)
    shortest = min(c.network.context_length for c in cands)
    train, val = make_windows(series, longest, steps, validation_fraction)
    judged = val if val is not None else train
    idx = np.arange(len(judged))
    if len(idx) > MAX_SCORED_WINDOWS:
        idx = np.unique(np.linspace(0, len(idx) - 1, MAX_SCORED_WINDOWS).round().astype(int))
    context, mask, target = judged.batch(idx)
    tail, seen = context[:, -shortest:], mask[:, -shortest:]
    keep = seen.sum(axis=1) >= MIN_OBSERVED  # every candidate reads enough history
    both = seen[:, 1:] & seen[:, :-1]
    naive = (np.abs(np.diff(tail, axis=1)) * both).sum(1) / np.maximum(both.sum(1), 1)
    scale = np.maximum(naive, 1e-8 * (np.abs(tail).max(axis=1) + 1.0))
    return context[keep], mask[keep], target[keep], scale[keep]


def _row(i, cand, rnd, epochs, score, error):
    return {"stage": "adapter", "round": rnd, "candidate": i,
            "tokenizer": repr(cand.tokenizer), "epochs": epochs,
            "score": score if np.isfinite(score) else math.inf, "error": error,
            "adapter": cand.adapter.path.name if cand.adapter.path is not None else None}
