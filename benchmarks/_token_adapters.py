"""What the benchmarks of the switcher among the shipped adapters share: each
adapter's kind, the switcher's rule replayed from recorded rung scores, and rules
over the adapters' recorded rolling-origin checks."""

from __future__ import annotations

import math


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


def check_record(forecaster):
    """What a fitted forecaster's rolling-origin check measured: its scores and the
    candidate ``fit`` went on with (None: no check ran)."""
    if forecaster.check_scores_ is None:
        return {"scores": None, "chosen": None}
    representation = "differences" if forecaster.difference_ else "values"
    tuned = "fine-tuned" if forecaster.plan_.finetune_epochs > 0 else "zero-shot"
    return {"scores": forecaster.check_scores_, "chosen": f"{representation}, {tuned}"}


def zero_shot_check_score(record):
    """The zero-shot score of a rolling-origin check's record (``{"scores": ...,
    "chosen": "values, fine-tuned"}``, as :func:`check_record` writes it)
    in the representation the check chose, or None where no check ran."""
    if not record or not record.get("scores"):
        return None
    representation = record["chosen"].split(",")[0]
    return record["scores"][f"{representation}, zero-shot"]


def kept_by_checks(scores, margin):
    """The adapter a switcher keeps that compares the adapters' check ``scores``
    (``{kind: score}``, None where a check did not run): the lowest, if it is below
    ``margin`` times the patch adapter's, else the patch adapter."""
    if scores is None:
        return "patch"
    best = min(KINDS, key=lambda k: (scores[k], KINDS.index(k)))
    return best if scores[best] < margin * scores["patch"] else "patch"
