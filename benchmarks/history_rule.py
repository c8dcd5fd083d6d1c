"""A shorter history: would choosing it on rolling origins help, as differences do?

On PBS scripts (sktime), whose counts are zero for the last years after busy ones,
the shipped adapter zero-shot forecasts a little demand where seasonal naive
forecasts the zeros: it reads the busy years in its 512-value context. Fitting on
only the last values of the series fixes that series. This script asks whether a
rule in the style of ``difference="auto"`` could choose such a shorter history
without hurting other series. It is an experiment, not a feature:
``LLMForecaster`` has no such option, because the rule below did not pass.

For every series and outer origin (the backtest's 5 origins) it forecasts zero-shot
(``LLMForecaster(max_epochs=0, check_folds=0)``, deterministic), on values and on
first differences, once from the whole history and once from only the last
``SHORT_CYCLES * max(sp, h)`` values (all of the fit: seasonal adjustment, scaling
and the network's context), at the outer origin and at up to 6 inner origins
before it (each ``h`` values earlier). A rule then picks per outer origin:

1. the representation as ``difference="auto"`` does (the geometric mean over the
   inner origins of the differences' MASE over the values' below 0.9);
2. in that representation, the short history when the geometric mean over the
   inner origins of its MASE over the whole history's is below a margin ``m``.

Scored as in ``benchmarks/difference_rule.py`` (geo-mean over series of MASE
relative to seasonal naive) on its two series sets: *dev* (8 quarterly macro series
outside the accuracy benchmark) and *benchmark* (the 13 single series of
``benchmarks/accuracy.py``). Forecasts are cached in ``outputs/history_rule.pkl``
(git-ignored).

Run: ``python benchmarks/history_rule.py``
"""

from __future__ import annotations

import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "outputs" / "history_rule.pkl"
SHORT_CYCLES = 4
INNER = 6
DIFFERENCE_MARGIN = 0.9  # forecasting/_fit_check.py's
MARGINS = (0.8, 0.85, 0.9)
VARIANTS = [(d, s) for d in (False, True) for s in (False, True)]  # (differences, short)


def forecasts(name, y, sp, h, step, cache):
    """``{(cut, differences, short): MASE on the h values after cut}`` for the outer
    origins and their inner origins."""
    from difference_rule import _mase

    from sktime_llmforecast import LLMForecaster

    n, keep = len(y), SHORT_CYCLES * max(sp, h)
    outer = [n - h - k * step for k in range(5)]
    cuts = sorted({c - j * h for c in outer for j in range(INNER + 1) if c - j * h >= 3 * h})
    out = {}
    for cut in cuts:
        past, ahead = y.iloc[:cut], y.iloc[cut:cut + h]
        for d, short in VARIANTS:
            key = (name, cut, h, d, short)
            if key not in cache:
                f = LLMForecaster(max_epochs=0, check_folds=0, difference=d, random_state=0)
                fit_on = past.iloc[-keep:] if short else past
                cache[key] = f.fit(fit_on, fh=list(range(1, h + 1))).predict().to_numpy()
            out[(cut, d, short)] = _mase(past, ahead, cache[key], sp)
    return outer, out


def ratio(scores, cut, h, a, b):
    """Geometric mean over the inner origins before ``cut`` of ``a``'s MASE over
    ``b``'s (1.0 when no inner origin scored)."""
    r = [scores[(cut - j * h, *a)] / scores[(cut - j * h, *b)] for j in range(1, INNER + 1)
         if (cut - j * h, *a) in scores and scores[(cut - j * h, *b)] > 0
         and scores[(cut - j * h, *a)] > 0]
    return float(np.exp(np.mean(np.log(r)))) if r else 1.0


def pick(scores, cut, h, margin):
    """``(differences, short)`` the two-step rule picks at ``cut`` (margin None: the
    whole history always)."""
    d = ratio(scores, cut, h, (True, False), (False, False)) < DIFFERENCE_MARGIN
    short = margin is not None and ratio(scores, cut, h, (d, True), (d, False)) < margin
    return d, short


def rows_of(name, y, sp, h, step, cache):
    """Per rule: the series' mean outer-origin MASE relative to seasonal naive, and
    how many of its 5 origins read the short history."""
    from difference_rule import _mase

    outer, scores = forecasts(name, y, sp, h, step, cache)
    naive = np.mean([_mase(y.iloc[:c], y.iloc[c:c + h],
                           np.resize(y.iloc[:c].to_numpy()[-sp:], h), sp) for c in outer])
    row = {}
    for margin in (None, *MARGINS):
        picks = [pick(scores, c, h, margin) for c in outer]
        label = "values or differences (the default)" if margin is None else \
            f"then the short history below margin {margin:g}"
        row[label] = np.mean([scores[(c, *p)] for c, p in zip(outer, picks)]) / naive
        row[label + ": short"] = sum(s for _, s in picks)
    return row


def markdown(tables, machine):
    rules = [c for c in tables["benchmark"].columns if not c.endswith(": short")]
    lines = ["## A shorter history: chosen on rolling origins?", "",
             "Command: `python benchmarks/history_rule.py`  ", f"Machine: {machine}", "",
             (f"Zero-shot forecasts of the shipped adapter fitted on the whole history or "
              f"on its last {SHORT_CYCLES} × max(sp, h) values, the short history chosen "
              "per outer origin after the representation when it scores below a margin "
              f"on up to {INNER} inner origins (the script's docstring). Geo-mean over "
              "series of MASE relative to seasonal naive, as in the section \"Values or "
              "differences\"; the short history was tried for PBS scripts, so the "
              "benchmark column is not out of sample."), "",
             ("| rule | dev | benchmark | PBS scripts | origins on the short history "
              "(dev / benchmark) |"), "|---|---:|---:|---:|---:|"]
    for rule in rules:
        dev, bench = (float(np.exp(np.log(tables[s][rule]).mean())) for s in
                      ("dev", "benchmark"))
        n_dev, n_bench = (int(tables[s][rule + ": short"].sum()) for s in ("dev", "benchmark"))
        pbs = tables["benchmark"].loc["PBS scripts", rule]
        lines.append(f"| {rule} | {dev:.3f} | {bench:.3f} | {pbs:.3f} | "
                     f"{n_dev} / {n_bench} |")
    return "\n".join(lines)


def main():
    here = str(Path(__file__).resolve().parent)
    sys.path.insert(0, here)
    from _report import machine_line, write_section
    from difference_rule import series_sets

    warnings.filterwarnings("ignore")
    cache = pickle.loads(CACHE.read_bytes()) if CACHE.exists() else {}
    tables = {}
    for set_name, cases in series_sets().items():
        rows = {}
        for name, (y, sp, h, step) in cases.items():
            rows[name] = rows_of(name, y.iloc[-600:].astype(float), sp, h, step, cache)
            CACHE.parent.mkdir(exist_ok=True)
            CACHE.write_bytes(pickle.dumps(cache))
        tables[set_name] = pd.DataFrame(rows).T
    body = markdown(tables, machine_line())
    print(body)
    write_section("history_rule", body)


if __name__ == "__main__":
    main()
