"""When does fine-tuning the pretrained adapter pay, and can ``fit`` tell?

With ``check_folds=0``, ``fit`` fine-tunes the shipped adapter and keeps the
pretrained (zero-shot) weights unless an epoch beats them on the validation windows
(the last 20 % of windows); the default (3) first asks rolling origins inside the
training data whether to fine-tune at all (``benchmarks/accuracy.py`` measures it).
This benchmark measures, on the 14-series rolling-origin backtest of
``benchmarks/accuracy.py`` (5 origins each), per fold: the test MASE of the
zero-shot and of the fine-tuned forecaster, the MASE of their average, and what the
keep-or-not decision saw (the starting weights' validation loss and point MAE, and
the best epoch's). From those it scores policies without refitting:

* ``fine-tuned`` (the validation-loss rule, ``check_folds=0``): keep the
  best epoch if it beats the start;
* ``margin m``: keep it only if it beats the start by a relative margin ``m``,
  judged by the validation loss (the objective's yardstick) or by the point MAE;
* ``average``: the mean of the zero-shot and fine-tuned point forecasts;
* ``oracle``: per fold, the better of zero-shot and fine-tuned on the test window
  (not a policy: the room a perfect decision would have).

Reported: geometric-mean MASE relative to seasonal naive (as in accuracy.py's
table). Run: ``python benchmarks/finetune_selection.py [--seeds 0]``; rows go to
``docs/finetune_selection_folds.csv`` (resumable) and the section
``finetune_selection`` of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FOLDS_CSV = ROOT / "docs" / "finetune_selection_folds.csv"
MARGINS = (0.0, 0.05, 0.1, 0.2, 0.3)


def run_series(sname, case, seed):
    import accuracy
    from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError

    from sktime_llmforecast import LLMForecaster

    rows = []
    mase = MeanAbsoluteScaledError(sp=case.sp)
    for k, (tr, te) in enumerate(accuracy.splitter(case).split(case.y)):
        y_train, y_test = case.y.iloc[tr], case.y.iloc[te]
        fh = list(range(1, case.h + 1))
        zero = LLMForecaster(max_epochs=0, difference=False,
                             random_state=seed).fit(y_train, fh=fh).predict()
        tuned = LLMForecaster(random_state=seed, check_folds=0).fit(y_train, fh=fh)
        h = tuned.history_
        tuned = tuned.predict()
        best = int(np.argmin(h["val_loss"])) if h["val_loss"] else -1
        rows.append({
            "series": sname, "seed": seed, "origin": k,
            "zero_shot": mase(y_test, zero, y_train=y_train),
            "fine_tuned": mase(y_test, tuned, y_train=y_train),
            "average": mase(y_test, (zero + tuned) / 2, y_train=y_train),
            "kept_epoch": h["best_epoch"], "epochs_run": h["epochs_run"],
            "start_val_loss": h["initial_val_loss"], "start_val_mae": h["initial_val_mae"],
            "best_val_loss": h["val_loss"][best] if best >= 0 else np.nan,
            "best_val_mae": h["val_mae"][best] if best >= 0 and h["val_mae"] else np.nan,
        })
    return rows


def policies(folds):
    """policy -> (per-fold test MASE, folds whose forecast is the fine-tuned one or
    None where that does not apply)."""
    tuned = folds["kept_epoch"] >= 0
    out = {"zero-shot": (folds["zero_shot"], None),
           "fine-tuned (validation-loss rule, check_folds=0)":
               (folds["fine_tuned"], int(tuned.sum())),
           "average of zero-shot and fine-tuned": (folds["average"], None)}
    for m in MARGINS[1:]:
        for name, start, best in (("validation loss", "start_val_loss", "best_val_loss"),
                                  ("point MAE", "start_val_mae", "best_val_mae")):
            keep = tuned & (folds[best] < (1 - m) * folds[start])
            out[f"margin {m:.0%} by {name}"] = (
                folds["fine_tuned"].where(keep, folds["zero_shot"]), int(keep.sum()))
    out["oracle (better of the two on the test window)"] = (
        np.minimum(folds["zero_shot"], folds["fine_tuned"]), None)
    return out


def markdown(folds, machine):
    import accuracy

    ref = pd.read_csv(accuracy.FOLDS_CSV, keep_default_na=False, na_values=[""])
    naive = ref[ref["method"] == "seasonal naive"].groupby("series")["MASE"].mean()
    arima = ref[ref["method"] == "AutoARIMA"].groupby("series")["MASE"].mean()
    seeds = sorted(set(folds["seed"]))

    def geo(per_fold):
        by = per_fold.groupby([folds["seed"], folds["series"]]).mean()
        vals = [float(np.exp(np.log(p.droplevel(0) / naive.loc[p.droplevel(0).index]).mean()))
                for _, p in by.groupby(level=0)]
        return np.mean(vals), (np.std(vals, ddof=1) if len(vals) > 1 else np.nan)

    tuned = folds["kept_epoch"] >= 0
    helped = tuned & (folds["fine_tuned"] < folds["zero_shot"])
    lines = [
        "## Fine-tuning: keep it or not",
        "",
        "Command: `python benchmarks/finetune_selection.py --seeds "
        + " ".join(str(s) for s in seeds) + "`  ",
        f"Machine: {machine}",
        "",
        f"The 14-series backtest of `benchmarks/accuracy.py` (5 origins each), seeds {seeds}; "
        "`LLMForecaster()` fine-tuned and `LLMForecaster(max_epochs=0)` at each origin. "
        "Policies are scored from the same fits (see the script's docstring). "
        f"Fine-tuning was kept at {int(tuned.sum())} of {len(folds)} folds and beat "
        f"zero-shot on the test window at {int(helped.sum())} of those. Reference: "
        "AutoARIMA "
        f"{np.exp(np.log(arima / naive).mean()):.3f}. Per-fold rows: "
        "[finetune_selection_folds.csv](finetune_selection_folds.csv).",
        "",
        "| policy | folds fine-tuned | geo-mean rel. MASE |",
        "|---|---:|---:|",
    ]
    for name, (values, n) in policies(folds).items():
        mean, sd = geo(values)
        spread = "" if np.isnan(sd) else f" ± {sd:.3f}"
        lines.append(f"| {name} | {'—' if n is None else n} | {mean:.3f}{spread} |")
    return "\n".join(lines)


def main(argv=None):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import accuracy
    from _report import machine_line, write_section

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    rows = pd.read_csv(FOLDS_CSV).to_dict("records") if FOLDS_CSV.exists() else []
    done = {(r["series"], int(r["seed"])) for r in rows}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in args.seeds:
            for sname, case in accuracy.datasets().items():
                if (sname, seed) in done:
                    continue
                rows += run_series(sname, case, seed)
                print(sname, seed, flush=True)
                pd.DataFrame(rows).to_csv(FOLDS_CSV, index=False)
    body = markdown(pd.DataFrame(rows), machine_line())
    print(body)
    write_section("finetune_selection", body)


if __name__ == "__main__":
    main()
