"""Successive halving over tokenizers, scored by validation MASE of decoded forecasts."""

from __future__ import annotations

import math

import numpy as np


def validation_mase(net, windows, device, batch_size=256):
    """Mean over windows of ``mean|forecast - truth| / naive MAE of the context``.

    The forecasts are decoded (original units), so every tokenizer is judged by
    the same yardstick. Returns ``inf`` when any forecast is not finite.
    """
    from sktime_llmforecast.forecasting._training import predict_network

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
    return float(np.mean(np.abs(pred - tgt).mean(1) / naive))


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
            except (ValueError, RuntimeError, FloatingPointError) as exc:
                score, error = math.inf, f"{type(exc).__name__}: {exc}"
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
