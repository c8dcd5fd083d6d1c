"""Sampled paths that share their window's keys and values (nn/prefix_attention.py)."""

import pytest
import torch
import transformers
from transformers.cache_utils import DynamicLayer

from sktime_llmforecast.nn import kv_cache, prefix_attention, token
from tests.conftest import TINY_GPT2, TINY_LLAMA, tiny_chunked_network


def _model(n_kv_heads, attention="sdpa"):
    config = transformers.LlamaConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=n_kv_heads, vocab_size=50, max_position_embeddings=128)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).eval()
    model.config._attn_implementation = attention
    return model


def _steps(model, ids, attention, repeats, share, new_tokens):
    """Logits of a prefill then of ``new_tokens`` steps (each ``(R * S, n)`` ids),
    the rows' caches shared or repeated."""
    cache = kv_cache.growing_cache(model.config)
    with torch.no_grad():
        model(input_ids=ids, attention_mask=attention, use_cache=True, past_key_values=cache)
        if share:
            assert prefix_attention.share_prefix(model, cache, repeats)
        else:
            cache.batch_repeat_interleave(repeats)
        attention = attention.repeat_interleave(repeats, dim=0)
        out = []
        with prefix_attention.prefix_attention(cache):
            for step in new_tokens:
                attention = torch.cat([attention, torch.ones_like(step)], dim=1)
                logits = model(input_ids=step, attention_mask=attention, use_cache=True,
                               past_key_values=cache).logits
                out.append(logits)
    return out


@pytest.mark.parametrize("n_kv_heads", [4, 2, 1], ids=["mha", "gqa", "mqa"])
def test_shared_prefix_attention_gives_the_logits_of_repeated_keys(n_kv_heads):
    """Two rows (one with padded window positions), three paths each, steps of one
    and of two tokens (causal inside the paths' own entries)."""
    model = _model(n_kv_heads)
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 50, (2, 9), generator=gen)
    attention = torch.ones(2, 9, dtype=torch.long)
    attention[1, :3] = 0
    steps = [torch.randint(0, 50, (6, n), generator=gen) for n in (1, 1, 2, 1)]
    shared = _steps(model, ids, attention, 3, True, steps)
    repeated = _steps(model, ids, attention, 3, False, steps)
    for a, b in zip(shared, repeated, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_the_shared_attention_is_sdpa_wherever_nothing_is_shared():
    """After a shared decoding, the model's forward passes are SDPA's."""
    model = _model(2)
    ids = torch.randint(0, 50, (3, 7), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        before = model(input_ids=ids).logits
    _steps(model, ids[:1], torch.ones(1, 7, dtype=torch.long), 2, True,
           [torch.ones(2, 1, dtype=torch.long)])
    assert model.config._attn_implementation == prefix_attention.ATTENTION_NAME
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=ids).logits, before, rtol=0, atol=0)


def test_eager_attention_repeats_the_window_instead():
    model = _model(2, attention="eager")
    cache = kv_cache.growing_cache(model.config)
    with torch.no_grad():
        model(input_ids=torch.ones(1, 4, dtype=torch.long), use_cache=True,
              past_key_values=cache)
    assert not prefix_attention.share_prefix(model, cache, 3)
    assert all(layer.prefix_keys is None for layer in cache.layers)


def test_a_layer_sharing_its_prefix_counts_it_and_keeps_its_rows():
    layer = kv_cache.GrowingLayer()
    k = torch.randn(2, 1, 5, 4)
    layer.update(k, k)
    layer.share_prefix(3)
    assert layer.get_seq_length() == 5 and layer.keys.shape == (6, 1, 0, 4)
    own = torch.randn(6, 1, 1, 4)
    keys, _ = layer.update(own, own)
    torch.testing.assert_close(keys, own, rtol=0, atol=0)  # the paths' own entries
    assert layer.get_seq_length() == 6
    for call in (lambda: layer.batch_repeat_interleave(2),
                 lambda: layer.batch_select_indices(torch.tensor([0])),
                 lambda: layer.crop(-1)):
        with pytest.raises(NotImplementedError, match="keeps its rows"):
            call()
    with pytest.raises(RuntimeError, match="once"):
        layer.share_prefix(2)
    assert DynamicLayer in type(layer).__mro__


@pytest.mark.parametrize("backbone", [TINY_GPT2, TINY_LLAMA], ids=["gpt2", "llama"])
def test_sampling_with_a_shared_window_draws_the_values_of_a_repeated_one(
        monkeypatch, backbone):
    net, ctx, mask = tiny_chunked_network(backbone)
    mask[1, :5] = False  # a window with missing values: its prefix is padded
    shared = []
    real = kv_cache.GrowingLayer.share_prefix
    monkeypatch.setattr(kv_cache.GrowingLayer, "share_prefix",
                        lambda self, r: shared.append(r) or real(self, r))
    with torch.no_grad():
        sampled = net.sample(ctx, mask, num_samples=8, seed=1)
    assert shared and set(shared) == {8}  # every layer shared the window
    monkeypatch.setattr(token, "share_prefix", lambda *args: False)  # repeat it
    with torch.no_grad():
        torch.testing.assert_close(net.sample(ctx, mask, num_samples=8, seed=1), sampled,
                                   rtol=0, atol=0)


def test_another_threads_forward_is_not_read_against_the_active_cache():
    """The active cache is the calling thread's: a forward pass that another thread
    runs meanwhile on the same model is plain SDPA."""
    import threading

    model = _model(2)
    ids = torch.randint(0, 50, (2, 5), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        before = model(input_ids=ids).logits
        cache = kv_cache.growing_cache(model.config)
        model(input_ids=ids[:1], use_cache=True, past_key_values=cache)
        assert prefix_attention.share_prefix(model, cache, 2)
        seen = []
        with prefix_attention.prefix_attention(cache):
            worker = threading.Thread(target=lambda: seen.append(model(input_ids=ids).logits))
            worker.start()
            worker.join()
    torch.testing.assert_close(seen[0], before, rtol=0, atol=0)
