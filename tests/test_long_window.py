"""Issue 16: the long-window architecture (bottleneck head, adapter-given context and
levels), fine-tuning for the steps fh asks, interval calibration, recursive spread,
and the throughput a pretraining run records."""

import json

import numpy as np
import pytest
import torch
from sktime.datasets import load_airline

from conftest import QUICK_PRETRAIN, TINY_GPT2_1
from sktime_llmforecast import LLMForecaster
from sktime_llmforecast.heads import FlattenHead
from sktime_llmforecast.nn.calibration import (
    SPREAD_GRID,
    accumulate_spread,
    calibrate_spread,
    conformal_spread,
    fit_spread,
    widen,
)
from sktime_llmforecast.pretraining import PretrainConfig, pretrain_adapter
from sktime_llmforecast.pretraining.throughput import available_cores
from sktime_llmforecast.tokenizers import PatchTokenizer

LEVELS = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
Z = np.array([-1.6448536, -0.6744898, 0.0, 0.6744898, 1.6448536])


def _arch(**kw):
    params = dict(backbone=dict(TINY_GPT2_1, n_positions=256), pretrained=None,
                  tokenizer=PatchTokenizer(patch_len=8, stride=8), context_length=64,
                  prediction_length=24, quantile_levels=tuple(LEVELS), head_width=4,
                  random_state=0, device="cpu")
    params.update(kw)
    return LLMForecaster(**params)


@pytest.fixture(scope="module")
def long_adapter(tmp_path_factory):
    out = tmp_path_factory.mktemp("long") / "long"
    card = pretrain_adapter(_arch(), out, PretrainConfig(steps=4, **QUICK_PRETRAIN))
    return out, card


# ------------------------------------------------------------------ head
def test_bottleneck_head_has_fewer_weights_and_the_same_shape():
    plain, narrow = FlattenHead(16, 576, 64 * 11), FlattenHead(16, 576, 64 * 11, width=128)
    x = torch.zeros(2, 16, 576)
    assert plain(x).shape == narrow(x).shape == (2, 64 * 11)
    n_plain = sum(p.numel() for p in plain.parameters())
    n_narrow = sum(p.numel() for p in narrow.parameters())
    assert n_plain == 16 * 576 * 704 + 704
    assert n_narrow == 576 * 128 + 128 + 16 * 128 * 704 + 704  # 4.4x smaller


# ------------------------------------------------------------------ adapter defaults
def test_adapter_gives_context_levels_and_head_width(long_adapter):
    out, card = long_adapter
    assert card["network"]["head_width"] == 4
    f = LLMForecaster(backbone=dict(TINY_GPT2_1, n_positions=256), pretrained=str(out),
                      max_epochs=0, device="cpu").fit(load_airline(), fh=[1, 2])
    net = f.plan_.network
    assert (net.context_length, net.horizon, net.head_width) == (64, 24, 4)
    assert net.quantile_levels == tuple(LEVELS)
    with pytest.raises(ValueError, match="head_width: adapter 4"):
        _arch(pretrained=str(out), head_width=8).fit(load_airline(), fh=[1])


def test_cards_written_before_head_width_still_load(long_adapter, tmp_path):
    """An older card has no head_width: it means no bottleneck (None)."""
    out, card = long_adapter
    f = _arch(head_width=None)
    plain = tmp_path / "plain"
    pretrain_adapter(f, plain, PretrainConfig(steps=1, **QUICK_PRETRAIN))
    path = plain.with_suffix(".json")
    old = json.loads(path.read_text())
    del old["network"]["head_width"]
    path.write_text(json.dumps(old))
    g = _arch(pretrained=str(plain), head_width=None, max_epochs=0).fit(load_airline(),
                                                                         fh=[1])
    assert g.plan_.network.head_width is None and np.isfinite(g.predict().values).all()


# ------------------------------------------------------------------ fine-tuning horizon
def test_fine_tuning_trains_the_steps_fh_asks(long_adapter):
    """A 24-step adapter fine-tunes on 20 values when fh asks 3 steps (it needs
    2 + 3 values, not 2 + 24), and the fitted head still predicts 24 steps."""
    out, _ = long_adapter
    y = load_airline().iloc[:20]
    # the fine-tune itself (the rolling-origin check may prefer zero-shot here)
    f = _arch(pretrained=str(out), max_epochs=2, check_folds=0).fit(y, fh=[1, 2, 3])
    assert f.history_["epochs_run"] >= 1
    assert f.horizon_ == 24
    assert np.isfinite(f.predict(fh=range(1, 30)).values).all()


# ------------------------------------------------------------------ calibration
def test_fit_spread_recovers_the_missing_width():
    """Quantiles of N(0, 0.5^2) for N(0, 1) data: the fitted factor is about 2."""
    rng = np.random.default_rng(0)
    target = rng.normal(size=(4000, 3))
    quantiles = np.broadcast_to((0.5 * Z)[None, :, None], (4000, 5, 3)).copy()
    s = fit_spread(LEVELS, quantiles, target, np.ones(4000))
    assert 1.8 <= s <= 2.2
    calibrated = fit_spread(LEVELS, 2 * quantiles, target, np.ones(4000))
    assert 0.9 <= calibrated <= 1.1
    assert SPREAD_GRID.min() < 0.5 and SPREAD_GRID.max() > 2


def test_conformal_spread_gives_each_interval_its_nominal_coverage():
    """Quantiles of N(0, 0.5^2) for N(0, 1) data: every factor is about 2, and the
    widened intervals cover about their nominal share of fresh data."""
    rng = np.random.default_rng(0)
    target = rng.normal(size=(4000, 3))
    quantiles = np.broadcast_to((0.5 * Z)[None, :, None], (4000, 5, 3)).copy()
    s = conformal_spread(LEVELS, quantiles, target, n_windows=4000)
    assert s[2] == 1.0
    np.testing.assert_allclose(s[[0, 1, 3, 4]], 2.0, rtol=0.08)
    np.testing.assert_allclose(s[:2], s[:1:-1][:2])  # a pair shares its factor
    fresh = rng.normal(size=(4000, 3))
    q = widen(LEVELS, quantiles, s)
    for lo, hi, nominal in ((0, 4, 0.90), (1, 3, 0.50)):
        cover = np.mean((fresh >= q[:, lo]) & (fresh <= q[:, hi]))
        assert abs(cover - nominal) < 0.03, (nominal, cover)
    # five windows: the (1 + 1/n) correction asks for 0.9 * 1.2 > 1, the largest need
    few = conformal_spread(LEVELS, quantiles[:5], target[:5], n_windows=5)
    need = np.abs(target[:5]) / (0.5 * 1.6448536)
    assert few[0] == pytest.approx(min(need.max(), SPREAD_GRID.max()))
    assert few[0] > np.quantile(need, 0.9)


def test_conformal_spread_without_an_observed_target_leaves_the_levels_alone():
    # every cumulated target missing (a gap in every window): factor 1, not an error
    quantiles = np.broadcast_to((0.5 * Z)[None, :, None], (6, 5, 3)).copy()
    target = np.full((6, 3), np.nan)
    np.testing.assert_array_equal(
        conformal_spread(LEVELS, quantiles, target, n_windows=6), np.ones(5))


def test_conformal_spread_of_unpaired_levels_is_one_sided():
    """Levels (0.1, 0.5, 0.8) of N(0, 0.5^2) for N(0, 1) data: both factors about 2,
    and each widened level leaves about its share of fresh values beyond it."""
    levels = np.array([0.1, 0.5, 0.8])
    z = np.array([-1.2815516, 0.0, 0.8416212])
    rng = np.random.default_rng(1)
    target = rng.normal(size=(4000, 3))
    quantiles = np.broadcast_to((0.5 * z)[None, :, None], (4000, 3, 3)).copy()
    s = conformal_spread(levels, quantiles, target, n_windows=4000)
    np.testing.assert_allclose(s[[0, 2]], 2.0, rtol=0.1)
    q = widen(levels, quantiles, s)
    fresh = rng.normal(size=(4000, 3))
    assert abs(np.mean(fresh < q[:, 0]) - 0.1) < 0.03
    assert abs(np.mean(fresh <= q[:, 2]) - 0.8) < 0.03


def test_calibrate_spread_refuses_an_unknown_method():
    with pytest.raises(ValueError, match="'conformal' or 'pinball'"):
        net = _arch(context_length=36, prediction_length=6, head_width=None,
                    max_epochs=1).fit(load_airline(), fh=[1]).network_
        calibrate_spread(net, [load_airline().to_numpy(float)], 6, 0.2, "cpu",
                         method="coverage")


def test_calibration_thins_a_large_panels_windows_evenly():
    from sktime_llmforecast.nn.calibration import validation_quantiles

    net = _arch(context_length=36, prediction_length=6, head_width=None,
                max_epochs=0).fit(load_airline(), fh=[1]).network_
    series = [load_airline().to_numpy(float) * (1 + k / 10) for k in range(3)]
    _, all_targets, _ = validation_quantiles(net, series, 6, 0.2, "cpu")
    q, target, scale = validation_quantiles(net, series, 6, 0.2, "cpu", max_windows=10)
    assert len(all_targets) > 10 and len(target) == len(q) == len(scale) == 10
    # evenly spaced, first and last kept: windows of every member, in order
    np.testing.assert_array_equal(target[0], all_targets[0])
    np.testing.assert_array_equal(target[-1], all_targets[-1])
    rows = [np.flatnonzero((all_targets == t).all(axis=1))[0] for t in target]
    assert rows == sorted(rows) and len(set(rows)) == 10


def test_widen_with_one_factor_per_level_never_crosses():
    q = np.array([[[-2.0], [-1.0], [1.0], [3.0], [4.0]]])
    out = widen(LEVELS, q, np.array([1.0, 3.0, 1.0, 1.0, 1.0]))
    np.testing.assert_allclose(out[0, :, 0], [-5, -2, 1, 3, 4])  # sorted


def test_widen_keeps_the_median_and_scales_the_rest():
    q = np.array([[[-2.0], [-1.0], [1.0], [3.0], [4.0]]])
    np.testing.assert_allclose(widen(LEVELS, q, 2.0)[0, :, 0], [-5, -3, 1, 5, 7])
    assert widen(LEVELS, q, 1.0) is q


def test_recursive_blocks_add_the_spread_before_them():
    first = np.broadcast_to((1.0 * Z)[None, :, None], (1, 5, 4)).copy()
    block = np.broadcast_to((1.0 * Z)[None, :, None] + 10, (1, 5, 4)).copy()
    out = accumulate_spread(LEVELS, block, first)
    np.testing.assert_allclose(out[0, 2], 10.0)
    np.testing.assert_allclose(out[0, :, 0] - 10, np.sqrt(2) * Z, atol=1e-12)


def test_forecaster_calibrates_and_spread_never_shrinks_past_the_head():
    y = load_airline()
    f = _arch(context_length=36, prediction_length=6, head_width=None,
              max_epochs=2).fit(y, fh=range(1, 7))
    assert f.n_calibration_windows_ >= 4
    spread = np.asarray(f.interval_spread_)
    assert spread.shape == (len(LEVELS),) and spread[2] == 1.0
    assert ((spread >= SPREAD_GRID.min()) & (spread <= SPREAD_GRID.max())).all()
    iv = f.predict_interval(fh=range(1, 19), coverage=0.9)
    width = (iv.iloc[:, 1] - iv.iloc[:, 0]).to_numpy()
    assert (width > 0).all()
    # the first step of every recursive block is at least as wide as the step before
    assert width[6] >= width[5] and width[12] >= width[11]


# ------------------------------------------------------------------ throughput
def test_pretraining_card_reports_throughput(long_adapter):
    _, card = long_adapter
    t = card["pretraining"]["throughput"]
    assert t["tokens_per_window"] == 64 // 8
    assert t["tokens_per_second"] > 0 and t["flops_per_step"] > 0
    assert t["gflops_per_second"] > 0 and t["matmul_peak_gflops_per_second"] > 0
    assert t["threads"] == available_cores()  # threads=None: every core
    assert card["pretraining"]["backbone_dtype"] == "float32"
