"""Forecast AirPassengers with the embedded SmolLM2-135M backbone.

Holds out the last 24 months, fits ``LLMForecaster()`` with its defaults (the first
6 blocks of a frozen SmolLM2 behind the interface and head of a shipped adapter,
pretrained on synthetic series: ``tokenizer="auto"`` chooses among the patch,
chunked-digit and scaled-bin adapters on the training months, then fine-tunes the
one it keeps), the same zero-shot (no training on AirPassengers), and the
seasonal-naive and AutoETS baselines on the same split; prints MAE and MASE of each,
the adapter kept, and writes a plot of history, truth and forecasts.

Run with ``make demo`` (or ``python examples/airpassengers_demo.py``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="outputs/airpassengers_forecast.png")
    parser.add_argument("--backbone", default="smollm2-135m")
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    from sktime.datasets import load_airline
    from sktime.forecasting.ets import AutoETS
    from sktime.forecasting.model_selection import temporal_train_test_split
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.performance_metrics.forecasting import (
        MeanAbsoluteError,
        MeanAbsoluteScaledError,
    )
    from sktime.utils.plotting import plot_series

    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.backbones import load_backbone, resolve_backbone_spec

    y = load_airline()
    y_train, y_test = temporal_train_test_split(y, test_size=24)
    fh = np.arange(1, 25)

    # the shipped adapter belongs to the embedded backbone; others train from scratch
    pretrained = "default" if args.backbone == "smollm2-135m" else None
    llm = LLMForecaster(backbone=args.backbone, pretrained=pretrained,
                        max_epochs=args.max_epochs, random_state=args.random_state,
                        verbose=True)
    models = {
        "LLMForecaster() fine-tuned": llm,
        "LLMForecaster(max_epochs=0) zero-shot": llm.clone().set_params(max_epochs=0),
        "seasonal naive (sp=12)": NaiveForecaster(strategy="last", sp=12),
        "AutoETS (sp=12)": AutoETS(auto=True, sp=12, n_jobs=1),
    }
    # load (and, for the GGUF, dequantise) the backbone once, outside the fit timing;
    # fit then takes it from the per-process cache
    t0 = time.perf_counter()
    load_backbone(resolve_backbone_spec(args.backbone))
    t_load = time.perf_counter() - t0

    mae = MeanAbsoluteError()
    mase = MeanAbsoluteScaledError(sp=12)
    preds, rows = {}, []
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(y_train, fh=fh)
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        preds[name] = model.predict()
        t_pred = time.perf_counter() - t0
        rows.append(
            (
                name,
                mae(y_test, preds[name]),
                mase(y_test, preds[name], y_train=y_train),
                t_fit,
                t_pred,
            )
        )

    print(f"\nAirPassengers, last 24 months held out (train {len(y_train)} months)")
    print(f"backbone {args.backbone!r} loaded in {t_load:.1f} s (once per process)")
    print(f"{'method':40s} {'MAE':>8s} {'MASE':>7s} {'fit s':>8s} {'pred s':>7s}")
    for name, m_ae, m_ase, t_fit, t_pred in rows:
        print(f"{name:40s} {m_ae:8.2f} {m_ase:7.3f} {t_fit:8.1f} {t_pred:7.2f}")
    print(
        f"LLMForecaster trainable parameters: {llm.n_trainable_params_:,} of "
        f"{llm.n_total_params_:,} (epochs run: {llm.history_['epochs_run']})"
    )
    scores = getattr(llm, "tokenizer_scores_", None)
    if scores is not None and "adapter" in scores:  # tokenizer="auto" chose an adapter
        zero = scores[(scores["stage"] == "adapter") & (scores["round"] == 0)]
        listed = ", ".join(f"{a} {s:.3f}" for a, s in zip(zero["adapter"], zero["score"]))
        print(f"tokenizer='auto' kept {llm.selected_tokenizer_!r}; zero-shot validation "
              f"MASE of the shipped adapters: {listed}")
        partners = [name for name, _ in llm.combined_forecasters_]
        print("combined with (zero-shot): " + (", ".join(partners) if partners else
                                               "none (no adapter within the margin)"))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, _ = plot_series(
        y_train,
        y_test,
        *preds.values(),
        labels=["history", "truth", *preds.keys()],
        title="AirPassengers: 24-month forecast",
    )
    fig.savefig(out, dpi=110, bbox_inches="tight")
    print(f"plot written to {out}")
    return rows


if __name__ == "__main__":
    main()
