"""Successive halving over tokenizers, scored by validation MASE of decoded forecasts."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from sktime_llmforecast.nn import (
    build_network,
    is_out_of_memory,
    make_windows,
    predict_network,
    train_on_series,
)
from sktime_llmforecast.tokenizers.switcher import adapted_variants

SCORE_COLUMNS = ["stage", "round", "candidate", "tokenizer", "epochs", "score", "error"]

#: errors that rule one candidate out of a search (its score becomes ``inf``)
CANDIDATE_ERRORS = (ValueError, RuntimeError, FloatingPointError)


def candidate_failure(exc):
    """The score-table message of a candidate's failure ``exc``.

    Running out of memory is re-raised, not recorded: the device is too small for
    this fit, and scoring the largest candidate ``inf`` would hide that behind a
    choice that looks measured.
    """
    if is_out_of_memory(exc):
        raise exc
    return f"{type(exc).__name__}: {exc}"


def select_tokenizer(plan, series):
    """Run the plan's ``TokenizerSwitcher`` on ``series``.

    Every candidate is built and trained as the final network would be (same
    seed, losses and windows), for the epochs successive halving gives it.

    Returns
    -------
    winner : tokenizer
        A fresh clone of the best candidate.
    scores : pd.DataFrame
        One row per candidate and round (columns ``SCORE_COLUMNS``).
    """
    switcher = plan.search
    network, train = plan.network, plan.train
    windows = make_windows(series, network.context_length, network.horizon,
                           train.validation_fraction)
    judged = windows[1] if windows[1] is not None else windows[0]

    def evaluate(tok, epochs):
        candidate = plan.with_tokenizer(tok)
        net = build_network(candidate.kind, network, tok, plan.seed, plan.device)
        train_on_series(net, series, replace(train, max_epochs=epochs), plan.loss_switcher)
        return validation_mase(net, judged, plan.device)

    rows = []

    def search(cands, stage):
        best, scores = successive_halving(cands, evaluate, switcher.min_epochs, switcher.eta)
        for r in scores:
            rows.append(dict(r, stage=stage, tokenizer=repr(cands[r["candidate"]])))
        return cands[best]

    winner = search(switcher.candidate_list(), "select")
    if switcher.strategy == "adapt":
        winner = search(adapted_variants(winner), "adapt")
    return winner.clone(), pd.DataFrame(rows, columns=SCORE_COLUMNS)


def validation_mase(net, windows, device, batch_size=256):
    """Mean over windows of ``mean|forecast - truth| / naive MAE of the context``.

    The forecasts are decoded (original units), so every tokenizer is judged by
    the same yardstick. Returns ``inf`` when any forecast is not finite.
    """
    if windows is None or not len(windows):
        return math.inf
    ctx, mask, tgt = windows.batch(np.arange(len(windows)))
    pred = predict_network(net, ctx, mask, device, batch_size)
    if not np.isfinite(pred).all():
        return math.inf
    diffs = np.abs(np.diff(ctx, axis=1))
    both = mask[:, 1:] & mask[:, :-1]
    naive = (diffs * both).sum(1) / np.maximum(both.sum(1), 1)
    naive = np.maximum(naive, 1e-8 * (np.abs(ctx).max(1) + 1.0))
    err = np.abs(pred - tgt)
    per_window = np.nanmean(err, axis=1) if np.isnan(err).any() else err.mean(1)
    return float(np.mean(per_window / naive))  # missing targets (NaN) left out


def successive_halving(candidates, evaluate, min_epochs, eta):
    """Run successive halving; ``evaluate(candidate, epochs) -> score`` (lower wins).

    Returns
    -------
    best : int
        Index of the winner.
    scores : list of dict
        One row per candidate and round: ``candidate``, ``round``, ``epochs``,
        ``score`` (``inf`` for failures) and ``error`` (the failure's message).
    """
    alive = list(range(len(candidates)))
    epochs, rnd, rows = min_epochs, 0, []
    while True:
        round_scores = {}
        for i in alive:
            try:
                score, error = float(evaluate(candidates[i], epochs)), ""
            except CANDIDATE_ERRORS as exc:
                score, error = math.inf, candidate_failure(exc)
            if not np.isfinite(score):
                score = math.inf
                error = error or "non-finite forecasts"
            round_scores[i] = score
            rows.append({"candidate": i, "round": rnd, "epochs": epochs,
                         "score": score, "error": error})
        ranked = sorted(alive, key=lambda i: (round_scores[i], i))
        finite = [i for i in ranked if np.isfinite(round_scores[i])]
        if not finite:
            raise RuntimeError(
                "No tokenizer candidate could be trained and decoded; errors: "
                + "; ".join(r["error"] for r in rows if r["round"] == rnd)
            )
        keep = max(1, math.ceil(len(finite) / eta))
        alive = finite[:keep]
        if len(alive) == 1:
            return alive[0], rows
        epochs, rnd = epochs * eta, rnd + 1
