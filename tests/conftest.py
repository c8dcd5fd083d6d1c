"""Test configuration: no test may reach the network; tiny backbones for speed."""

import os

# set before transformers is imported anywhere: every load must come from disk
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest

TINY_GPT2 = {
    "model_type": "gpt2",
    "n_layer": 2,
    "n_embd": 32,
    "n_head": 2,
    "n_positions": 128,
    "vocab_size": 16,
    "bos_token_id": 0,
    "eos_token_id": 0,
}
TINY_LLAMA = {
    "model_type": "llama",
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 3,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "vocab_size": 16,
    "max_position_embeddings": 128,
    "bos_token_id": 0,
    "eos_token_id": 0,
}

#: one block of the tiny GPT-2, and PretrainConfig settings for a few quick steps
TINY_GPT2_1 = dict(TINY_GPT2, n_layer=1)
QUICK_PRETRAIN = dict(n_validation=16, eval_every=2, checkpoint_every=2, warmup_steps=1,
                      batch_size=8, progress=False)


def tiny_forecaster(**params):
    """A quick patch-mode ``LLMForecaster`` on the tiny GPT-2 (``params`` override)."""
    from sktime_llmforecast import LLMForecaster, PatchTokenizer

    defaults = dict(backbone=TINY_GPT2, pretrained=None,
                    tokenizer=PatchTokenizer(patch_len=8, stride=4), context_length=36,
                    max_epochs=3, random_state=0, device="cpu")
    return LLMForecaster(**{**defaults, **params})


def tiny_chunked_network(backbone):
    """``(network, context, mask)``: a chunked-digit (k=2) token network fitted one
    epoch on AirPassengers around ``backbone``, and two of its 24-month windows
    (the last one and one a year earlier), all observed."""
    import numpy as np
    import torch
    from sktime.datasets import load_airline

    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.tokenizers import ChunkedDigitTokenizer

    y = load_airline()
    f = LLMForecaster(pretrained=None, backbone=dict(backbone), random_state=0,
                      tokenizer=ChunkedDigitTokenizer(k=2), context_length=24,
                      max_epochs=1, num_samples=4, device="cpu")
    f.fit(y, fh=np.arange(1, 7))
    ctx = torch.tensor(np.stack([y.values[-24:], y.values[-36:-12]]), dtype=torch.float64)
    return f.network_, ctx, torch.ones_like(ctx, dtype=torch.bool)


def pretrain_tiny_adapters(folder, archs, prediction_length):
    """Pretrain a few steps of one tiny adapter (one block of the tiny GPT-2) per
    ``archs`` entry, ``name -> (tokenizer, context_length)``, into ``folder``; patch
    adapters train MSE and quantile CRPS, token adapters cross-entropy. Returns
    ``name -> path stem``."""
    from sktime_llmforecast import LLMForecaster, PatchTokenizer
    from sktime_llmforecast.pretraining import PretrainConfig, pretrain_adapter

    stems = {}
    for name, (tok, context) in archs.items():
        f = LLMForecaster(backbone=TINY_GPT2_1, n_layers=1, pretrained=None, tokenizer=tok,
                          context_length=context, prediction_length=prediction_length,
                          device="cpu")
        patch = isinstance(tok, PatchTokenizer)
        losses = ("mse", "crps_quantile") if patch else ("token_ce",)
        pretrain_adapter(f, folder / name, PretrainConfig(steps=4, **QUICK_PRETRAIN),
                         losses=losses)
        stems[name] = folder / name
    return stems


@pytest.fixture
def tiny_gpt2():
    return dict(TINY_GPT2)


@pytest.fixture
def tiny_llama():
    return dict(TINY_LLAMA)


def _guard_sockets():
    """Refuse every connection that leaves this machine (tests must stay offline)."""
    import ipaddress
    import socket

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def _check(address):
        host = address[0] if isinstance(address, tuple) else None
        if host is None:  # unix sockets
            return
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host == "localhost"
        if not local:
            raise OSError(f"tests must not use the network (tried to connect to {address!r})")

    def connect(self, address):
        _check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        _check(address)
        return real_connect_ex(self, address)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex


_guard_sockets()
