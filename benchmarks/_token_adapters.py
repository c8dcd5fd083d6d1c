"""The pretrained token adapters of ``benchmarks/adapters/``, offered to
``pretrained="default"`` as if they were shipped inside the package (they are not:
docs/pretraining.md, "Token adapters")."""

from __future__ import annotations

import contextlib
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "adapters"


def kind_of(stem):
    """'chunked', 'bins' or 'patch': the tokenizer family of an adapter's stem or
    file name."""
    name = str(stem)
    return "chunked" if "chunked" in name else "bins" if "bins" in name else "patch"


def token_adapter_stems():
    """Stems (path without suffix) of the token adapters in ``benchmarks/adapters/``."""
    return sorted(p.with_suffix("") for p in FOLDER.glob("smollm2-135m-6-blocks-*.json"))


@contextlib.contextmanager
def offered():
    """Within the block, ``LLMForecaster(pretrained="default")`` finds the shipped
    adapters and those of ``benchmarks/adapters/`` (the primary one stays the shipped
    patch adapter). Nothing is copied into the package."""
    from sktime_llmforecast.forecasting import plan

    shipped = plan.shipped_adapters
    stems = sorted(set(shipped()) | set(token_adapter_stems()))
    plan.shipped_adapters = lambda: stems
    try:
        yield stems
    finally:
        plan.shipped_adapters = shipped
