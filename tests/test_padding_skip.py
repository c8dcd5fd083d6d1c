"""Leading padding shared by a whole batch is skipped (causal rotary backbones, no
gradient), by patch and token networks: the forecasts equal those of the full run,
and other backbones, prompts and training run every token as before."""

from contextlib import contextmanager

import numpy as np
import pytest
import torch

import sktime_llmforecast.nn.base as base_module
from conftest import TINY_GPT2, TINY_LLAMA
from sktime_llmforecast import (
    ChunkedDigitTokenizer,
    DigitTokenizer,
    LLMForecaster,
    PatchTokenizer,
)


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


@contextmanager
def _padding_skip(on):
    """As shipped (``on``), or every token run, as on a backbone without rotary
    positions."""
    with pytest.MonkeyPatch.context() as mp:
        if not on:
            mp.setattr(base_module, "causal_rotary", lambda config: False)
        yield


def _predict(net, ctx, mask, skip=True, **kwargs):
    with _padding_skip(skip), torch.no_grad():
        return net.predict(ctx, mask, **kwargs)


def _backbone_reads(net, monkeypatch):
    """A list that gets the token count of every forward call of ``net``."""
    seen = []
    original = type(net).forward

    def recording(self, ids, *args, **kwargs):
        seen.append(ids.shape[1])
        return original(self, ids, *args, **kwargs)

    monkeypatch.setattr(type(net), "forward", recording)
    return seen


def test_llama_skips_shared_padding_and_forecasts_the_same():
    net = _net(TINY_LLAMA)
    ctx, mask = _contexts(96, [30, 17, 41])  # 96 - 41 = 55 padded slots in every row
    _, state = net.tokenizer.encode(ctx, mask)
    with torch.no_grad():
        lead = net._shared_padding(state.patch_mask)
    assert lead == 6  # 6 whole patches of 8 are padding in every row
    fast = _predict(net, ctx, mask)
    full = _predict(net, ctx, mask, skip=False)
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
def test_unpadded_or_barely_padded_batches_are_unchanged(observed):
    net = _net(TINY_LLAMA)
    ctx, mask = _contexts(96, observed)
    fast = _predict(net, ctx, mask)
    full = _predict(net, ctx, mask, skip=False)
    np.testing.assert_allclose(fast.mean, full.mean, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("tokenizer", "length", "observed"), [
    (ChunkedDigitTokenizer(k=3), 40, [12, 25, 9]),  # 15 values padded in every row
    (DigitTokenizer(), 14, [5, 9, 4]),  # 5 (the tiny Llama has 128 positions)
])
def test_token_decoding_skips_shared_padding_and_draws_the_same(
        tokenizer, length, observed, monkeypatch):
    net = _net(TINY_LLAMA, tokenizer=tokenizer, context_length=length)
    ctx, mask = _contexts(length, observed)
    w = tokenizer.tokens_per_value
    with torch.no_grad():
        assert net._shared_padding(mask.repeat_interleave(w, dim=1)) \
            == (length - max(observed)) * w
    seen = _backbone_reads(net, monkeypatch)
    fast = _predict(net, ctx, mask, greedy=True)
    assert seen[0] == max(observed) * w  # the window: its observed values only
    seen.clear()
    full = _predict(net, ctx, mask, skip=False, greedy=True)
    assert seen[0] == length * w
    np.testing.assert_allclose(fast.mean, full.mean, rtol=1e-6)
    fast = _predict(net, ctx, mask)
    full = _predict(net, ctx, mask, skip=False)
    assert fast.samples.shape == (3, 20, net.config.horizon)
    np.testing.assert_allclose(fast.samples, full.samples, rtol=1e-6)


def test_token_decoding_reads_every_value_with_absolute_positions():
    net = _net(TINY_GPT2, tokenizer=ChunkedDigitTokenizer(k=3), context_length=40)
    _, mask = _contexts(40, [12, 25])
    with torch.no_grad():
        assert net._shared_padding(mask.repeat_interleave(2, dim=1)) == 0


def _loss_and_gradients(net, batch, skip, seen):
    """Loss, gradients and the tokens of the backbone pass (``seen``:
    :func:`_backbone_reads`)."""
    from sktime_llmforecast.losses import TokenCrossEntropyLoss

    seen.clear()
    with _padding_skip(skip):
        net.zero_grad()
        loss = net.loss_terms(batch, {"ce": TokenCrossEntropyLoss()})["ce"]
        loss.backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}
    return loss.detach(), grads, seen[0]


def test_token_training_skips_shared_padding_with_the_same_loss_and_gradients(
        monkeypatch):
    net = _net(TINY_LLAMA, tokenizer=ChunkedDigitTokenizer(k=3), context_length=40)
    net.train()
    ctx, mask = _contexts(40, [12, 25, 9])  # 15 values padded in every row
    rng = np.random.default_rng(3)
    target = torch.tensor(rng.normal(size=(3, net.config.horizon)) + 10.0)
    seen = _backbone_reads(net, monkeypatch)
    fast = _loss_and_gradients(net, (ctx, mask, target), True, seen)
    full = _loss_and_gradients(net, (ctx, mask, target), False, seen)
    h = net.config.horizon
    assert fast[2] == (25 + h) * 2 - 1  # observed context and target tokens, less one
    assert full[2] == (40 + h) * 2 - 1
    torch.testing.assert_close(fast[0], full[0])
    assert fast[1].keys() == full[1].keys() and fast[1]  # the interface and head train
    for name in fast[1]:
        torch.testing.assert_close(fast[1][name], full[1][name], rtol=1e-5, atol=1e-7)
