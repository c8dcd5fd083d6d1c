"""Pretraining: the synthetic generator, the resumable trainer, adapters and loading."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load as load_safetensors
from sktime.datasets import load_airline

from sktime_llmforecast import BinTokenizer, LLMForecaster, PatchTokenizer
from sktime_llmforecast.nn import BackboneNetwork
from sktime_llmforecast.pretraining import (
    COMPONENTS,
    PretrainConfig,
    SyntheticSeriesGenerator,
    pretrain_adapter,
    read_card,
    shipped_adapters,
    synthetic_windows,
)
from sktime_llmforecast.pretraining.cli import main as cli_main
from sktime_llmforecast.pretraining.corpus import validation_windows
from sktime_llmforecast.tokenizers import TokenizerSwitcher
from tests.conftest import QUICK_PRETRAIN as QUICK
from tests.conftest import TINY_GPT2_1 as TINY
from tests.conftest import tiny_forecaster


def _arch(**kw):
    return tiny_forecaster(**{"backbone": TINY, "context_length": 24, "prediction_length": 6,
                              "max_epochs": 20, **kw})


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    out = tmp_path_factory.mktemp("adapter") / "tiny"
    card = pretrain_adapter(_arch(), out, PretrainConfig(steps=6, **QUICK))
    return out, card


# ------------------------------------------------------------------ generator
def test_generator_is_seeded_and_shaped():
    gen = SyntheticSeriesGenerator()
    a, info_a = gen.sample(50, 40, seed=3)
    b, info_b = gen.sample(50, 40, seed=3)
    c, _ = gen.sample(50, 40, seed=4)
    assert a.shape == (50, 40) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    assert info_a == info_b
    assert not np.allclose(a, c)


def test_every_component_is_reachable_and_scales_span_orders_of_magnitude():
    values, info = SyntheticSeriesGenerator(family_weights=None).sample(1500, 64, seed=0)
    seen = set().union(*info)
    assert seen == set(COMPONENTS)
    spread = np.log10(np.abs(values).mean(axis=1) + 1e-300)
    assert spread.max() - spread.min() > 6
    counts = [i for i, parts in enumerate(info) if "counts" in parts]
    assert np.all(values[counts] == np.round(values[counts])) and (values[counts] >= 0).all()
    inter = [i for i, parts in enumerate(info) if "intermittent" in parts]
    assert (values[inter] == 0).mean() > 0.3


def test_components_can_be_switched_off():
    gen = SyntheticSeriesGenerator(p_trend=0, p_season=0, p_random_walk=0, p_level_shift=0,
                                   p_spikes=0, p_intermittent=0, p_counts=0,
                                   family_weights=None)
    _, info = gen.sample(200, 32, seed=1)
    assert set().union(*info) <= {"noise:iid", "noise:ar", "noise:arma"}


@pytest.mark.parametrize("kw, match", [
    (dict(p_trend=1.5), "p_trend"),
    (dict(p_intermittent=0.6, p_counts=0.6), "p_intermittent"),
    (dict(max_seasonalities=0), "max_seasonalities"),
    (dict(noise_range=(0.5, 0.1)), "noise_range"),
])
def test_generator_rejects_bad_settings(kw, match):
    with pytest.raises(ValueError, match=match):
        SyntheticSeriesGenerator(**kw).sample(2, 20, seed=0)


def test_windows_mask_short_histories_and_drop_unforecastable_targets():
    w = synthetic_windows(SyntheticSeriesGenerator(), 300, 32, 8, seed=0, p_short=0.5)
    assert w.context.shape == (300, 32) and w.target.shape == (300, 8)
    short = ~w.mask.all(axis=1)
    assert 0.3 < short.mean() < 0.7
    assert (w.mask.sum(axis=1) >= 8).all()
    assert (w.context[~w.mask] == 0).all()
    assert w.mask[:, -1].all()  # padding is on the left
    obs = np.where(w.mask, w.context, np.nan)
    loc, sd = np.nanmean(obs, axis=1), np.nanstd(obs, axis=1)
    z = np.abs(w.target - loc[:, None]) / np.maximum(sd, 1e-3 * np.nanmean(np.abs(obs), 1))[:, None]
    assert np.nanmax(z) <= 50.0 + 1e-6


# ------------------------------------------------------------------ trainer

@pytest.mark.parametrize("ambient", [1, 4])
def test_corpus_bits_do_not_depend_on_the_blas_thread_count(ambient):
    """OpenBLAS's Cholesky changes in the last bits with its thread count (by default
    the core count); the corpus runs it on a fixed count, so a 16-core GPU machine and
    a 2-core laptop draw the same windows."""
    from threadpoolctl import threadpool_limits

    from sktime_llmforecast.pretraining.corpus import CORPUS_BLAS_THREADS

    def draw():
        w = synthetic_windows(SyntheticSeriesGenerator(), 64, 96, 16, seed=(0, 7))
        return np.concatenate([w.context, w.target], axis=1)

    with threadpool_limits(limits=CORPUS_BLAS_THREADS, user_api="blas"):
        reference = draw()
    with threadpool_limits(limits=ambient, user_api="blas"):
        other = draw()
    assert np.array_equal(reference, other)

def test_resumed_run_equals_uninterrupted_run(tmp_path, monkeypatch):
    import sktime_llmforecast.pretraining.trainer as trainer

    config = PretrainConfig(steps=4, **QUICK)
    full = pretrain_adapter(_arch(), tmp_path / "full", config)
    # interrupted after 2 steps (a checkpoint every 2), then resumed to 4
    real, calls = trainer.step_batch, {"n": 0}

    def interrupted(*args, **kwargs):
        if calls["n"] == 2:
            raise KeyboardInterrupt
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer, "step_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pretrain_adapter(_arch(), tmp_path / "cut", config, checkpoint_dir=tmp_path / "ck")
    assert json.loads((tmp_path / "ck" / "state.json").read_text())["step"] == 2
    monkeypatch.setattr(trainer, "step_batch", real)
    resumed = pretrain_adapter(_arch(), tmp_path / "resumed", config,
                               checkpoint_dir=tmp_path / "ck", resume=True)
    assert resumed["pretraining"]["steps_run"] == 4
    a = load_safetensors((tmp_path / "full.safetensors").read_bytes())
    b = load_safetensors((tmp_path / "resumed.safetensors").read_bytes())
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    assert resumed["validation"]["loss"] == full["validation"]["loss"]


def test_resume_checks_the_checkpoint(tmp_path):
    config = PretrainConfig(steps=2, **QUICK)
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        pretrain_adapter(_arch(), tmp_path / "x", config, checkpoint_dir=tmp_path / "empty",
                         resume=True)
    ck = tmp_path / "ck"
    pretrain_adapter(_arch(), tmp_path / "x", config, checkpoint_dir=ck)
    # the same settings resume (nothing left to run: the same adapter)
    again = pretrain_adapter(_arch(), tmp_path / "y", config, checkpoint_dir=ck, resume=True)
    assert again["pretraining"]["steps_run"] == 2
    assert again["weights"]["sha256"] == read_card(tmp_path / "x")["weights"]["sha256"]
    with pytest.raises(ValueError, match="settings.*'steps': \\(2, 4\\)"):
        pretrain_adapter(_arch(), tmp_path / "x", PretrainConfig(steps=4, **QUICK),
                         checkpoint_dir=ck, resume=True)
    with pytest.raises(ValueError, match="batch_size"):
        pretrain_adapter(_arch(), tmp_path / "x", PretrainConfig(steps=2, **dict(QUICK, batch_size=4)),
                         checkpoint_dir=ck, resume=True)
    with pytest.raises(ValueError, match="another network.*context_length"):
        pretrain_adapter(_arch(context_length=32), tmp_path / "x", config, checkpoint_dir=ck,
                         resume=True)
    with pytest.raises(ValueError, match="another generator"):
        pretrain_adapter(_arch(), tmp_path / "x", config, resume=True, checkpoint_dir=ck,
                         generator=SyntheticSeriesGenerator(p_spikes=0.5))


def test_a_checkpoint_torn_between_files_is_refused(tmp_path):
    ck1, ck2 = tmp_path / "ck1", tmp_path / "ck2"
    pretrain_adapter(_arch(), tmp_path / "a", PretrainConfig(steps=2, **QUICK), checkpoint_dir=ck1)
    pretrain_adapter(_arch(), tmp_path / "b", PretrainConfig(steps=4, **QUICK), checkpoint_dir=ck2)
    # weights of step 4 next to the state of step 2 (a crash between the renames)
    shutil.copy(ck2 / "trainable.safetensors", ck1 / "trainable.safetensors")
    with pytest.raises(ValueError, match="different steps"):
        pretrain_adapter(_arch(), tmp_path / "c", PretrainConfig(steps=2, **QUICK),
                         checkpoint_dir=ck1, resume=True)


def test_pretraining_leaves_the_global_rng_and_the_forecaster_alone(tmp_path):
    f = _arch()
    before = f.get_params(deep=False)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    pretrain_adapter(f, tmp_path / "r", PretrainConfig(steps=2, **QUICK))
    assert torch.equal(torch.get_rng_state(), state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert f.get_params(deep=False).keys() == before.keys()
    assert not hasattr(f, "network_") and f.pretrained is None


def test_numpy_settings_and_dotted_names_work(tmp_path):
    f = _arch(tokenizer=PatchTokenizer(patch_len=np.int64(8), stride=np.int64(4)),
              context_length=np.int64(24), n_layers=np.int64(6))
    out = tmp_path / "lr1e-3.step2"
    card = pretrain_adapter(f, out, PretrainConfig(steps=np.int64(2), **QUICK),
                            checkpoint_dir=tmp_path / "ck",
                            generator=SyntheticSeriesGenerator(max_seasonalities=np.int64(2)))
    assert (tmp_path / "lr1e-3.step2.safetensors").exists()
    assert card["network"]["tokenizer"]["params"] == {"patch_len": 8, "stride": 4}
    g = _arch(pretrained=str(out), max_epochs=0).fit(load_airline(), fh=[1, 2])
    assert g.adapter_card_["weights"]["sha256"] == card["weights"]["sha256"]


def test_generator_output_is_pinned_to_its_version():
    """Changing what the generator draws must bump GENERATOR_VERSION (cards record it);
    ``family_weights=None`` still draws the version-1 corpus exactly."""
    from sktime_llmforecast.pretraining import GENERATOR_VERSION

    def shape(gen):
        values, _ = gen.sample(6, 32, seed=0)
        return values[:, [0, 15, 31]] / np.abs(values).mean(axis=1, keepdims=True)

    assert GENERATOR_VERSION == "2"
    pinned_v2 = [[-0.7565505467, 0.7379346784, -1.5047032909],
                 [0.9684109703, 1.0175775125, 1.0395180542],
                 [-0.8691094991, -0.6306730268, 3.044391755],
                 [0.0777511399, -1.6170767584, 2.28662947],
                 [0.9638653813, 0.9607104418, 0.9659413186],
                 [1.0544208357, 0.9933398416, 0.9709165337]]
    np.testing.assert_allclose(shape(SyntheticSeriesGenerator()), pinned_v2, rtol=1e-7)
    pinned_v1 = [[4.8202615385, -0.595687792, -0.3623229037],
                 [-1.3148095812, -0.6961772863, 0.8339872985],
                 [2.1333333333, 0.4740740741, 0.237037037],
                 [-1.3020267861, -0.4192092255, 2.7315551021],
                 [0.9149096507, 0.948315578, 1.0474532664],
                 [1.0888780072, 1.0378147999, 0.9805478208]]
    np.testing.assert_allclose(shape(SyntheticSeriesGenerator(family_weights=None)),
                               pinned_v1, rtol=1e-7)


def test_time_budget_stops_early(tmp_path):
    card = pretrain_adapter(_arch(), tmp_path / "t",
                            PretrainConfig(steps=50, max_minutes=1e-6, **QUICK))
    assert card["pretraining"]["steps_run"] == 1
    assert card["pretraining"]["stopped"] == "time"


def test_pretraining_needs_a_fixed_tokenizer_and_trained_mode(tmp_path):
    with pytest.raises(ValueError, match="TokenizerSwitcher"):
        pretrain_adapter(_arch(tokenizer=TokenizerSwitcher()), tmp_path / "x",
                         PretrainConfig(steps=1, **QUICK))
    with pytest.raises(ValueError, match="mode='trained'"):
        pretrain_adapter(_arch(mode="zero-shot"), tmp_path / "x", PretrainConfig(steps=1, **QUICK))
    with pytest.raises(ValueError, match="steps"):
        pretrain_adapter(_arch(), tmp_path / "x", PretrainConfig(steps=0, **QUICK))


# ------------------------------------------------------------------ adapters
def test_card_records_backbone_settings_training_and_validation(adapter):
    out, card = adapter
    assert read_card(out) == card
    net = card["network"]
    assert net["backbone"]["kind"] == "config"
    assert net["tokenizer"] == {"class": "PatchTokenizer",
                                "params": {"patch_len": 8, "stride": 4}}
    assert (net["context_length"], net["horizon"], net["n_layers"]) == (24, 6, 6)
    pre = card["pretraining"]
    assert pre["generator"]["class"] == "SyntheticSeriesGenerator"
    assert pre["generator"]["version"] and pre["seed"] == 0 and pre["steps_run"] == 6
    assert pre["losses"] == ["mse", "crps_quantile"]
    # the processor and torch's kernel instruction set: an adapter's bits depend on them
    cpu = torch.backends.cpu.get_cpu_capability()
    assert f", {cpu}), " in pre["machine"] and pre["machine"].endswith("torch threads")
    val = card["validation"]
    for key in ("loss", "mae_standardised", "crps_quantile"):
        assert np.isfinite(val[key])
    assert len(val["history"]["step"]) == 3  # every 2 steps
    blob = out.with_suffix(".safetensors").read_bytes()
    assert card["weights"]["bytes"] == len(blob)
    assert not any(k.startswith("backbone.") for k in load_safetensors(blob))


def test_same_seed_reproduces_the_adapter(adapter, tmp_path):
    out, card = adapter
    again = pretrain_adapter(_arch(), tmp_path / "again", PretrainConfig(steps=6, **QUICK))
    assert again["weights"]["sha256"] == card["weights"]["sha256"]
    assert again["validation"]["loss"] == card["validation"]["loss"]


def test_forecaster_loads_the_adapter_and_forecasts_zero_shot(adapter):
    out, card = adapter
    y = load_airline()
    f = _arch(pretrained=str(out), tokenizer="auto", prediction_length=None, max_epochs=0)
    f.fit(y, fh=np.arange(1, 13))  # 12 steps: beyond the adapter's horizon of 6
    assert f.horizon_ == 6 and f.history_["epochs_run"] == 0
    assert f.adapter_card_["weights"]["sha256"] == card["weights"]["sha256"]
    stored = load_safetensors(out.with_suffix(".safetensors").read_bytes())
    for name, tensor in f.network_.trainable_state().items():
        torch.testing.assert_close(tensor, stored[name], rtol=0, atol=0)
    pred = f.predict()
    assert len(pred) == 12 and np.isfinite(pred.values).all()
    scratch = _arch(max_epochs=0).fit(y, fh=np.arange(1, 13)).predict()
    assert not np.allclose(pred.values, scratch.values)
    # the same adapter through the .json path gives the same forecast
    g = _arch(pretrained=out.with_suffix(".json"), max_epochs=0).fit(y, fh=np.arange(1, 13))
    pd.testing.assert_series_equal(g.predict(), pred)


def test_fine_tuning_keeps_pretrained_weights_unless_validation_improves(adapter):
    out, _ = adapter
    y = load_airline()
    # the validation-loss rule inside a fine-tune (no rolling-origin check first)
    # a learning rate that wrecks the model: the adapter's weights are kept
    f = _arch(pretrained=out, max_epochs=3, learning_rate=50.0,
              check_folds=0).fit(y, fh=[1, 2])
    assert f.history_["epochs_run"] >= 1 and f.history_["best_epoch"] == -1
    stored = load_safetensors(out.with_suffix(".safetensors").read_bytes())
    for name, tensor in f.network_.trainable_state().items():
        torch.testing.assert_close(tensor, stored[name], rtol=0, atol=0)
    # a sensible one improves on it (validation loss below the starting point)
    g = _arch(pretrained=out, max_epochs=5, finetune_epochs=5,
              check_folds=0).fit(y, fh=[1, 2])
    assert g.history_["best_epoch"] >= 0


def test_too_short_series_are_forecast_without_fine_tuning(adapter):
    out, _ = adapter
    y = load_airline().iloc[:4]  # fewer than 2 + the 3 steps fh asks
    f = _arch(pretrained=out, max_epochs=5).fit(y, fh=[1, 2, 3])
    assert f.history_["epochs_run"] == 0
    assert np.isfinite(f.predict().values).all()


@pytest.mark.parametrize("kw, match", [
    (dict(context_length=32), "context_length: adapter 24"),
    (dict(n_layers=0), "n_layers"),
    (dict(backbone=dict(TINY, n_embd=64)), "backbone"),
    (dict(tokenizer=BinTokenizer(n_bins=32)), "tokenizer"),
    (dict(prediction_length=3), "horizon"),
    (dict(interface="mlp"), "interface"),
    (dict(tokenizer=TokenizerSwitcher()), "TokenizerSwitcher"),
])
def test_adapter_settings_must_match(adapter, kw, match):
    out, _ = adapter
    with pytest.raises(ValueError, match=match):
        _arch(pretrained=out, **kw).fit(load_airline(), fh=[1])


def test_damaged_missing_or_misplaced_adapters_are_clear_errors(adapter, tmp_path):
    out, _ = adapter
    y = load_airline()
    with pytest.raises(FileNotFoundError, match="No adapter"):
        _arch(pretrained=tmp_path / "nothing").fit(y, fh=[1])
    bad = tmp_path / "bad"
    shutil.copy(out.with_suffix(".json"), bad.with_suffix(".json"))
    blob = bytearray(out.with_suffix(".safetensors").read_bytes())
    blob[-1] ^= 0xFF
    bad.with_suffix(".safetensors").write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="checksum"):
        _arch(pretrained=bad).fit(y, fh=[1])
    with pytest.raises(TypeError, match="pretrained must be"):
        _arch(pretrained=3).fit(y, fh=[1])
    with pytest.raises(ValueError, match="mode='trained'"):
        _arch(pretrained=out, mode="zero-shot", tokenizer=None).fit(y, fh=[1])


@pytest.mark.parametrize("error, raised", [
    (RuntimeError("size mismatch for head.weight"), ValueError),
    (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 8 GB"),
     RuntimeError),
    (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"),
     torch.cuda.OutOfMemoryError),
])
def test_loading_tells_a_misfit_adapter_from_running_out_of_memory(adapter, monkeypatch,
                                                                   error, raised):
    """Tensors of another shape are the user's mistake (a ``ValueError`` naming the
    fix); running out of memory while loading is the machine's, and stays itself."""
    def fail(self, blob):
        raise error

    monkeypatch.setattr(BackboneNetwork, "load_saved_weights", fail)
    out, _ = adapter
    with pytest.raises(raised) as info:
        _arch(pretrained=out, max_epochs=0).fit(load_airline(), fh=[1])
    assert type(info.value) is raised
    if raised is ValueError:
        assert "do not fit this backbone" in str(info.value)


def test_default_adapter_is_for_the_embedded_backbone_only():
    with pytest.raises(ValueError, match="pretrained=None to train from scratch"):
        LLMForecaster(backbone=TINY, context_length=24).fit(load_airline(), fh=[1])


def test_pretrain_api_continues_from_the_adapter(adapter):
    out, _ = adapter
    y = load_airline()
    panel = pd.concat({"a": y, "b": y * 2}, names=["id", "t"]).to_frame("v")
    f = _arch(pretrained=out, max_epochs=0).pretrain(panel)
    assert f.pretrained_network_.config.horizon == 6 and f.adapter_card_ is not None
    stored = load_safetensors(out.with_suffix(".safetensors").read_bytes())
    for name, tensor in f.pretrained_network_.trainable_state().items():
        torch.testing.assert_close(tensor, stored[name], rtol=0, atol=0)
    g = _arch(pretrained=out, max_epochs=2).pretrain(panel)  # continues training
    assert g.pretrain_history_["epochs_run"] >= 1


def test_cli_writes_an_adapter(tmp_path):
    base = ["--out", str(tmp_path / "cli"), "--backbone", json.dumps(TINY),
            "--n-layers", "1", "--context-length", "24", "--prediction-length", "6",
            "--patch-len", "8", "--stride", "4", "--batch-size", "4", "--n-validation", "8",
            "--no-progress", "--checkpoint-dir", str(tmp_path / "ck")]
    assert cli_main(base + ["--steps", "2"]) == 0
    card = read_card(tmp_path / "cli")
    assert card["pretraining"]["steps_run"] == 2 and (tmp_path / "ck" / "state.json").exists()
    assert cli_main(base + ["--steps", "2", "--resume"]) == 0  # nothing left: same adapter
    assert read_card(tmp_path / "cli")["weights"]["sha256"] == card["weights"]["sha256"]
    with pytest.raises(ValueError, match="steps"):
        cli_main(base + ["--steps", "3", "--resume"])
    help_text = subprocess.run([sys.executable, "-m", "sktime_llmforecast.pretraining", "--help"],
                               capture_output=True, text=True, check=True).stdout
    assert "--checkpoint-dir" in help_text and "--max-minutes" in help_text


def test_cli_pretrains_on_every_family(tmp_path):
    from sktime_llmforecast.pretraining import FAMILY_NAMES

    base = ["--backbone", json.dumps(TINY), "--n-layers", "1", "--context-length", "24",
            "--prediction-length", "6", "--patch-len", "8", "--stride", "4",
            "--batch-size", "4", "--n-validation", "8", "--no-progress", "--steps", "2"]
    assert cli_main(base + ["--out", str(tmp_path / "all"), "--families", "all"]) == 0
    weights = read_card(tmp_path / "all")["pretraining"]["generator"]["params"]["family_weights"]
    assert weights == "all" and len(FAMILY_NAMES) == 6
    assert cli_main(base + ["--out", str(tmp_path / "gp"),
                            "--families", '{"kernel_synth": 1}']) == 0
    assert cli_main(base + ["--out", str(tmp_path / "v1"), "--families", "v1"]) == 0
    assert read_card(tmp_path / "v1")["pretraining"]["generator"]["params"]["family_weights"] is None
    assert cli_main(base + ["--out", str(tmp_path / "default")]) == 0
    card = read_card(tmp_path / "default")["pretraining"]
    assert card["generator"]["params"]["family_weights"] == "all"
    assert card["generator"]["version"] == "2"


@pytest.mark.parametrize("options, cls, params", [
    (["--tokenizer", "chunked", "--chunk-size", "2"], "ChunkedDigitTokenizer", {"k": 2}),
    (["--tokenizer", "bins", "--n-bins", "64"], "BinTokenizer", {"n_bins": 64}),
])
def test_cli_pretrains_token_adapters_with_cross_entropy(tmp_path, options, cls, params):
    out = tmp_path / "tok"
    base = ["--out", str(out), "--backbone", json.dumps(TINY), "--n-layers", "1",
            "--context-length", "16", "--prediction-length", "4", "--batch-size", "4",
            "--n-validation", "8", "--no-progress", "--steps", "2"]
    assert cli_main(base + options) == 0
    card = read_card(out)
    assert card["network"]["tokenizer"]["class"] == cls
    assert params.items() <= card["network"]["tokenizer"]["params"].items()
    assert card["pretraining"]["losses"] == ["token_ce"]
    # an option of another tokenizer is an error, not silently ignored
    with pytest.raises(SystemExit):
        cli_main(base + options + ["--patch-len", "8"])
    # the adapter loads with tokenizer="auto" and forecasts in the series' units
    y = load_airline()
    f = LLMForecaster(backbone=TINY, n_layers=1, pretrained=str(out), max_epochs=0,
                      random_state=0).fit(y, fh=[1, 2, 3])
    assert type(f.network_.tokenizer).__name__ == cls
    assert np.isfinite(f.predict().values).all()
    # the card states the same yardstick as a patch adapter's: the MAE of point
    # forecasts (greedy decoding) on the validation windows, in context std units
    val = validation_windows(SyntheticSeriesGenerator(), 8, 16, 4, seed=0)
    with torch.no_grad():
        point = f.network_.eval().predict(torch.as_tensor(val.context),
                                          torch.as_tensor(val.mask), greedy=True)
    std = np.array([c[m].std() for c, m in zip(val.context, val.mask)])[:, None]
    mae = float(np.mean(np.abs(point.mean.numpy() - val.target) / std))
    assert read_card(out)["validation"]["mae_standardised"] == pytest.approx(mae, rel=1e-5)


# ------------------------------------------------------------------ shipped
def test_shipped_adapters_are_small_checked_and_documented():
    stems = shipped_adapters()
    assert {s.name for s in stems} >= {"smollm2-135m-6-blocks", "smollm2-135m-no-llm"}
    for stem in stems:
        card = read_card(stem)
        size = stem.with_suffix(".safetensors").stat().st_size
        assert size < 20 * 2**20 and size == card["weights"]["bytes"]
        from sktime_llmforecast.nn import read_weights

        read_weights(stem, card)  # checksum
        assert card["network"]["backbone"] == {"kind": "embedded", "source": "smollm2-135m"}
        assert card["pretraining"]["steps_run"] >= 1
        assert np.isfinite(card["validation"]["mae_standardised"])


def test_shipped_default_refuses_other_settings_before_loading_the_backbone():
    y = load_airline()
    with pytest.raises(ValueError, match="context_length: adapter 512, this forecaster 36"):
        LLMForecaster(context_length=36).fit(y, fh=[1])
    with pytest.raises(ValueError, match="tokenizer"):
        LLMForecaster(tokenizer=PatchTokenizer(12, 6)).fit(y, fh=[1])
    with pytest.raises(ValueError, match="n_layers=3"):
        LLMForecaster(n_layers=3).fit(y, fh=[1])


def test_an_adapter_with_backbone_tensors_needs_the_same_finetune(tmp_path):
    """A layernorm adapter must not be copied into a frozen (shared, cached) backbone."""
    from sktime_llmforecast.backbones import load_backbone, resolve_backbone_spec

    out = tmp_path / "ln"
    pretrain_adapter(_arch(finetune="layernorm"), out, PretrainConfig(steps=2, **QUICK))
    cached = load_backbone(resolve_backbone_spec(TINY))
    before = {k: v.clone() for k, v in cached.state_dict().items()}
    with pytest.raises(ValueError, match="finetune='layernorm'"):
        _arch(pretrained=out, max_epochs=0).fit(load_airline(), fh=[1])
    for k, v in cached.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    f = _arch(pretrained=out, finetune="layernorm", max_epochs=0).fit(load_airline(), fh=[1])
    assert np.isfinite(f.predict().values).all()
    # the frozen adapter may start a LoRA fine-tune (its tensors are interface and head)
    g = _arch(pretrained=out.parent / "frozen", finetune="lora", lora_rank=2)
    pretrain_adapter(_arch(), out.parent / "frozen", PretrainConfig(steps=2, **QUICK))
    assert np.isfinite(g.set_params(max_epochs=1).fit(load_airline(), fh=[1]).predict().values).all()


# ------------------------------------------------------- head-only fine-tuning
def _interface_state(net):
    return {k: v.clone() for k, v in net.interface.state_dict().items()}


def test_fine_tuning_trains_the_head_alone_by_default(adapter):
    out, _ = adapter
    y = load_airline()
    stored = load_safetensors(out.with_suffix(".safetensors").read_bytes())
    # the fine-tune itself (check_folds=0: the rolling-origin check may skip it)
    f = _arch(pretrained=out, max_epochs=5, finetune_epochs=5, check_folds=0).fit(y, fh=[1, 2])
    assert f.history_["best_epoch"] >= 0  # it trained and kept a fine-tuned epoch
    state = f.network_.trainable_state()
    heads = [n for n in state if n.startswith("head.")]
    assert heads and any(not torch.equal(state[n], stored[n]) for n in heads)
    for name in set(state) - set(heads):  # the interface is the adapter's, bit for bit
        torch.testing.assert_close(state[name], stored[name], rtol=0, atol=0)
    # the interface trains too when asked
    g = _arch(pretrained=out, max_epochs=5, finetune_epochs=5, check_folds=0,
              finetune_interface=True).fit(y, fh=[1, 2])
    others = [n for n in g.network_.trainable_state() if not n.startswith("head.")]
    assert g.history_["best_epoch"] >= 0 and others
    assert any(not torch.equal(g.network_.trainable_state()[n], stored[n]) for n in others)
    # every parameter trains again after fit (the freeze is scoped to training)
    assert all(p.requires_grad for p in f.network_.interface.parameters())


def test_cached_head_inputs_give_the_same_losses_as_the_full_forward(adapter):
    from sktime_llmforecast.losses import MAELoss, PinballLoss, QuantileCRPSLoss
    from sktime_llmforecast.nn.training import (
        evaluate_losses,
        frozen_interface,
        head_inputs,
    )
    from sktime_llmforecast.nn.windows import make_windows

    out, _ = adapter
    net = _arch(pretrained=out, max_epochs=0).fit(load_airline(), fh=[1, 2]).network_
    train, _ = make_windows([load_airline().to_numpy(float)], 24, 6, 0.0)
    losses = {"mae": MAELoss(), "pinball": PinballLoss(), "crps": QuantileCRPSLoss()}
    assert head_inputs(net, train, 16, "cpu") is None  # the interface trains: no cache
    with frozen_interface(net):
        cache = head_inputs(net, train, 16, "cpu")
        assert cache.shape == (len(train), net.n_tokens, net.d_model)
        full = evaluate_losses(net, train, 16, "cpu", losses)
        cached = evaluate_losses(net, train, 16, "cpu", losses, cache)
    assert all(p.requires_grad for p in net.interface.parameters())
    assert full.keys() == cached.keys() == losses.keys()
    for k in full:
        assert cached[k] == pytest.approx(full[k], rel=1e-5)
