"""Query resampler, LoRA fine-tuning and text prompts."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from sktime_llmforecast import LLMForecaster
from sktime_llmforecast.backbones import load_backbone, resolve_backbone_spec
from sktime_llmforecast.tokenizers import (
    ChunkedDigitTokenizer,
    DigitTokenizer,
    PatchTokenizer,
)
from tests.conftest import TINY_GPT2, TINY_LLAMA


def _series(n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.Series(10 + 3 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, n))


def _f(**kw):
    params = dict(pretrained=None, backbone=dict(TINY_GPT2), tokenizer=PatchTokenizer(8, 4),
                  context_length=32, max_epochs=2, random_state=0, device="cpu")
    params.update(kw)
    return LLMForecaster(**params)


def _backbone_inputs(f, y, fh=(1, 2)):
    """The inputs_embeds the backbone receives for the first training window."""
    net = f.clone().fit(y, fh=list(fh)).network_
    seen = {}

    def grab(module, args, kwargs):
        seen.setdefault("emb", kwargs["inputs_embeds"])

    hook = net.backbone.base_model.register_forward_pre_hook(grab, with_kwargs=True)
    with torch.no_grad():
        ctx = torch.tensor(y.to_numpy()[-net.config.context_length:], dtype=torch.float64)[None]
        net.predict(ctx, torch.ones_like(ctx, dtype=torch.bool), greedy=True)
    hook.remove()
    return net, seen["emb"]


# ------------------------------------------------------------------ resampler
def test_resampler_gives_the_llm_the_same_length_for_100_and_5000_values():
    lengths = {}
    for n in (100, 5000):
        f = _f(interface="resampler", n_queries=8, context_length=n, max_epochs=0)
        net, emb = _backbone_inputs(f, _series(n + 40))
        assert net.interface.n_queries == 8
        lengths[n] = emb.shape[1]
    assert lengths == {100: 8, 5000: 8}


def test_resampler_lets_a_history_longer_than_the_backbone_context_through():
    short_ctx = dict(TINY_GPT2, n_positions=64)
    y = _series(460)
    n_patches = PatchTokenizer(8, 4).n_patches(400)
    assert n_patches > 64
    with pytest.raises(ValueError, match="use interface='resampler'"):
        _f(backbone=short_ctx, context_length=400).fit(y, fh=[1, 2])
    f = _f(backbone=short_ctx, context_length=400, interface="resampler", n_queries=16,
           max_epochs=1)
    pred = f.fit(y, fh=[1, 2]).predict()
    assert np.isfinite(pred).all() and len(pred) == 2


def test_resampler_ignores_padding_and_trains():
    f = _f(interface="resampler", n_queries=4, context_length=64, max_epochs=6,
           learning_rate=3e-3).fit(_series(40), fh=[1, 2, 3])  # history < context
    losses = f.history_["train_loss"]
    assert losses[-1] < losses[0]
    assert np.isfinite(f.predict()).all()


# ------------------------------------------------------------------ LoRA
@pytest.mark.parametrize(
    "backbone, per_layer",
    [
        (TINY_GPT2, 4 * (32 + 96)),  # c_attn: 32 -> 3 * 32
        (TINY_LLAMA, 4 * (32 + 32) + 4 * (32 + 16)),  # q_proj 32->32, v_proj 32->16
    ],
    ids=["gpt2", "llama"],
)
def test_lora_trains_only_the_adapters(backbone, per_layer):
    y = _series(200)
    frozen = _f(backbone=dict(backbone)).fit(y, fh=[1, 2])
    lora = _f(backbone=dict(backbone), finetune="lora", lora_rank=4).fit(y, fh=[1, 2])
    n_layers = backbone.get("n_layer", backbone.get("num_hidden_layers"))
    bb = lora.network_.backbone
    trainable = [n for n, p in bb.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    n_adapter = sum(p.numel() for p in bb.parameters() if p.requires_grad)
    assert n_adapter == n_layers * per_layer
    assert lora.n_trainable_params_ == frozen.n_trainable_params_ + n_adapter
    # the adapters moved; the cached backbone never saw them
    lora_b = [p for n, p in bb.named_parameters() if "lora_B" in n]
    assert any(p.abs().sum() > 0 for p in lora_b)
    cached = load_backbone(resolve_backbone_spec(dict(backbone)))
    assert not any("lora" in n for n, _ in cached.named_modules())
    # pickling keeps the adapters (and only trained tensors)
    again = pickle.loads(pickle.dumps(lora))
    pd.testing.assert_series_equal(again.predict(), lora.predict())


def test_lora_needs_transformer_blocks():
    with pytest.raises(ValueError, match="n_layers=0 keeps none"):
        _f(finetune="lora", n_layers=0).fit(_series(100), fh=[1])
    with pytest.raises(ValueError, match="lora_rank must be a positive int"):
        _f(finetune="lora", lora_rank=0).fit(_series(100), fh=[1])


# ------------------------------------------------------------------ prompt
def test_prompt_is_placed_before_the_series_tokens():
    y = _series(120)
    plain_net, plain = _backbone_inputs(_f(), y)
    text = "monthly sales, units"
    net, prompted = _backbone_inputs(_f(prompt=text), y)
    ids = [b % TINY_GPT2["vocab_size"] for b in text.encode("utf-8")]  # no tokenizer
    assert net.prompt_ids.tolist() == ids and plain_net.n_prompt_tokens == 0
    assert prompted.shape[1] == plain.shape[1] + len(ids)
    table = net.backbone.get_input_embeddings().weight
    torch.testing.assert_close(prompted[0, : len(ids)], table[ids].to(prompted.dtype))


def test_prompt_changes_the_forecast_and_works_in_token_and_zero_shot_modes():
    y = _series(120)
    a = _f().fit(y, fh=[1, 2]).predict()
    b = _f(prompt="hourly temperature, degrees C").fit(y, fh=[1, 2]).predict()
    assert not np.allclose(a, b)
    tok = ChunkedDigitTokenizer(k=2, precision=1, integer_digits=2)
    backbone = dict(TINY_GPT2, n_positions=512)
    t = _f(backbone=backbone, tokenizer=tok, context_length=12, max_epochs=1,
           prompt="daily counts", point_forecast="greedy").fit(y, fh=[1, 2])
    assert t.network_.n_prompt_tokens == len("daily counts")
    assert np.isfinite(t.predict()).all()
    z = _f(backbone=backbone, mode="zero-shot", tokenizer=DigitTokenizer(precision=1),
           context_length=12, num_samples=3, prompt="daily counts")
    assert np.isfinite(z.fit(y, fh=[1, 2]).predict()).all()


def test_prompt_must_be_text():
    with pytest.raises(TypeError, match="prompt must be a string"):
        _f(prompt=3).fit(_series(100), fh=[1])


# ------------------------------------------------------------------ demonstrations
def test_zero_shot_demonstrations_are_earlier_windows_oldest_first():
    from sktime_llmforecast.tokenizers import DigitTokenizer

    y = _series(120)
    tok = DigitTokenizer(precision=1)
    backbone = dict(TINY_GPT2, n_positions=1024)
    f = _f(backbone=backbone, mode="zero-shot", tokenizer=tok, context_length=12,
           num_samples=2, n_demonstrations=2, prompt="daily counts")
    f.fit(y, fh=[1, 2])
    assert len(f._memory.series()[0]) == 36  # the context and two earlier windows
    pred = f.predict()
    assert np.isfinite(pred).all()
    net = f.network_
    values = y.to_numpy()

    def text(v):  # each window scaled on its own values
        return net._as_text(torch.tensor(v, dtype=torch.float64))[0]

    expected = net._encode_text(
        "daily counts\n"
        + text(values[-36:-24]) + ",\n"
        + text(values[-24:-12]) + ",\n"
        + text(values[-12:]) + ","
    )
    row = torch.tensor(f._memory.series()[0], dtype=torch.float64)
    ids, _, _ = net.prompt_for(row, torch.ones_like(row, dtype=torch.bool))
    assert ids == expected
    with pytest.raises(ValueError, match="n_demonstrations applies to mode='zero-shot'"):
        _f(n_demonstrations=1).fit(y, fh=[1])
