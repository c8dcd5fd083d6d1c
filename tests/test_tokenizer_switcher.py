"""TokenizerSwitcher: successive halving on validation MASE of decoded forecasts."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from sktime_llmforecast import LLMForecaster
from sktime_llmforecast.forecasting._tokenizer_search import successive_halving
from sktime_llmforecast.tokenizers import (
    BinTokenizer,
    ChunkedDigitTokenizer,
    PatchTokenizer,
    TokenizerSwitcher,
)
from sktime_llmforecast.tokenizers.switcher import adapted_variants
from tests.conftest import TINY_GPT2


def _smooth(n=400):
    t = np.arange(n)
    return pd.Series(100 + 20 * np.sin(2 * np.pi * t / 50) + 0.05 * t)


def _f(tokenizer, **kw):
    params = dict(pretrained=None, backbone=dict(TINY_GPT2, n_positions=128), tokenizer=tokenizer,
                  context_length=48, max_epochs=4, random_state=0, device="cpu")
    params.update(kw)
    return LLMForecaster(**params)


def test_halving_keeps_the_best_half_and_grows_the_budget():
    calls = []

    def evaluate(c, epochs):
        calls.append((c, epochs))
        if c == "broken":
            raise ValueError("cannot decode")
        return {"a": 3.0, "b": 1.0, "c": 2.0, "nan": math.nan}[c]

    best, rows = successive_halving(["a", "b", "broken", "c", "nan"], evaluate, 1, 2)
    assert best == 1
    assert [e for c, e in calls if c == "b"] == [1, 2]
    assert {r["candidate"]: r["error"] for r in rows if r["round"] == 0}[2].startswith(
        "ValueError"
    )
    assert all(r["score"] == math.inf for r in rows if r["candidate"] in (2, 4))


@pytest.mark.parametrize("exc", [
    torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"),
    RuntimeError("MPS backend out of memory (MPS allocated: 8.00 GB)"),
])
def test_running_out_of_memory_stops_the_search_instead_of_scoring_inf(exc):
    """A candidate too big for the device is the user's to see, not a silent loser."""
    def evaluate(c, epochs):
        if c == "big":
            raise exc
        return 1.0

    with pytest.raises(type(exc), match="memory"):
        successive_halving(["small", "big"], evaluate, 1, 2)


def test_switcher_picks_a_patch_tokenizer_and_is_not_fooled_by_a_broken_candidate():
    too_long = ChunkedDigitTokenizer(k=1, precision=3, integer_digits=4)  # > 128 positions
    cands = [too_long, BinTokenizer(n_bins=16, low=-2.0, high=2.0), PatchTokenizer(8, 4)]
    sw = TokenizerSwitcher(candidates=cands, min_epochs=2)
    f = _f(sw).fit(_smooth(), fh=[1, 2, 3])
    assert isinstance(f.selected_tokenizer_, PatchTokenizer)
    scores = f.tokenizer_scores_
    broken = scores[scores["tokenizer"].str.startswith("ChunkedDigitTokenizer")]
    assert (broken["score"] == math.inf).all() and broken["error"].str.contains("positions").all()
    assert isinstance(f.network_.tokenizer, PatchTokenizer)
    assert np.isfinite(f.predict()).all()
    # deterministic with random_state
    g = _f(sw).fit(_smooth(), fh=[1, 2, 3])
    pd.testing.assert_frame_equal(f.tokenizer_scores_, g.tokenizer_scores_)
    pd.testing.assert_series_equal(f.predict(), g.predict())


def test_adapt_tunes_the_winners_key_setting():
    assert [v.patch_len for v in adapted_variants(PatchTokenizer(8, 4))] == [8, 4, 16]
    assert [v.k for v in adapted_variants(ChunkedDigitTokenizer(k=3))] == [3, 2, 4]
    sw = TokenizerSwitcher(candidates=[PatchTokenizer(8, 4)], strategy="adapt", min_epochs=1)
    f = _f(sw).fit(_smooth(), fh=[1, 2])
    adapt = f.tokenizer_scores_[f.tokenizer_scores_["stage"] == "adapt"]
    assert len(adapt[adapt["round"] == 0]) == 3
    assert f.selected_tokenizer_.patch_len in (4, 8, 16)


def test_auto_and_bad_settings():
    with pytest.raises(ValueError, match="strategy must be"):
        _f(TokenizerSwitcher(strategy="grid")).fit(_smooth(), fh=[1])
    with pytest.raises(ValueError, match="tokenizer must be a tokenizer object, 'auto'"):
        _f("patches").fit(_smooth(), fh=[1])
    assert _f("auto").plan().search.get_params()["strategy"] == "halving"
