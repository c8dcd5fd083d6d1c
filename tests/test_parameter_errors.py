"""Wrong-typed parameters, numpy random states, derived ``layer_types`` and damaged
adapter or checkpoint files: each is accepted or raises an error naming the fix."""

import json
import re

import numpy as np
import pytest
from safetensors.torch import load_file
from sktime.datasets import load_airline

from sktime_llmforecast import LLMForecaster, PatchTokenizer
from sktime_llmforecast.backbones import (
    load_backbone,
    make_backbone_shell,
    resolve_backbone_spec,
)
from sktime_llmforecast.forecasting.plan import seed_of
from sktime_llmforecast.nn import NetworkConfig, SamplingConfig, TrainConfig
from sktime_llmforecast.pretraining import PretrainConfig, pretrain_adapter, read_card
from tests.conftest import QUICK_PRETRAIN as QUICK
from tests.conftest import TINY_GPT2_1 as TINY
from tests.conftest import TINY_LLAMA, tiny_forecaster

TINY_MAMBA = {"model_type": "mamba", "hidden_size": 32, "num_hidden_layers": 2,
              "vocab_size": 16, "state_size": 4}
FIX = "python -m sktime_llmforecast.pretraining"


def _f(**kw):
    params = dict(backbone=TINY, pretrained=None, tokenizer=PatchTokenizer(patch_len=4, stride=2),
                  context_length=8, max_epochs=1, batch_size=16, random_state=0, device="cpu")
    params.update(kw)
    return LLMForecaster(**params)


def _y():
    return load_airline().iloc[:40]


# ------------------------------------------------------------ numeric parameters


@pytest.mark.parametrize("name, value, message", [
    ("learning_rate", "0.001", "learning_rate must be a number (int or float), got str "
                               "'0.001'; pass learning_rate=0.001."),
    ("weight_decay", "1e-4", "got str '1e-4'; pass weight_decay=0.0001."),
    ("validation_fraction", "0.2", "got str '0.2'; pass validation_fraction=0.2."),
    ("temperature", "1", "temperature must be a number (int or float), got str '1'; "
                         "pass temperature=1.0."),
    ("top_p", "0.9", "got str '0.9'; pass top_p=0.9."),
    ("lora_alpha", "16", "got str '16'; pass lora_alpha=16.0."),
    ("head_dropout", "0.1", "got str '0.1'; pass head_dropout=0.1."),
    ("top_p", None, "top_p must be a number (int or float), got NoneType None; pass a "
                    "number (int or float)."),
    ("context_length", "64", "context_length must be an int, got str '64'; pass "
                             "context_length=64."),
    ("batch_size", 32.0, "batch_size must be an int, got float 32.0; pass batch_size=32."),
    ("max_epochs", "3", "max_epochs must be an int, got str '3'; pass max_epochs=3."),
    ("n_layers", "1", "n_layers must be an int, got str '1'; pass n_layers=1."),
    ("lora_rank", 2.5, "lora_rank must be an int, got float 2.5; pass an int."),
    # bools are no numbers here
    ("learning_rate", True, "learning_rate must be a number (int or float), got bool True"),
    ("batch_size", True, "batch_size must be an int, got bool True; pass an int."),
    ("n_layers", False, "n_layers must be an int, got bool False"),
    ("finetune_interface", 1, "finetune_interface must be True or False, got int 1."),
])
def test_wrong_typed_numbers_are_type_errors_naming_the_fix(name, value, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        _f(**{name: value}).plan()


def test_wrong_typed_numbers_fail_in_fit_and_in_the_configs():
    with pytest.raises(TypeError, match=re.escape("pass learning_rate=0.001")):
        _f(learning_rate="0.001").fit(_y(), fh=[1])
    with pytest.raises(TypeError, match="weight_decay must be a number"):
        TrainConfig(weight_decay="1e-4")
    with pytest.raises(TypeError, match="top_p must be a number"):
        SamplingConfig(top_p="0.9")
    with pytest.raises(TypeError, match="head_dropout must be a number"):
        NetworkConfig(head_dropout="0.1")
    with pytest.raises(TypeError, match="horizon must be an int"):
        NetworkConfig(horizon=12.0)


@pytest.mark.parametrize("name, value, match", [
    ("learning_rate", float("nan"), "learning_rate must be a finite number, got nan"),
    ("weight_decay", float("inf"), "weight_decay must be a finite number, got inf"),
    ("temperature", np.nan, "temperature must be a finite number"),
    # out of range: the ValueErrors they always were
    ("learning_rate", 0, r"learning_rate must be > 0, got 0"),
    ("weight_decay", -1e-3, "weight_decay must be >= 0"),
    ("head_dropout", 1.0, r"head_dropout must be in \[0, 1\)"),
    ("lora_alpha", 0.0, "lora_alpha must be > 0"),
    ("top_p", 1.5, r"top_p in \(0, 1\]"),
    ("context_length", 0, "context_length must be a positive int, got 0"),
    ("max_epochs", -1, "max_epochs must be a non-negative int"),
    ("quantile_levels", "0.5", "quantile_levels must be a non-empty sequence"),
])
def test_non_finite_and_out_of_range_numbers_are_value_errors(name, value, match):
    with pytest.raises(ValueError, match=match):
        _f(**{name: value}).plan()


def test_numpy_numbers_are_accepted():
    numpy_kw = dict(learning_rate=np.float64(1e-3), weight_decay=np.float32(0.0),
                    validation_fraction=np.float64(0.2), temperature=np.int64(1),
                    top_p=np.float64(0.5), lora_alpha=np.int64(8),
                    head_dropout=np.float64(0.1), context_length=np.int64(8),
                    batch_size=np.int32(16), max_epochs=np.int64(1), n_layers=np.int64(1),
                    random_state=np.int64(3))
    plain = {k: v.item() for k, v in numpy_kw.items()}
    assert _f(**numpy_kw).plan() == _f(**plain).plan()
    f = _f(**numpy_kw).fit(_y(), fh=[1, 2])
    np.testing.assert_array_equal(f.predict().values,
                                  _f(**plain).fit(_y(), fh=[1, 2]).predict().values)


# ------------------------------------------------------------------ random_state


def test_numpy_random_states_seed_every_fit_alike_and_are_not_advanced():
    y = _y()
    rs = np.random.RandomState(0)
    before = rs.get_state()
    f = _f(random_state=rs)
    first = f.fit(y, fh=[1, 2]).predict()
    second = f.fit(y, fh=[1, 2]).predict()
    after = rs.get_state()
    assert after[0] == before[0] and after[2:] == before[2:]
    np.testing.assert_array_equal(after[1], before[1])
    np.testing.assert_array_equal(first.values, second.values)
    # a fresh generator in the same state, and the int seed it stands for, agree
    again = _f(random_state=np.random.RandomState(0)).fit(y, fh=[1, 2]).predict()
    np.testing.assert_array_equal(first.values, again.values)
    as_int = _f(random_state=seed_of(np.random.RandomState(0))).fit(y, fh=[1, 2]).predict()
    np.testing.assert_array_equal(first.values, as_int.values)

    gen = np.random.default_rng(0)
    state = json.dumps(gen.bit_generator.state)
    g1 = _f(random_state=gen).fit(y, fh=[1, 2]).predict()
    g2 = _f(random_state=gen).fit(y, fh=[1, 2]).predict()
    assert json.dumps(gen.bit_generator.state) == state
    np.testing.assert_array_equal(g1.values, g2.values)


def test_seed_of():
    assert seed_of(None) == 0
    assert seed_of(7) == seed_of(np.int64(7)) == 7
    assert seed_of(2**32 - 1) == 2**32 - 1
    assert seed_of(np.random.RandomState(5)) == seed_of(np.random.RandomState(5))
    assert seed_of(np.random.default_rng(5)) == seed_of(np.random.default_rng(5))
    assert 0 <= seed_of(np.random.default_rng(5)) < 2**32


@pytest.mark.parametrize("value, error, match", [
    (-1, ValueError, re.escape("random_state must be an int in [0, 2**32 - 1] (numpy's "
                               "seeds), got -1; pass e.g. random_state=0.")),
    (2**32, ValueError, re.escape("in [0, 2**32 - 1] (numpy's seeds), got 4294967296")),
    ("0", TypeError, re.escape("random_state must be None, an int, a numpy RandomState "
                               "or a numpy Generator, got str '0'; pass e.g. "
                               "random_state=0.")),
    (True, TypeError, "random_state must be None, an int.*got bool True"),
    (0.5, TypeError, "random_state must be None, an int.*got float 0.5"),
])
def test_bad_random_states_name_the_accepted_ones(value, error, match):
    with pytest.raises(error, match=match):
        _f(random_state=value).plan()


# ---------------------------------------------------------------- layer_types


def test_a_backbone_with_derived_layer_types_truncates():
    """Mamba's ``layer_types`` is a property without a setter; it follows the
    truncated ``num_hidden_layers`` by itself."""
    cached = load_backbone(resolve_backbone_spec(TINY_MAMBA))
    shell = make_backbone_shell(cached, n_layers=1)
    assert len(shell.base_model.layers) == shell.config.num_hidden_layers == 1
    assert len(shell.config.layer_types) == 1
    assert cached.config.num_hidden_layers == len(cached.base_model.layers) == 2
    f = LLMForecaster(backbone=TINY_MAMBA, pretrained=None, n_layers=1, context_length=8,
                      max_epochs=1, device="cpu", random_state=0).fit(_y(), fh=[1, 2])
    assert np.isfinite(f.predict().values).all()


def test_a_stored_layer_types_list_is_still_cut():
    qwen2 = dict(TINY_LLAMA, model_type="qwen2")
    cached = load_backbone(resolve_backbone_spec(qwen2))
    shell = make_backbone_shell(cached, n_layers=1)
    assert shell.config.layer_types == cached.config.layer_types[:1]
    assert len(cached.config.layer_types) == 3


# ------------------------------------------------------------- damaged adapters


def _arch(**kw):
    return tiny_forecaster(**{"backbone": TINY, "context_length": 24, "prediction_length": 6,
                              "max_epochs": 0, **kw})


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    out = tmp_path_factory.mktemp("adapter") / "tiny"
    pretrain_adapter(_arch(), out, PretrainConfig(steps=2, **QUICK))
    return out


def _copy(adapter, folder, card=None, weights=None):
    """A copy of ``adapter`` in ``folder`` with the card text or weights replaced."""
    stem = folder / "bad"
    text = card if card is not None else adapter.with_suffix(".json").read_text()
    stem.with_suffix(".json").write_text(text)
    blob = weights if weights is not None else adapter.with_suffix(".safetensors").read_bytes()
    stem.with_suffix(".safetensors").write_bytes(blob)
    return stem


def _edited(adapter, edit):
    card = json.loads(adapter.with_suffix(".json").read_text())
    edit(card)
    return json.dumps(card)


def _damaged(path, problem):
    return re.escape(f"The adapter file {path} is damaged: {problem}") + ".*" + re.escape(
        f"({FIX}), or pass a valid adapter or pretrained=None.")


@pytest.mark.parametrize("edit, problem", [
    (lambda c: c.pop("weights"), "it has no 'weights.sha256'"),
    (lambda c: c["network"].pop("horizon"), "it has no 'network.horizon'"),
    (lambda c: c["network"]["tokenizer"].update(params=[4]),
     "its 'network.tokenizer.params' is list [4]"),
    (lambda c: c.update(format_version="1"), "its format_version is '1', not an int"),
    (lambda c: c["network"]["tokenizer"]["params"].update(bogus=1),
     "its tokenizer record does not rebuild ("),
])
def test_a_damaged_card_is_one_value_error_naming_the_file(adapter, tmp_path, edit, problem):
    bad = _copy(adapter, tmp_path, card=_edited(adapter, edit))
    match = _damaged(bad.with_suffix(".json"), problem)
    with pytest.raises(ValueError, match=match):
        read_card(bad)
    with pytest.raises(ValueError, match=match):
        _arch(pretrained=bad).fit(load_airline(), fh=[1])


def test_a_card_that_is_not_json_names_the_file(adapter, tmp_path):
    bad = _copy(adapter, tmp_path, card='{"format": "sktime-llmforecast-adapter", ')
    with pytest.raises(ValueError, match=_damaged(bad.with_suffix(".json"), "not JSON (")):
        read_card(bad)
    bad.with_suffix(".json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match=_damaged(bad.with_suffix(".json"), "not JSON (")):
        read_card(bad)


def test_other_refusals_stay_as_they_were(adapter, tmp_path):
    bad = _copy(adapter, tmp_path, card="[1, 2]")
    with pytest.raises(ValueError, match="is not an sktime-llmforecast adapter card"):
        read_card(bad)
    bad = _copy(adapter, tmp_path, card=_edited(adapter, lambda c: c.update(format_version=9)))
    with pytest.raises(ValueError, match="has format version 9.*Upgrade it"):
        read_card(bad)
    bad = _copy(adapter, tmp_path, card=_edited(
        adapter, lambda c: c["network"]["tokenizer"].update({"class": "os.system"})))
    with pytest.raises(ValueError, match="Unknown tokenizer class 'os.system'"):
        read_card(bad)


@pytest.mark.parametrize("cut", [0.5, 0.0])
def test_garbage_weights_with_a_matching_checksum_name_the_file(adapter, tmp_path, cut):
    """Truncated (or garbage) safetensors whose checksum was recorded as is."""
    import hashlib

    blob = adapter.with_suffix(".safetensors").read_bytes()
    blob = blob[: int(len(blob) * cut)] if cut else b"not safetensors at all"
    card = _edited(adapter, lambda c: c["weights"].update(
        sha256=hashlib.sha256(blob).hexdigest(), bytes=len(blob)))
    bad = _copy(adapter, tmp_path, card=card, weights=blob)
    with pytest.raises(ValueError, match=_damaged(bad.with_suffix(".safetensors"),
                                                  "not a safetensors file (")):
        _arch(pretrained=bad).fit(load_airline(), fh=[1])


def test_a_damaged_weights_file_still_fails_the_checksum(adapter, tmp_path):
    blob = adapter.with_suffix(".safetensors").read_bytes()
    bad = _copy(adapter, tmp_path, weights=blob[:-10])
    with pytest.raises(ValueError, match="does not match its card's checksum"):
        _arch(pretrained=bad).fit(load_airline(), fh=[1])


# ---------------------------------------------------------- damaged checkpoints


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpt")
    pretrain_adapter(_arch(), root / "out", PretrainConfig(steps=2, **QUICK),
                     checkpoint_dir=root / "ck")
    return root / "ck"


@pytest.mark.parametrize("name, damage", [
    ("state.json", lambda b: b[: len(b) // 2]),
    ("state.json", lambda b: json.dumps({k: v for k, v in json.loads(b).items()
                                         if k != "history"}).encode()),
    ("trainable.safetensors", lambda b: b[: len(b) // 2]),
    ("optimizer.pt", lambda b: b[: len(b) // 2]),
])
def test_a_damaged_checkpoint_file_is_a_value_error_naming_it(checkpoint, tmp_path, name,
                                                              damage):
    import shutil

    folder = tmp_path / "ck"
    shutil.copytree(checkpoint, folder)
    (folder / name).write_bytes(damage((folder / name).read_bytes()))
    match = re.escape(f"The checkpoint file {folder / name} is damaged or missing") + (
        ".*start a new checkpoint folder")
    with pytest.raises(ValueError, match=match):
        pretrain_adapter(_arch(), tmp_path / "out", PretrainConfig(steps=2, **QUICK),
                         checkpoint_dir=folder, resume=True)
    assert load_file(str(checkpoint / "trainable.safetensors"))  # the original is intact


@pytest.mark.parametrize("kw, error, match", [
    ({"learning_rate": "0.001"}, TypeError, "learning_rate must be a number.*pass learning_rate=0.001"),
    ({"max_minutes": "5"}, TypeError, "max_minutes must be a number"),
    ({"weight_decay": -1.0}, ValueError, "weight_decay must be >= 0"),
    ({"seed": -1}, ValueError, "seed must be a non-negative int"),
    ({"steps": "10"}, TypeError, "steps must be an int"),
])
def test_pretraining_settings_name_the_fix(kw, error, match):
    from sktime_llmforecast.pretraining import PretrainConfig

    with pytest.raises(error, match=match):
        PretrainConfig(**kw)
