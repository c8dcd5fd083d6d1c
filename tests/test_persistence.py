"""Persistence, determinism and devices.

sktime ``save``/``load`` and pickling round-trip a fitted forecaster to identical
forecasts; the artefact holds the trained tensors (safetensors) and a reference
to the backbone, never its frozen weights.
"""

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load as load_safetensors
from sktime.base import load
from sktime.datasets import load_airline

from sktime_llmforecast import LLMForecaster, PatchTokenizer
from sktime_llmforecast.tokenizers import BinTokenizer
from tests.conftest import TINY_LLAMA

BIG_VOCAB = dict(TINY_LLAMA, vocab_size=8192)  # 8192 x 32 frozen floats = 1 MiB
FROZEN_BYTES = 8192 * 32 * 4


def _f(**kw):
    params = dict(pretrained=None, backbone=BIG_VOCAB, tokenizer=PatchTokenizer(patch_len=6, stride=6),
                  context_length=24, max_epochs=2, random_state=0, device="cpu")
    params.update(kw)
    return LLMForecaster(**params)


@pytest.mark.parametrize(
    "kw",
    [{}, {"finetune": "lora", "lora_rank": 2}, {"finetune": "layernorm", "interface": "mlp"},
     {"tokenizer": BinTokenizer(n_bins=32, low=-4.0, high=4.0)},
     {"backbone": dict(BIG_VOCAB, tie_word_embeddings=True)}],
    ids=["frozen", "lora", "layernorm-mlp", "bins", "tied-embeddings"],
)
def test_save_load_round_trip_is_identical_and_small(tmp_path, kw):
    y = load_airline()
    f = _f(**kw).fit(y, fh=[1, 2, 3])
    expected = f.predict()
    f.save(tmp_path / "model")
    path = tmp_path / "model.zip"
    assert path.stat().st_size < FROZEN_BYTES / 4  # no copy of the frozen weights
    back = load(path)
    pd.testing.assert_series_equal(back.predict(), expected)
    pd.testing.assert_series_equal(pickle.loads(pickle.dumps(f)).predict(), expected)
    # the in-memory variant, and the loaded one still updates and refits
    pd.testing.assert_series_equal(load(f.save()).predict(), expected)
    later = pd.period_range(y.index[-1] + 1, periods=3, freq=y.index.freq)
    back.update(pd.Series(float(y.iloc[-1]), index=later, name=y.name), update_params=False)
    pred = back.predict()
    assert np.isfinite(pred.values).all() and pred.index[0] == later[-1] + 1


def test_weights_are_stored_as_safetensors_without_frozen_backbone():
    f = _f(finetune="layernorm").fit(load_airline(), fh=[1, 2])
    net = f.network_
    _, (cls, config, tokenizer, blob, training) = net.__reduce_ex__(4)
    stored = load_safetensors(blob)
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    frozen = {n for n, p in net.named_parameters() if not p.requires_grad}
    assert trainable <= set(stored)
    assert not frozen & set(stored)
    assert any("norm" in n for n in stored) and "backbone.model.embed_tokens.weight" in frozen
    assert config.spec == f.network_.config.spec  # the reference to the backbone


def test_load_in_a_fresh_process_gives_the_same_forecast(tmp_path):
    y = load_airline()
    f = _f().fit(y, fh=[1, 2, 3])
    f.save(tmp_path / "model")  # a str path names the file without ".zip"
    code = (
        "import sys; sys.path.insert(0, '.');"
        "from sktime.base import load;"
        f"print(load({str(tmp_path / 'model')!r}).predict().to_numpy().tolist())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    np.testing.assert_allclose(eval(out.stdout.strip().splitlines()[-1]), f.predict().values,
                               rtol=0, atol=1e-5)


def test_unpickling_leaves_the_global_rng_alone():
    blob = pickle.dumps(_f().fit(load_airline(), fh=[1]))
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    pickle.loads(blob)
    assert torch.equal(torch.rand(3), expected)


def test_same_random_state_same_forecast_different_state_differs():
    y = load_airline()
    a = _f(random_state=7).fit(y, fh=[1, 2, 3]).predict()
    b = _f(random_state=7).fit(y, fh=[1, 2, 3]).predict()
    c = _f(random_state=8).fit(y, fh=[1, 2, 3]).predict()
    pd.testing.assert_series_equal(a, b)
    assert not np.allclose(a.values, c.values)


def test_devices():
    y = load_airline()
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU is available.*device='auto'"):
            _f(device="cuda").fit(y, fh=[1])
    f = _f(device="auto").fit(y, fh=[1])
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(f.network_.parameters()).device.type == expected


def test_tests_cannot_reach_the_network():
    import socket

    with pytest.raises(OSError, match="must not use the network"):
        socket.create_connection(("203.0.113.1", 443), timeout=1)
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
