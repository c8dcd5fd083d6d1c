"""Test configuration: no test may reach the network; tiny backbones for speed."""

import os

# set before transformers is imported anywhere: every load must come from disk
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest  # noqa: E402

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


@pytest.fixture
def tiny_gpt2():
    return dict(TINY_GPT2)


@pytest.fixture
def tiny_llama():
    return dict(TINY_LLAMA)
