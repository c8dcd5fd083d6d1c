"""The pretrained token adapters of ``benchmarks/adapters/``, offered to
``pretrained="default"`` as if they were shipped inside the package (they are not:
docs/pretraining.md, "Token adapters")."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "adapters"


def kind_of(stem):
    """'chunked', 'bins' or 'patch': the tokenizer family of an adapter's stem or
    file name."""
    name = str(stem)
    return "chunked" if "chunked" in name else "bins" if "bins" in name else "patch"


#: the adapter kinds in the order ``select_adapter`` breaks ties by (primary first)
KINDS = ("patch", "chunked", "bins")


def kept_at(rungs, margin):
    """The adapter ``select_adapter`` keeps at challenge ``margin``, replayed on
    ``rungs`` (``{kind: [zero-shot score, fine-tuned score]}``, a fine-tuned score
    None where it was not recorded): the primary (patch) adapter with no rungs; None
    where a finalist at ``margin`` has no recorded fine-tuned score."""
    if not rungs:  # nothing to choose: the primary adapter
        return "patch"
    zero = {k: v[0] for k, v in rungs.items()}
    primary = zero.get("patch", math.inf)
    contenders = [k for k in zero if k == "patch" or zero[k] < margin * primary]
    if set(contenders) == {"patch"}:
        return "patch"
    finalists = sorted(contenders, key=lambda k: (zero[k], KINDS.index(k)))[:2]
    if any(rungs[k][1] is None for k in finalists):
        return None
    best = min(finalists, key=lambda k: (rungs[k][1], KINDS.index(k)))
    if "patch" in finalists and not rungs[best][1] < margin * rungs["patch"][1]:
        return "patch"
    return best


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
