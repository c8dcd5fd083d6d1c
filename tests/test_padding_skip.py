"""Leading padding shared by a whole batch is skipped (causal rotary backbones, no
gradient): the forecasts equal those of the full run, and other backbones, prompts
and training run every token as before."""

import numpy as np
import pytest
import torch

import sktime_llmforecast.nn.patch as patch_module
from conftest import TINY_GPT2, TINY_LLAMA
from sktime_llmforecast import LLMForecaster, PatchTokenizer


def _net(backbone, **kw):
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(size=200)) + 50.0
    import pandas as pd

    params = dict(backbone=dict(backbone), pretrained=None,
                  tokenizer=PatchTokenizer(patch_len=8, stride=8), context_length=96,
                  max_epochs=1, random_state=0, device="cpu")
    params.update(kw)
    return LLMForecaster(**params).fit(pd.Series(y), fh=[1, 2, 3]).network_


def _contexts(length, observed):
    """Contexts of ``length`` slots with ``observed`` values each, left-padded."""
    rng = np.random.default_rng(1)
    ctx, mask = np.zeros((len(observed), length)), np.zeros((len(observed), length), bool)
    for i, n in enumerate(observed):
        ctx[i, length - n:] = np.cumsum(rng.normal(size=n)) + 10.0 * (i + 1)
        mask[i, length - n:] = True
    return torch.tensor(ctx), torch.tensor(mask)


def _predict(net, ctx, mask, skip=True, monkeypatch=None):
    if not skip:
        monkeypatch.setattr(patch_module, "causal_rotary", lambda config: False)
    with torch.no_grad():
        out = net.predict(ctx, mask)
    if not skip:
        monkeypatch.undo()
    return out


def test_llama_skips_shared_padding_and_forecasts_the_same(monkeypatch):
    net = _net(TINY_LLAMA)
    ctx, mask = _contexts(96, [30, 17, 41])  # 96 - 41 = 55 padded slots in every row
    _, state = net.tokenizer.encode(ctx, mask)
    with torch.no_grad():
        lead = net._shared_padding(state.patch_mask)
    assert lead == 6  # 6 whole patches of 8 are padding in every row
    fast = _predict(net, ctx, mask)
    full = _predict(net, ctx, mask, skip=False, monkeypatch=monkeypatch)
    np.testing.assert_allclose(fast.mean, full.mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fast.quantiles, full.quantiles, rtol=1e-5, atol=1e-5)


def test_nothing_is_skipped_with_gradients_prompts_or_absolute_positions():
    ctx, mask = _contexts(96, [30, 17])
    llama, gpt2 = _net(TINY_LLAMA), _net(TINY_GPT2)
    prompted = _net(TINY_LLAMA, prompt="monthly sales")
    _, state = llama.tokenizer.encode(ctx, mask)
    assert llama._shared_padding(state.patch_mask) == 0  # gradients on: training
    with torch.no_grad():
        assert llama._shared_padding(state.patch_mask) > 0
        assert gpt2._shared_padding(state.patch_mask) == 0  # learned positions
        assert prompted._shared_padding(state.patch_mask) == 0
        full = torch.ones_like(state.patch_mask)  # no padding at all
        assert llama._shared_padding(full) == 0


@pytest.mark.parametrize("observed", [[96, 5], [3]])
def test_unpadded_or_barely_padded_batches_are_unchanged(observed, monkeypatch):
    net = _net(TINY_LLAMA)
    ctx, mask = _contexts(96, observed)
    fast = _predict(net, ctx, mask)
    full = _predict(net, ctx, mask, skip=False, monkeypatch=monkeypatch)
    np.testing.assert_allclose(fast.mean, full.mean, rtol=1e-5, atol=1e-5)
