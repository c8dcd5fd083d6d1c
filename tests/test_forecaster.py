"""LLMForecaster: conformance, training behaviour, panels, composition."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from sktime.datasets import load_airline
from sktime.utils._testing.hierarchical import _make_hierarchical

from sktime_llmforecast import LLMForecaster, PatchTokenizer
from tests.conftest import TINY_GPT2


def _sine(n=240, period=12, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 10 + 3 * np.sin(2 * np.pi * t / period) + noise * rng.standard_normal(n)
    return pd.Series(values, index=pd.RangeIndex(n), name="y")


def _tiny(**kw):
    params = dict(
        pretrained=None,
        backbone=TINY_GPT2,
        tokenizer=PatchTokenizer(patch_len=8, stride=4),
        context_length=32,
        max_epochs=15,
        batch_size=32,
        learning_rate=3e-3,
        random_state=0,
        device="cpu",
    )
    params.update(kw)
    return LLMForecaster(**params)


def test_check_estimator_zero_failures():
    from sktime.utils.estimator_checks import check_estimator

    results = check_estimator(LLMForecaster, raise_exceptions=True, verbose=False)
    failed = {k: v for k, v in results.items() if v != "PASSED"}
    assert not failed
    assert len(results) > 500


def test_registry_lists_public_estimators():
    from skbase.lookup import all_objects

    names = {name for name, _ in all_objects(package_name="sktime_llmforecast")}
    assert {
        "LLMForecaster",
        "PatchTokenizer",
        "DigitTokenizer",
        "ChunkedDigitTokenizer",
        "BinTokenizer",
    } <= names


def test_training_loss_goes_down_on_sine():
    f = _tiny().fit(_sine(), fh=np.arange(1, 13))
    losses = f.history_["train_loss"]
    assert len(losses) >= 3
    assert losses[-1] < 0.5 * losses[0]


def test_learns_seasonal_series_better_than_mean():
    y = _sine(n=300, noise=0.1)
    y_train, y_test = y[:-24], y[-24:]
    f = _tiny(max_epochs=25).fit(y_train, fh=np.arange(1, 25))
    pred = f.predict()
    mae_model = np.abs(pred.values - y_test.values).mean()
    mae_mean = np.abs(y_train.mean() - y_test.values).mean()
    assert mae_model < 0.5 * mae_mean


def test_same_random_state_same_forecast_and_different_seed_differs():
    y = _sine()
    p1 = _tiny(max_epochs=3).fit(y, fh=[1, 2, 3]).predict()
    p2 = _tiny(max_epochs=3).fit(y, fh=[1, 2, 3]).predict()
    p3 = _tiny(max_epochs=3, random_state=1).fit(y, fh=[1, 2, 3]).predict()
    pd.testing.assert_series_equal(p1, p2)
    assert not np.allclose(p1.values, p3.values)


def test_predict_is_repeatable_backbone_in_eval_mode():
    f = _tiny(max_epochs=2, head_dropout=0.5).fit(_sine(), fh=[1, 2])
    pd.testing.assert_series_equal(f.predict(), f.predict())
    assert not f.network_.training and not f.network_.backbone.training


def test_frozen_weights_unchanged_trainable_weights_changed(tiny_llama):
    from sktime_llmforecast.backbones import load_backbone, resolve_backbone_spec

    cached = load_backbone(resolve_backbone_spec(tiny_llama))
    before = {n: p.detach().clone() for n, p in cached.named_parameters()}
    f = _tiny(backbone=tiny_llama, finetune="layernorm", max_epochs=3)
    f.fit(_sine(), fh=[1, 2, 3])
    net = f.network_
    for name, p in net.backbone.named_parameters():
        if p.requires_grad:
            assert not torch.equal(p, before[name]), name  # trained
        else:
            assert torch.equal(p, before[name]), name  # frozen
    for name, p in cached.named_parameters():
        assert torch.equal(p, before[name])  # cache untouched
    n_norm = sum(p.numel() for p in net.backbone.parameters() if p.requires_grad)
    head_iface = sum(
        p.numel() for m in (net.head, net.interface) for p in m.parameters()
    )
    assert f.n_trainable_params_ == n_norm + head_iface
    assert f.n_total_params_ > f.n_trainable_params_


def test_two_forecasters_sharing_a_backbone_do_not_interfere(tiny_llama):
    y = _sine()
    a = _tiny(backbone=tiny_llama, finetune="layernorm", max_epochs=2).fit(y, fh=[1, 2])
    pred_a = a.predict()
    b = _tiny(
        backbone=tiny_llama, finetune="layernorm", max_epochs=6, learning_rate=0.05
    )
    b.fit(y * 3 + 5, fh=[1, 2])
    pd.testing.assert_series_equal(a.predict(), pred_a)


def test_panel_is_one_global_model():
    y = _make_hierarchical(
        hierarchy_levels=(3,), min_timepoints=40, max_timepoints=40, random_state=0
    )
    f = _tiny(context_length=16, tokenizer=PatchTokenizer(4, 4), max_epochs=2)
    f.fit(y, fh=[1, 2, 3])
    pred = f.predict()
    assert not f._is_vectorized  # global, not one model per member
    assert f.history_["epochs_run"] == 2  # one training run over all members
    assert pred.index.nlevels == 2 and len(pred) == 9
    assert set(pred.index.get_level_values(0)) == set(y.index.get_level_values(0))
    assert np.isfinite(pred.values).all()


def test_multivariate_channels_independent():
    y = pd.DataFrame({"a": _sine().values, "b": _sine(seed=1).values * 5})
    pred = _tiny(max_epochs=2).fit(y, fh=[1, 2]).predict()
    assert list(pred.columns) == ["a", "b"] and pred.shape == (2, 2)


def test_pretrain_then_fit_new_series_uses_pretrained_weights():
    panel = _make_hierarchical(
        hierarchy_levels=(4,), min_timepoints=60, max_timepoints=60, random_state=1
    )
    f = _tiny(
        context_length=16, tokenizer=PatchTokenizer(4, 4), max_epochs=2, finetune_epochs=0
    )
    f.pretrain(panel, fh=[1, 2, 3])
    assert f.state == "pretrained" and f.n_pretrain_series_ == 4
    zero_shot = copy.deepcopy(f)
    y_new = _sine(n=50)
    zero_shot.fit(y_new, fh=[1, 2, 3])
    # max_epochs=0: the fitted network is exactly the pretrained one
    for (n1, p1), (n2, p2) in zip(
        zero_shot.network_.named_parameters(),
        zero_shot.pretrained_network_.named_parameters(),
    ):
        assert torch.equal(p1, p2), n1
    assert zero_shot.history_["epochs_run"] == 0
    g = _tiny(
        context_length=16, tokenizer=PatchTokenizer(4, 4), max_epochs=2, finetune_epochs=2
    )
    g.pretrain(panel, fh=[1, 2, 3])
    pretrained = {n: p.clone() for n, p in g.pretrained_network_.named_parameters()}
    g.fit(y_new, fh=[1, 2, 3])  # fine-tunes a copy; pretrained weights kept
    assert g.state == "fitted" and g.history_["epochs_run"] >= 1
    for n, p in g.pretrained_network_.named_parameters():
        assert torch.equal(p, pretrained[n]), n
    assert not torch.equal(g.network_.head.proj.weight, pretrained["head.proj.weight"])
    assert len(g.predict()) == 3


def test_horizon_longer_than_trained_is_recursive():
    f = _tiny(max_epochs=2).fit(_sine(), fh=[1, 2, 3])
    assert f.horizon_ == 3
    pred = f.predict(fh=np.arange(1, 11))
    assert len(pred) == 10 and np.isfinite(pred.values).all()
    # the first three steps come from the same direct pass
    np.testing.assert_allclose(pred.values[:3], f.predict(fh=[1, 2, 3]).values)


def test_short_series_is_left_padded():
    y = _sine(n=12)
    f = _tiny(context_length=32, max_epochs=2).fit(y, fh=[1, 2])
    assert np.isfinite(f.predict().values).all()


def test_in_sample_fh_is_rejected():
    f = _tiny(max_epochs=1).fit(_sine(), fh=[1, 2])
    with pytest.raises(NotImplementedError, match="in-sample"):
        f.predict(fh=[-1, 0, 1])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"context_length": 0}, "context_length"),
        ({"max_epochs": -1}, "max_epochs"),
        ({"validation_fraction": 1.5}, "validation_fraction"),
        ({"tokenizer": PatchTokenizer(patch_len=64, stride=8)}, "patch_len"),
        ({"device": "tpu"}, "device"),
        ({"interface": "bogus"}, "interface"),
    ],
)
def test_bad_parameters_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _tiny(**kwargs).fit(_sine(), fh=[1])


def test_user_series_not_mutated():
    y = _sine()
    y_copy = y.copy(deep=True)
    _tiny(max_epochs=1).fit(y, fh=[1]).predict()
    pd.testing.assert_series_equal(y, y_copy)


def test_in_transformed_target_forecaster_with_deseasonalizer():
    from sktime.forecasting.compose import TransformedTargetForecaster
    from sktime.transformations.series.detrend import Deseasonalizer

    y = load_airline()
    pipe = TransformedTargetForecaster(
        [Deseasonalizer(sp=12), _tiny(context_length=24, max_epochs=3)]
    )
    pipe.fit(y[:-12], fh=np.arange(1, 13))
    pred = pipe.predict()
    assert len(pred) == 12 and np.isfinite(pred.values).all()
    assert (pred.index == y.index[-12:]).all()


def test_an_ensemble_of_tokenizers_averages_their_forecasts():
    """The combination docs/benchmarks.md measures (the adapters' point forecasts
    averaged) is sktime's EnsembleForecaster over forecasters of each tokenizer."""
    from sktime.forecasting.compose import EnsembleForecaster

    from sktime_llmforecast.tokenizers import BinTokenizer

    y = load_airline()
    members = [("patch", _tiny(max_epochs=1)),
               ("bins", _tiny(tokenizer=BinTokenizer(), max_epochs=1))]
    ensemble = EnsembleForecaster(members, aggfunc="mean").fit(y, fh=[1, 2, 3])
    alone = [m.clone().fit(y, fh=[1, 2, 3]).predict().to_numpy() for _, m in members]
    np.testing.assert_allclose(ensemble.predict().to_numpy(), np.mean(alone, axis=0))
    assert not np.allclose(alone[0], alone[1])


def test_grid_search_over_patch_len():
    from sktime.forecasting.model_selection import ForecastingGridSearchCV
    from sktime.split import ExpandingWindowSplitter

    y = _sine(n=120)
    cv = ExpandingWindowSplitter(initial_window=80, step_length=20, fh=[1, 2, 3])
    gs = ForecastingGridSearchCV(
        _tiny(max_epochs=2),
        cv=cv,
        param_grid={"tokenizer__patch_len": [4, 8], "tokenizer__stride": [4]},
    )
    gs.fit(y)
    assert gs.best_params_["tokenizer__patch_len"] in (4, 8)
    assert len(gs.cv_results_) == 2
    assert len(gs.predict(fh=[1, 2, 3])) == 3


def test_evaluate_with_expanding_window():
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.split import ExpandingWindowSplitter

    y = load_airline()
    cv = ExpandingWindowSplitter(initial_window=96, step_length=24, fh=np.arange(1, 7))
    res = evaluate(_tiny(context_length=24, max_epochs=2), cv=cv, y=y)
    assert len(res) == 2
    assert np.isfinite(res.iloc[:, 0]).all()


def test_update_rolls_context_forward():
    y = _sine(n=100)
    # compare with the mean head, which predict_network returns
    f = _tiny(max_epochs=1, point_forecast="mean").fit(y[:80], fh=[1, 2])
    f.update(y[80:], update_params=False)
    pred = f.predict()
    assert list(pred.index) == [100, 101]
    from sktime_llmforecast.nn import predict_network

    ctx = y.values[-32:][None, :]
    direct = predict_network(f.network_, ctx, np.ones_like(ctx, bool), "cpu")
    np.testing.assert_allclose(pred.values, direct[0], rtol=1e-6)


# every mode x point_forecast combination forecasts (issue 14: zero-shot greedy used
# to pass validation and then call a method the zero-shot network lacked)
_MODES = {
    "patch": dict(tokenizer=PatchTokenizer(patch_len=4, stride=4), context_length=16,
                  max_epochs=1),
    "token": dict(tokenizer="bins", context_length=8, max_epochs=1, num_samples=4),
    "zero-shot": dict(mode="zero-shot", tokenizer=None, context_length=8, num_samples=4),
}


@pytest.mark.parametrize("point", ["median", "mean", "greedy"])
@pytest.mark.parametrize("kind", list(_MODES))
def test_every_mode_gives_every_point_forecast(kind, point):
    from sktime_llmforecast import BinTokenizer
    from sktime_llmforecast.nn import POINT_FORECASTS

    kw = dict(_MODES[kind])
    if kw["tokenizer"] == "bins":
        kw["tokenizer"] = BinTokenizer(n_bins=32, low=-4.0, high=4.0)
    f = _tiny(backbone=dict(TINY_GPT2, n_positions=256), point_forecast=point, **kw)
    y = _sine(n=60)
    f.fit(y, fh=[1, 2, 3])
    assert f.plan_.kind == kind and point in POINT_FORECASTS[kind]
    pred = f.predict(fh=[1, 2, 3, 4, 5])  # beyond the head: recursive
    assert list(pred.index) == [60, 61, 62, 63, 64] and np.isfinite(pred.values).all()
    again = f.predict(fh=[1, 2, 3, 4, 5])
    pd.testing.assert_series_equal(pred, again)  # seeded: the same forecast twice
    if point == "greedy" and kind == "zero-shot":  # nothing trains or is drawn
        other = f.clone().set_params(num_samples=1, random_state=7).fit(y, fh=[1, 2, 3])
        pd.testing.assert_series_equal(other.predict(fh=[1, 2, 3, 4, 5]), pred)
    interval = f.predict_interval(fh=[1, 2], coverage=0.8)
    assert (interval.iloc[:, 0] <= interval.iloc[:, 1]).all()


def test_zero_shot_greedy_is_the_temperature_zero_path():
    kw = dict(backbone=dict(TINY_GPT2, n_positions=256), mode="zero-shot", tokenizer=None,
              context_length=8)
    y = _sine(n=60)
    greedy = _tiny(point_forecast="greedy", **kw).fit(y, fh=[1, 2])
    cold = _tiny(point_forecast="median", temperature=0.0, num_samples=1, **kw).fit(y, fh=[1, 2])
    pd.testing.assert_series_equal(greedy.predict(), cold.predict())


def test_plan_resolves_parameters_once_without_loading():
    f = _tiny(loss="mae", max_epochs=3, finetune_epochs=None)
    plan = f.plan(fh=[1, 2, 3, 4])
    assert plan.kind == "patch" and plan.network.horizon == 4
    assert plan.train.max_epochs == 3 and plan.finetune_epochs == 3
    assert plan.loss_switcher.get_params()["losses"] == ["mae"]
    assert not hasattr(f, "network_")  # nothing was built or fitted
    with pytest.raises(ValueError, match="n_queries"):
        _tiny(n_queries=0).plan()
    from sktime_llmforecast.nn import NetworkConfig

    with pytest.raises(ValueError, match="horizon"):
        NetworkConfig(horizon=0)  # configs check themselves


def test_a_prediction_computes_its_paths_once(monkeypatch):
    import sktime_llmforecast.forecasting._fitted_paths as fitted_paths

    f = _tiny(max_epochs=1).fit(_sine(n=80), fh=[1, 2, 3])
    calls = []
    real = fitted_paths.forecast_paths
    monkeypatch.setattr(fitted_paths, "forecast_paths", lambda *a, **k: calls.append(1) or real(*a, **k))
    dist = f.predict_proba()  # patch mode: a Normal from the mean and the quantile head
    assert len(calls) == 1
    np.testing.assert_allclose(dist.mean().values.ravel(), f.predict().values)
    assert len(calls) == 2


def test_pretrain_tag_names_what_pretrain_learns():
    panel = _make_hierarchical(hierarchy_levels=(3,), min_timepoints=40, max_timepoints=40,
                               random_state=0)
    f = _tiny(context_length=16, tokenizer=PatchTokenizer(4, 4), max_epochs=1,
              finetune_epochs=1)
    f.pretrain(panel, fh=[1, 2])
    tagged = set(f.get_tag("pretrain:fitted_params"))
    created = {a for a in vars(f) if a.endswith("_") and not a.startswith("_")}
    # nothing pretrain learns is left out (a tokenizer search adds its scores)
    assert created == tagged - {"tokenizer_scores_", "selected_tokenizer_"}
    pretrained = {n: p.clone() for n, p in f.pretrained_network_.named_parameters()}
    f.fit(_sine(n=60), fh=[1, 2])
    f.fit(_sine(n=60, seed=1), fh=[1, 2])  # a refit resets to the pretrained state
    assert created <= set(vars(f))
    for n, p in f.pretrained_network_.named_parameters():
        assert torch.equal(p, pretrained[n]), n
