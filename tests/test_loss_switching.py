"""LLMForecaster with the loss menu and switcher; the loss metrics inside sktime."""

import numpy as np
import pandas as pd
import pytest
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.performance_metrics.forecasting import (
    MeanAbsoluteScaledError,
    MeanSquaredError,
)
from sktime.performance_metrics.forecasting.probabilistic import (
    EmpiricalCoverage,
    PinballLoss,
)
from sktime.split import ExpandingWindowSplitter

from sktime_llmforecast import LLMForecaster
from sktime_llmforecast.losses import LossSwitcher
from sktime_llmforecast.metrics import (
    MeanHuberError,
    MeanLogCoshError,
    QuantileCRPS,
    SampleCRPS,
    SwitchedLoss,
)
from sktime_llmforecast.tokenizers import ChunkedDigitTokenizer, PatchTokenizer
from tests.conftest import TINY_GPT2

BACKBONE = dict(TINY_GPT2, n_positions=512)


def _seasonal(n=160, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 50 + 0.3 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
    return pd.Series(y, index=pd.period_range("2000-01", periods=n, freq="M"))


def _intermittent(n=160, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.poisson(0.25, n) * rng.integers(1, 20, n).astype(float)
    return pd.Series(y, index=pd.period_range("2000-01", periods=n, freq="M"))


def _f(**kw):
    params = dict(
        pretrained=None,
        backbone=BACKBONE,
        tokenizer=PatchTokenizer(8, 4),
        context_length=24,
        max_epochs=4,
        random_state=0,
        device="cpu",
    )
    params.update(kw)
    return LLMForecaster(**params)


def test_auto_is_the_default_and_its_weights_move_and_stay_positive():
    assert LLMForecaster().loss == "auto"
    f = _f().fit(_seasonal(), fh=[1, 2, 3])
    assert f.loss_category_ == "seasonal_trend"
    assert f.losses_ == ["mse", "mase", "crps_quantile"]
    hist = f.loss_weights_history_
    assert len(hist) == f.history_["epochs_run"] >= 2
    first, last = np.array(list(hist[0].values())), np.array(list(hist[-1].values()))
    assert (last > 0).all() and not np.allclose(first, last)
    assert f.loss_weights_ == hist[f.history_["best_epoch"]]  # the restored epoch
    assert len(f.history_["val_mae"]) == f.history_["epochs_run"]
    g = _f().fit(_intermittent(), fh=[1, 2, 3])
    assert g.loss_category_ == "intermittent" and g.losses_ != f.losses_


def test_auto_is_reproducible():
    y = _seasonal()
    a = _f().fit(y, fh=[1, 2]).predict()
    b = _f().fit(y, fh=[1, 2]).predict()
    pd.testing.assert_series_equal(a, b)


def test_a_single_loss_by_name_and_a_list_coupled():
    f = _f(loss="huber").fit(_seasonal(), fh=[1, 2])
    assert f.loss_category_ == "user" and f.losses_ == ["huber"]
    assert f.loss_weights_ == {"huber": 1.0}
    g = _f(loss=["mae", "gaussian_nll"]).fit(_seasonal(), fh=[1, 2])
    assert g.losses_ == ["mae", "gaussian_nll"]
    assert set(g.loss_weights_) == {"mae", "gaussian_nll"}
    assert np.isfinite(g.predict_interval(coverage=0.8).to_numpy()).all()


def test_plateau_schedule_switches_inside_fit():
    sw = LossSwitcher(losses=["mse", "mae", "crps_quantile"], schedule="plateau",
                      switch_patience=1)
    f = _f(loss=sw, max_epochs=12, learning_rate=0.05, patience=2)
    f.fit(_seasonal(), fh=[1, 2])
    active = f.history_["active_losses"]
    assert active[0] == ["mse"]
    assert f.history_["switch_epochs"], "the validation loss never plateaued"
    assert len(active[-1]) > 1
    assert sw.get_params()["schedule"] == "plateau" and not hasattr(sw, "losses_")


def test_token_models_use_token_cross_entropy_and_reject_point_losses():
    tok = ChunkedDigitTokenizer(k=2, precision=1, integer_digits=3)
    f = _f(tokenizer=tok, max_epochs=1, context_length=12).fit(_seasonal(80), fh=[1])
    assert f.loss_category_ == "token" and f.losses_ == ["token_ce"]
    with pytest.raises(ValueError, match="Token tokenizers train with 'token_ce'"):
        _f(tokenizer=tok, loss="mse", max_epochs=1, context_length=12).fit(
            _seasonal(80), fh=[1]
        )
    with pytest.raises(ValueError, match="patch tokenizers with any other loss"):
        _f(loss="token_ce").fit(_seasonal(), fh=[1])


def test_bad_loss_arguments_are_named():
    with pytest.raises(TypeError, match="loss must be 'auto'"):
        _f(loss=3).fit(_seasonal(), fh=[1])
    with pytest.raises(ValueError, match="Unknown loss name"):
        _f(loss="mape").fit(_seasonal(), fh=[1])


# ------------------------------------------------------------------ metrics
@pytest.mark.parametrize(
    "metric", [MeanHuberError, MeanLogCoshError, QuantileCRPS, SwitchedLoss]
)
def test_metric_check_estimator_zero_failures(metric):
    from sktime.utils.estimator_checks import check_estimator

    results = check_estimator(metric, raise_exceptions=True, verbose=False)
    failed = {k: v for k, v in results.items() if v != "PASSED"}
    assert not failed
    assert len(results) > 10


def test_switched_loss_scores_what_the_category_chooses():
    y = _seasonal()
    y_train, y_test = y[:-12], y[-12:]
    y_pred = y_test + np.linspace(-2, 3, 12)
    sd = y_train.std(ddof=0)
    mse = MeanSquaredError()(y_test, y_pred) / sd**2
    mase = MeanAbsoluteScaledError(sp=12)(y_test, y_pred, y_train=y_train)
    ours = SwitchedLoss()(y_test, y_pred, y_train=y_train)
    assert ours == pytest.approx(0.5 * mse + 0.5 * mase, rel=1e-9)
    weighted = SwitchedLoss(weights={"mse": 2.0, "mase": 1.0})(
        y_test, y_pred, y_train=y_train
    )
    assert weighted == pytest.approx(2 * mse + mase, rel=1e-9)
    z = _intermittent()
    z_pred = z[-12:] + 1.0
    got = SwitchedLoss()(z[-12:], z_pred, y_train=z[:-12])
    assert got == pytest.approx(1.0 / z[:-12].std(ddof=0), rel=1e-9)  # MAE in sd units


@pytest.mark.parametrize(
    "scoring",
    [QuantileCRPS(), SampleCRPS(), PinballLoss(), EmpiricalCoverage(coverage=0.8),
     SwitchedLoss(), MeanHuberError()],
    ids=lambda m: type(m).__name__,
)
def test_metrics_score_real_forecasts_in_evaluate(scoring):
    y = _seasonal(120)
    cv = ExpandingWindowSplitter(initial_window=96, step_length=12, fh=[1, 2, 3])
    res = evaluate(_f(max_epochs=2), cv, y, scoring=scoring, error_score="raise")
    col = f"test_{scoring.name}"
    assert len(res) == 2 and np.isfinite(res[col]).all()
    if isinstance(scoring, EmpiricalCoverage):
        assert ((res[col] >= 0) & (res[col] <= 1)).all()
    else:
        assert (res[col] >= 0).all()


def test_grid_search_over_losses_with_the_switched_metric():
    y = _seasonal(120)
    cv = ExpandingWindowSplitter(initial_window=96, step_length=12, fh=[1, 2, 3])
    gs = ForecastingGridSearchCV(
        _f(max_epochs=2),
        cv=cv,
        param_grid={"loss": ["mse", "huber", "auto"]},
        scoring=SwitchedLoss(),
        error_score="raise",
    )
    gs.fit(y)
    scores = gs.cv_results_.set_index(gs.cv_results_["params"].map(lambda p: p["loss"]))
    col = "mean_test_SwitchedLoss"
    assert np.isfinite(scores[col]).all() and scores[col].nunique() == 3
    assert gs.best_params_["loss"] == scores[col].idxmin()
    assert gs.best_forecaster_.loss == gs.best_params_["loss"]


def test_quantile_crps_in_evaluate_equals_a_manual_score():
    y = _seasonal(120)
    cv = ExpandingWindowSplitter(initial_window=108, step_length=12, fh=[1, 2, 3])
    res = evaluate(_f(max_epochs=2), cv, y, scoring=QuantileCRPS(), error_score="raise")
    f = _f(max_epochs=2).fit(y[:108], fh=[1, 2, 3])
    q = f.predict_quantiles(alpha=list(QuantileCRPS().alpha))
    truth = y[108:111].to_numpy()
    levels = np.array(QuantileCRPS().alpha)
    diff = truth[:, None] - q.to_numpy()
    pin = np.maximum(levels * diff, (levels - 1) * diff)
    edges = np.r_[0.0, (levels[1:] + levels[:-1]) / 2, 1.0]
    manual = np.mean(2 * pin @ np.diff(edges))
    assert res["test_QuantileCRPS"].iloc[0] == pytest.approx(manual, rel=1e-9)


def test_quantile_crps_sorts_alpha_and_matches_variables_by_name():
    y_true = pd.DataFrame({"a": [1.0, 2.0], "b": [0.0, 0.0]})
    cols = pd.MultiIndex.from_tuples(
        [("b", 0.1), ("b", 0.9), ("a", 0.1), ("a", 0.5), ("a", 0.9)]
    )
    y_pred = pd.DataFrame([[0, 0, 0.5, 1.0, 1.5], [0, 0, 1.0, 2.0, 3.0]], columns=cols,
                          dtype=float)
    raw = QuantileCRPS(alpha=(0.9, 0.1), multioutput="raw_values")(y_true, y_pred)
    sorted_ = QuantileCRPS(alpha=(0.1, 0.9), multioutput="raw_values")(y_true, y_pred)
    np.testing.assert_allclose(raw, sorted_)
    assert float(np.asarray(raw).ravel()[list(raw.index).index("b")]) == 0.0


def test_switched_loss_scores_each_variable_on_its_own_history():
    a, b = _seasonal(), pd.Series(np.random.default_rng(3).normal(0, 1, 160))
    b.index = a.index
    y = pd.DataFrame({"a": a, "b": b})
    y_train, y_true = y[:-12], y[-12:]
    y_pred = y_true + 0.5
    raw = SwitchedLoss(multioutput="raw_values")(y_true, y_pred, y_train=y_train)
    for j, col in enumerate(y.columns):
        alone = SwitchedLoss()(y_true[col], y_pred[col], y_train=y_train[col])
        assert np.asarray(raw).ravel()[j] == pytest.approx(alone, rel=1e-9)


def test_a_sample_loss_needs_two_quantile_levels():
    with pytest.raises(ValueError, match="needs at least 2 quantile_levels"):
        _f(loss="crps_samples", quantile_levels=(0.5,)).fit(_seasonal(), fh=[1])


def test_switched_loss_on_a_hierarchy_scores_each_member_on_its_own_history():
    from sktime.utils._testing.hierarchical import _make_hierarchical

    y = _make_hierarchical(hierarchy_levels=(2,), min_timepoints=60, max_timepoints=60,
                           random_state=0)
    times = y.index.get_level_values(-1).unique()
    y_train = y[y.index.get_level_values(-1).isin(times[:-6])]
    y_true = y[y.index.get_level_values(-1).isin(times[-6:])]
    y_pred = y_true * 1.05
    raw = SwitchedLoss(multilevel="raw_values")(y_true, y_pred, y_train=y_train)
    assert len(raw) == 2
    for member, value in zip(raw.index, raw.iloc[:, 0]):
        alone = SwitchedLoss()(
            y_true.loc[member], y_pred.loc[member], y_train=y_train.loc[member]
        )
        assert value == pytest.approx(alone, rel=1e-9)
