"""Command line: pretrain an adapter on the synthetic corpus.

Examples
--------
The shipped default adapter (SmolLM2's first 6 blocks, frozen)::

    python -m sktime_llmforecast.pretraining --out my_adapter

The no-LLM ablation with the same interface, head and budget::

    python -m sktime_llmforecast.pretraining --n-layers 0 --out my_no_llm_adapter

A chunked-digit token adapter (k=3: a vocabulary of 1,000 chunks + specials) or a
scaled-bin one; token adapters train with cross-entropy over the vocabulary and need
a shorter context, since every value costs ``k``-digit chunks rather than a share
of a patch::

    python -m sktime_llmforecast.pretraining --tokenizer chunked --chunk-size 3 \
        --context-length 96 --prediction-length 24 --out my_chunked_adapter

The attention control of ``benchmarks/accuracy.py`` (one random, trainable block of
SmolLM2's shape)::

    python -m sktime_llmforecast.pretraining --n-layers 1 --finetune full \
        --backbone CONTROL_BACKBONE_JSON --out attention-control

Resumable: ``--checkpoint-dir ckpt`` writes checkpoints, ``--resume`` continues.

Data-parallel over several processes (gloo on CPUs, NCCL on GPUs; the global
``--batch-size`` is split evenly over them)::

    torchrun --nproc-per-node 4 -m sktime_llmforecast.pretraining --device cuda \
        --out my_adapter
    accelerate launch --multi_gpu --num_processes 4 -m sktime_llmforecast.pretraining \
        --device cuda --out my_adapter
"""

from __future__ import annotations

import argparse
import json

import torch.distributed as dist

from sktime_llmforecast.pretraining.api import PRETRAIN_LOSSES, pretrain_adapter
from sktime_llmforecast.pretraining.synthetic import SyntheticSeriesGenerator
from sktime_llmforecast.pretraining.trainer import PretrainConfig

DEFAULTS = PretrainConfig()
#: option -> the --tokenizer it applies to
_TOKENIZER_OPTIONS = {"patch_len": "patch", "stride": "patch", "chunk_size": "chunked",
                      "n_bins": "bins"}
#: the pretraining losses of each --tokenizer choice
LOSSES_BY_TOKENIZER = {"patch": PRETRAIN_LOSSES, "chunked": ("token_ce",), "bins": ("token_ce",)}
#: the quantile head of the shipped adapter
QUANTILE_LEVELS = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


def build_parser():
    """The argument parser (its defaults are those of the shipped adapter)."""
    p = argparse.ArgumentParser(
        prog="python -m sktime_llmforecast.pretraining",
        description="Pretrain LLMForecaster's interface and head on synthetic series "
        "(backbone frozen) and write an adapter (NAME.safetensors + NAME.json).",
    )
    p.add_argument("--out", required=True, help="adapter stem to write")
    p.add_argument("--backbone", default="smollm2-135m",
                   help="'smollm2-135m', a local model folder, or a JSON config dict")
    p.add_argument("--n-layers", type=int, default=6,
                   help="transformer blocks kept (0: the no-LLM ablation)")
    p.add_argument("--context-length", type=int, default=512)
    p.add_argument("--prediction-length", type=int, default=64)
    p.add_argument("--tokenizer", default="patch", choices=sorted(LOSSES_BY_TOKENIZER),
                   help="patch: continuous patches (--patch-len, --stride), trained "
                        "with MSE + quantile CRPS; chunked (--chunk-size) or bins "
                        "(--n-bins): token vocabularies, trained with cross-entropy")
    p.add_argument("--patch-len", type=int, default=None,
                   help="values per patch of --tokenizer patch (default 32)")
    p.add_argument("--stride", type=int, default=None,
                   help="step between patches of --tokenizer patch (default 32)")
    p.add_argument("--chunk-size", type=int, default=None,
                   help="digits per token of --tokenizer chunked (default 3: 10^3 "
                        "chunks + specials)")
    p.add_argument("--n-bins", type=int, default=None,
                   help="bins of --tokenizer bins (default 4094, over [-15, 15] of the "
                        "scaled values)")
    p.add_argument("--head-width", type=int, default=128,
                   help="features per token before the flatten head (0: no bottleneck)")
    p.add_argument("--quantile-levels", default=",".join(map(str, QUANTILE_LEVELS)),
                   help="comma-separated levels of the quantile head")
    p.add_argument("--finetune", default="frozen",
                   choices=["frozen", "layernorm", "full", "lora"],
                   help="which backbone weights train (full: e.g. the attention "
                        "control's one random block)")
    p.add_argument("--interface", default="linear", choices=["linear", "mlp", "resampler"])
    p.add_argument("--steps", type=int, default=DEFAULTS.steps)
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop earlier after this much wall time")
    p.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    p.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate)
    p.add_argument("--warmup-steps", type=int, default=DEFAULTS.warmup_steps)
    p.add_argument("--seed", type=int, default=DEFAULTS.seed)
    p.add_argument("--n-validation", type=int, default=DEFAULTS.n_validation)
    p.add_argument("--eval-every", type=int, default=DEFAULTS.eval_every)
    p.add_argument("--checkpoint-dir", default=None)
    p.add_argument("--checkpoint-every", type=int, default=DEFAULTS.checkpoint_every)
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint in --checkpoint-dir")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per process (default: every core the process "
                        "may use, shared evenly by the processes of a data-parallel "
                        "run on one machine)")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--families", default="all",
                   help="the corpus' family weights: 'all' (every family of "
                        "FAMILY_NAMES, equally: generator version 2, the default), "
                        "'v1' (the components only: version 1) or JSON such as "
                        "'{\"components\": 2, \"kernel_synth\": 1}'")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv=None):
    """Run the command; returns the process exit code."""
    from sktime_llmforecast import LLMForecaster
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, kind in _TOKENIZER_OPTIONS.items():
        if kind != args.tokenizer and getattr(args, name) is not None:
            parser.error(f"--{name.replace('_', '-')} applies to --tokenizer {kind} only "
                         f"(this run: --tokenizer {args.tokenizer}); drop it or pass "
                         f"--tokenizer {kind}")
    backbone = args.backbone
    if backbone.lstrip().startswith("{"):
        backbone = json.loads(backbone)
    forecaster = LLMForecaster(
        backbone=backbone,
        n_layers=args.n_layers,
        finetune=args.finetune,
        tokenizer=tokenizer_of(args),
        interface=args.interface,
        context_length=args.context_length,
        prediction_length=args.prediction_length,
        quantile_levels=tuple(float(q) for q in args.quantile_levels.split(",")),
        head_width=args.head_width or None,
        dtype=args.dtype,
        pretrained=None,
    )
    config = PretrainConfig(
        steps=args.steps,
        max_minutes=args.max_minutes,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        warmup_steps=args.warmup_steps,
        seed=args.seed,
        n_validation=args.n_validation,
        eval_every=args.eval_every,
        checkpoint_every=args.checkpoint_every,
        device=args.device,
        threads=args.threads,
        progress=not args.no_progress,
    )
    try:
        card = pretrain_adapter(forecaster, args.out, config,
                                generator=_generator(args.families),
                                checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                                losses=LOSSES_BY_TOKENIZER[args.tokenizer])
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    if card is None:  # another process of a data-parallel run: the main one reports
        return 0
    val = card["validation"]
    print(json.dumps({"out": args.out, "steps_run": card["pretraining"]["steps_run"],
                      "seconds": card["pretraining"]["seconds"],
                      "val_loss": val["loss"], "val_mae_standardised": val["mae_standardised"],
                      "bytes": card["weights"]["bytes"]}))
    return 0


def tokenizer_of(args):
    """The tokenizer the parsed ``--tokenizer`` options describe."""
    from sktime_llmforecast.tokenizers import (
        BinTokenizer,
        ChunkedDigitTokenizer,
        PatchTokenizer,
    )

    def given(value, default):
        return default if value is None else value

    if args.tokenizer == "chunked":
        return ChunkedDigitTokenizer(k=given(args.chunk_size, 3))
    if args.tokenizer == "bins":
        return BinTokenizer(n_bins=given(args.n_bins, 4094))
    return PatchTokenizer(patch_len=given(args.patch_len, 32), stride=given(args.stride, 32))


def _generator(families):
    """The corpus generator of the ``--families`` option."""
    if families in ("all", "v1"):
        return SyntheticSeriesGenerator(family_weights=None if families == "v1" else "all")
    return SyntheticSeriesGenerator(family_weights=json.loads(families))
