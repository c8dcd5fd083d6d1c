"""The decoding cache that grows into preallocated storage (nn/kv_cache.py)."""

import numpy as np
import pandas as pd
import pytest
import torch
import transformers
from sktime.datasets import load_airline
from transformers.cache_utils import DynamicLayer

from sktime_llmforecast import LLMForecaster
from sktime_llmforecast.nn import kv_cache, token
from tests.conftest import TINY_GPT2, TINY_LLAMA, tiny_chunked_network


def _states(rng, batch, n):
    return (torch.tensor(rng.normal(size=(batch, 2, n, 4)), dtype=torch.float32),
            torch.tensor(rng.normal(size=(batch, 2, n, 4)), dtype=torch.float32))


def test_a_growing_layer_holds_what_a_dynamic_layer_holds():
    """Prefill, steps past the first capacity, repeated and selected rows, a crop:
    the same keys and values as transformers' concatenating layer."""
    rng = np.random.default_rng(0)
    grown, plain = kv_cache.GrowingLayer(), DynamicLayer()
    k, v = _states(rng, 2, 5)
    for layer in (grown, plain):
        layer.update(k, v)
    first_capacity = grown._key_store.shape[-2]
    for rows, n in [(2, 1)] * (first_capacity - 5) + [("repeat", 3), (6, 1), (6, 2),
                                                      ("select", None), (3, 1)]:
        if rows == "repeat":
            grown.batch_repeat_interleave(n)
            plain.batch_repeat_interleave(n)
            continue
        if rows == "select":
            idx = torch.tensor([0, 2, 5])
            grown.batch_select_indices(idx)
            plain.batch_select_indices(idx)
            continue
        k, v = _states(rng, rows, n)
        out = grown.update(k, v)
        want = plain.update(k, v)
        torch.testing.assert_close(out, want, rtol=0, atol=0)
    assert grown._key_store.shape[-2] > first_capacity  # it grew past its first storage
    grown.crop(-2)
    plain.crop(-2)
    assert grown.get_seq_length() == plain.get_seq_length()
    k, v = _states(rng, 3, 1)
    torch.testing.assert_close(grown.update(k, v), plain.update(k, v), rtol=0, atol=0)


@pytest.mark.parametrize("backbone", [TINY_GPT2, TINY_LLAMA], ids=["gpt2", "llama"])
def test_decoding_with_the_growing_cache_draws_the_same_values(monkeypatch, backbone):
    net, ctx, mask = tiny_chunked_network(backbone)
    assert kv_cache.growing_cache(net.backbone.config) is not None
    used = []
    real = kv_cache.GrowingLayer.update
    monkeypatch.setattr(kv_cache.GrowingLayer, "update",
                        lambda self, *a, **k: used.append(1) or real(self, *a, **k))
    with torch.no_grad():
        greedy = net.greedy(ctx, mask)
        sampled = net.sample(ctx, mask, num_samples=4, seed=1)
    assert used  # the decoding went through the growing layers
    monkeypatch.setattr(token, "growing_cache", lambda config: None)  # the model's own
    with torch.no_grad():
        torch.testing.assert_close(net.greedy(ctx, mask), greedy, rtol=0, atol=0)
        torch.testing.assert_close(net.sample(ctx, mask, num_samples=4, seed=1), sampled,
                                   rtol=0, atol=0)


@pytest.mark.parametrize("config", [
    transformers.MistralConfig(sliding_window=8),
    transformers.LlamaConfig(num_hidden_layers=2,
                             layer_types=["full_attention", "sliding_attention"]),
], ids=["sliding-window", "mixed-layer-types"])
def test_models_with_other_attention_layers_keep_their_own_cache(config):
    assert kv_cache.growing_cache(config) is None
    assert kv_cache.growing_cache(transformers.LlamaConfig()) is not None


def test_zero_shot_decoding_with_the_growing_cache_draws_the_same_values(monkeypatch):
    from sktime_llmforecast.nn import zero_shot

    y = load_airline()[:60]
    f = LLMForecaster(mode="zero-shot", backbone=dict(TINY_GPT2), pretrained=None,
                      num_samples=6, context_length=12, random_state=0, device="cpu")
    f.fit(y, fh=[1, 2, 3])
    caches = []
    real = zero_shot.growing_cache
    monkeypatch.setattr(zero_shot, "growing_cache",
                        lambda config: caches.append(real(config)) or caches[-1])
    grown = f.predict_quantiles(alpha=[0.1, 0.5, 0.9])
    assert caches and all(len(c.layers) for c in caches)  # filled growing caches
    monkeypatch.setattr(zero_shot, "growing_cache", lambda config: None)
    pd.testing.assert_frame_equal(f.predict_quantiles(alpha=[0.1, 0.5, 0.9]), grown)
