"""Exogenous covariates ``X``: a ridge regression around the network, in every mode."""

import numpy as np
import pandas as pd
import pytest
from sktime.datasets import load_airline
from sktime.forecasting.compose import ForecastingPipeline
from sktime.forecasting.model_evaluation import evaluate
from sktime.split import ExpandingWindowSplitter
from sktime.transformations.series.fourier import FourierFeatures

from sktime_llmforecast import BinTokenizer
from tests.conftest import tiny_forecaster

FH = list(range(1, 13))


def _tiny(**kw):
    return tiny_forecaster(**{"max_epochs": 5, **kw})


def _driven(n=160, seed=0):
    """``50 + 8 promo - 3 price + random-walk noise``: a known regressor drives it."""
    rng = np.random.default_rng(seed)
    idx = pd.period_range("2000-01", periods=n, freq="M")
    X = pd.DataFrame({"promo": rng.integers(0, 2, n).astype(float),
                      "price": rng.normal(0, 1, n)}, index=idx)
    y = pd.Series(50 + 8 * X.promo - 3 * X.price + np.cumsum(rng.normal(0, 0.3, n)),
                  index=idx, name="y")
    return y, X


def test_a_known_regressor_lowers_the_error_and_its_effect_is_recovered():
    y, X = _driven()
    train, test = y.iloc[:-12], y.iloc[-12:]
    without = _tiny().fit(train, fh=FH).predict()
    f = _tiny().fit(train, X=X.iloc[:-12], fh=FH)
    with_x = f.predict(X=X.iloc[-12:])
    mae_without, mae_with = (without - test).abs().mean(), (with_x - test).abs().mean()
    assert mae_with < 0.4 * mae_without  # measured: 1.1 against 5.1
    np.testing.assert_allclose(f._covariates.coefs[0], [8.0, -3.0], atol=0.3)
    iv = f.predict_interval(X=X.iloc[-12:], coverage=0.8)
    assert (iv.iloc[:, 0] <= with_x).all() and (with_x <= iv.iloc[:, 1]).all()


def test_without_x_nothing_changes():
    y = load_airline()
    a = _tiny().fit(y, fh=[1, 2, 3]).predict()
    b = _tiny().fit(y, fh=[1, 2, 3]).predict(X=pd.DataFrame(
        {"x": np.ones(3)}, index=pd.period_range("1961-01", periods=3, freq="M")))
    pd.testing.assert_series_equal(a, b)  # X at predict only: ignored


def test_update_with_x_moves_the_forecast_on():
    y, X = _driven()
    f = _tiny().fit(y.iloc[:-12], X=X.iloc[:-12], fh=FH)
    f.update(y.iloc[-12:-9], X=X.iloc[-12:-9])
    pred = f.predict(fh=[1, 2], X=X)
    assert list(pred.index) == list(y.index[-9:-7])
    assert np.isfinite(pred.to_numpy()).all()
    with pytest.raises(ValueError, match="fitted with X: update needs X"):
        f.update(y.iloc[-9:-8])


def test_a_fourier_pipeline_and_evaluate_with_x_run():
    y = load_airline()
    pipe = ForecastingPipeline([("fourier", FourierFeatures(sp_list=[12],
                                                             fourier_terms_list=[2])),
                                ("forecaster", _tiny(max_epochs=2))])
    index_only = pd.DataFrame(index=y.index)  # the pipeline transforms X only when given
    pred = pipe.fit(y.iloc[:-12], X=index_only.iloc[:-12], fh=FH).predict(
        X=index_only.iloc[-12:])
    assert np.isfinite(pred.to_numpy()).all() and list(pred.index) == list(y.index[-12:])
    assert pipe.forecaster_._covariates.columns == ["sin_12_1", "cos_12_1", "sin_12_2",
                                                    "cos_12_2"]
    X = pd.DataFrame({"trend": np.arange(len(y), dtype=float)}, index=y.index)
    cv = ExpandingWindowSplitter(fh=[1, 2, 3], initial_window=120, step_length=6)
    res = evaluate(_tiny(max_epochs=2), cv, y, X=X, error_score="raise")
    assert len(res) == 4 and np.isfinite(res.filter(like="test_").to_numpy()).all()


def test_a_panel_with_x_is_one_global_model_with_a_regression_per_member():
    from sktime.utils._testing.hierarchical import _make_hierarchical

    y = _make_hierarchical(hierarchy_levels=(2,), min_timepoints=60, max_timepoints=60,
                           random_state=0, all_positive=True)
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=len(y))}, index=y.index)
    y = y + 5 * X.to_numpy()  # each member driven by its own x
    train_idx = y.index[y.index.get_level_values(-1) < y.index.get_level_values(-1)[-3]]
    f = _tiny(context_length=16).fit(y.loc[train_idx], X=X.loc[train_idx], fh=[1, 2, 3])
    pred = f.predict(X=X)
    assert pred.shape == (6, 1) and np.isfinite(pred.to_numpy()).all()
    for coef in f._covariates.coefs:
        assert coef[0] == pytest.approx(5.0, abs=0.5)


def test_token_mode_uses_x_too():
    y, X = _driven()
    f = _tiny(tokenizer=BinTokenizer(n_bins=32, low=-4.0, high=4.0), max_epochs=1)
    f.fit(y.iloc[:-6], X=X.iloc[:-6], fh=[1, 2])
    assert np.isfinite(f.predict(X=X).to_numpy()).all()
    assert f._covariates.coefs[0][0] == pytest.approx(8.0, abs=0.5)


@pytest.mark.parametrize("bad, error, match", [
    (lambda X: X.assign(promo=X.promo.astype(str)), TypeError, "X\\['promo'\\] must hold numbers"),
    (lambda X: X.assign(price=X.price.where(X.index != X.index[5])), ValueError,
     "X\\['price'\\] has 1 missing or infinite values"),
])
def test_bad_x_is_a_clear_error(bad, error, match):
    y, X = _driven()
    with pytest.raises(error, match=match):
        _tiny().fit(y, X=bad(X), fh=[1])


def test_predict_needs_x_at_every_forecast_time():
    y, X = _driven()
    f = _tiny(max_epochs=1).fit(y.iloc[:-12], X=X.iloc[:-12], fh=[1, 2, 3])
    with pytest.raises(ValueError, match="fitted with X: predict needs X"):
        f.predict()
    with pytest.raises(ValueError, match="X lacks the covariates at 1 forecast time"):
        f.predict(X=X.iloc[-12:-10])
    with pytest.raises(ValueError, match="X\\['price'\\] has 1 missing or infinite"):
        f.predict(X=X.iloc[-12:].assign(price=[np.nan] + [0.0] * 11))
    with pytest.raises(ValueError, match="lacks the covariate column\\(s\\) \\['price'\\]"):
        f.predict(X=X.iloc[-12:].drop(columns="price"))


def test_a_renamed_univariate_x_is_taken_by_position():
    y, X = _driven()
    f = _tiny(max_epochs=1).fit(y.iloc[:-3], X=X[["promo"]].iloc[:-3], fh=[1, 2, 3])
    a = f.predict(X=X[["promo"]])
    b = f.predict(X=X[["promo"]].rename(columns={"promo": "campaign"}))
    pd.testing.assert_series_equal(a, b)


def test_fourier_terms_of_a_real_yearly_cycle_lower_the_error():
    """Weekly Mauna Loa CO2 (statsmodels), last 300 weeks: with a 36-week context and
    no seasonal adjustment the network cannot see a whole year; Fourier terms at the
    true period of 52.18 weeks give it the cycle."""
    import statsmodels.api as sm

    y = sm.datasets.co2.load_pandas().data["co2"].interpolate().iloc[-300:]
    y.index = y.index.to_period("W-SAT")
    index_only = pd.DataFrame(index=y.index)
    fh = list(range(1, 14))
    errors = {}
    for name, steps in [("without", []), ("with", [("fourier", FourierFeatures(
            sp_list=[365.25 / 7], fourier_terms_list=[3]))])]:
        pipe = ForecastingPipeline([*steps, ("forecaster", _tiny(deseasonalize=False))])
        pipe.fit(y.iloc[:-13], X=index_only.iloc[:-13], fh=fh)
        pred = pipe.predict(X=index_only.iloc[-13:])
        errors[name] = float((pred - y.iloc[-13:]).abs().mean())
    assert errors["with"] < 0.6 * errors["without"], errors  # measured: 0.35 against 0.88
