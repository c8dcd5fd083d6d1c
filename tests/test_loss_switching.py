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
    assert f.loss_weights_ == hist[-1]
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
        param_grid={"loss": ["mse", "auto"]},
        scoring=SwitchedLoss(),
        error_score="raise",
    )
    gs.fit(y)
    assert gs.best_params_["loss"] in ("mse", "auto")
    assert len(gs.cv_results_) == 2
    assert np.isfinite(gs.cv_results_["mean_test_SwitchedLoss"]).all()


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
