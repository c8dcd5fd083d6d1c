"""difference=True: the network reads first differences, and the forecast is
cumulated from the last observed value."""

import numpy as np
import pandas as pd
import pytest

from sktime_llmforecast.forecasting._differencing import (
    differenced,
    integrated,
    last_values,
)
from sktime_llmforecast.nn.calibration import integrated_quantiles, integrated_targets
from sktime_llmforecast.nn.paths import Paths
from tests.conftest import TINY_GPT2_1 as TINY
from tests.conftest import tiny_forecaster

LEVELS = np.array([0.1, 0.5, 0.9])


def _arch(**kw):
    return tiny_forecaster(**{"backbone": TINY, "context_length": 16, "pretrained": None,
                              "deseasonalize": False, "max_epochs": 2,
                              "random_state": 0, **kw})


def _series(n=80, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.period_range("2000-01", periods=n, freq="M")
    return pd.Series(50 + 0.5 * np.arange(n) + rng.normal(0, 1, n).cumsum(), index=idx)


def test_a_difference_next_to_a_missing_value_is_missing():
    x = np.array([np.nan, 1.0, np.nan, 5.0, 6.0, np.nan])
    (d,) = differenced([x])
    np.testing.assert_array_equal(d, [np.nan, np.nan, np.nan, 1.0, np.nan])
    np.testing.assert_array_equal(last_values([x, [3.0, np.nan]]), [6.0, 3.0])
    with pytest.raises(ValueError, match="all missing values"):
        last_values([np.array([np.nan, np.nan])])


def test_quantiles_cumulate_the_median_and_add_spread_in_quadrature():
    # one series, 2 steps: median steps 1 and 2; distances 3 and 4 from the median
    q = np.array([[[-2.0, -2.0], [1.0, 2.0], [4.0, 6.0]]])
    out = integrated_quantiles(LEVELS, q, start=10.0)
    np.testing.assert_allclose(out[0, 1], [11.0, 13.0])
    np.testing.assert_allclose(out[0, 0], [11.0 - 3.0, 13.0 - 5.0])
    np.testing.assert_allclose(out[0, 2], [11.0 + 3.0, 13.0 + 5.0])
    # a missing value's two differences are missing; the change across it is lost
    target = np.array([[1.0, np.nan, np.nan, 2.0], [1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(integrated_targets(target),
                                  [[1.0, np.nan, np.nan, np.nan], [1.0, 3.0, 6.0, 10.0]])


def test_paths_cumulate_from_the_last_value():
    paths = Paths(mean=np.array([[1.0, 2.0, 3.0]]),
                  samples=np.array([[[1.0, 1.0, 1.0], [0.0, -1.0, 0.0]]]))
    out = integrated(paths, [np.array([4.0, 7.0, np.nan])])
    np.testing.assert_array_equal(out.mean, [[8.0, 10.0, 13.0]])
    np.testing.assert_array_equal(out.samples, [[[8.0, 9.0, 10.0], [7.0, 6.0, 6.0]]])


def test_the_forecast_is_the_cumulated_forecast_of_the_differences():
    """difference=True on y forecasts what difference=False on y's differences
    forecasts, cumulated from y's last value: the same network sees the same data."""
    y = _series()
    fh = [1, 2, 3, 4]
    on_levels = _arch(difference=True).fit(y, fh=fh)
    on_steps = _arch(difference=False).fit(y.diff().iloc[1:], fh=fh)
    assert on_levels.difference_ and not on_steps.difference_
    expected = y.iloc[-1] + on_steps.predict().cumsum()
    pd.testing.assert_series_equal(on_levels.predict(), expected, check_names=False)
    # update without refitting: cumulated from the new last value
    new = pd.Series([90.0, 91.0], index=pd.period_range(y.index[-1] + 1, periods=2))
    on_levels.update(new, update_params=False)
    on_steps.update(pd.Series([90.0 - y.iloc[-1], 1.0], index=new.index),
                    update_params=False)
    expected = 91.0 + on_steps.predict().cumsum()
    pd.testing.assert_series_equal(on_levels.predict(), expected, check_names=False)


def test_intervals_widen_with_the_horizon_and_hold_the_median():
    y = _series()
    f = _arch(difference=True).fit(y, fh=list(range(1, 9)))
    q = f.predict_quantiles(alpha=[0.1, 0.5, 0.9])
    width = (q.iloc[:, 2] - q.iloc[:, 0]).to_numpy()
    assert (np.diff(width) >= -1e-9).all() and width[-1] > width[0]
    np.testing.assert_allclose(q.iloc[:, 1].to_numpy(), f.predict().to_numpy())
    assert np.isfinite(f.predict_var().to_numpy()).all()


def test_recursive_blocks_are_not_widened_twice(monkeypatch):
    """Beyond the head the cumulated sum carries the earlier steps' spread already:
    forecast_paths must not add it again (it does for values)."""
    from sktime_llmforecast.forecasting import _fitted_paths

    seen = []

    def record(*args, **kwargs):
        seen.append(kwargs["accumulate"])
        return forecast_paths(*args, **kwargs)

    forecast_paths = _fitted_paths.forecast_paths
    monkeypatch.setattr(_fitted_paths, "forecast_paths", record)
    y = _series()
    for d in (True, False):
        f = _arch(difference=d, prediction_length=4).fit(y, fh=list(range(1, 13)))
        q = f.predict_quantiles(alpha=[0.1, 0.9])
        width = (q.iloc[:, 1] - q.iloc[:, 0]).to_numpy()
        if d:  # cumulated in quadrature: never narrower, across blocks too
            assert (np.diff(width) >= -1e-9).all()
    assert seen == [False, True]


def test_differences_with_a_panel_and_a_trailing_gap():
    y = _series()
    panel = pd.concat({"a": y, "b": 2 * y.iloc[:-3]}, names=["unit", "time"]).to_frame("y")
    f = _arch(difference=True).fit(panel, fh=[1, 2])
    pred = f.predict()
    assert np.isfinite(pred.to_numpy()).all()
    # each member is forecast from its own end
    assert pred.loc["b"].index[0] == y.index[-3]
    assert pred.loc["a"].index[0] == y.index[-1] + 1
    gappy = y.copy()
    gappy.iloc[-1] = np.nan  # the missing step is forecast, then the asked ones
    g = _arch(difference=True).fit(gappy, fh=[1, 2])
    assert np.isfinite(g.predict().to_numpy()).all()


def test_paths_after_a_trailing_gap_are_cumulated_through_it():
    # the network forecast 2 missing steps, then the 2 asked: every step adds up
    paths = Paths(mean=np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0]]),
                  samples=np.array([[[1.0, 1.0, 1.0, 1.0]], [[0.0, 0.0, 2.0, 2.0]]]))
    series = [np.array([4.0, 7.0, np.nan, np.nan]), np.array([1.0, 2.0])]
    out = integrated(paths, series, gaps=np.array([2, 0]), total=2)
    np.testing.assert_array_equal(out.mean, [[13.0, 17.0], [3.0, 4.0]])
    np.testing.assert_array_equal(out.samples, [[[10.0, 11.0]], [[2.0, 2.0]]])


def test_a_series_ending_in_missing_values_is_forecast_at_its_own_times():
    """After k missing values at the end, the forecast of step h is what the series
    cut at its last observed value forecasts at step k + h: the change over the gap
    is forecast too, not left out (which labelled the forecast of the step after
    the last observed value with a time k steps later)."""
    y = _series()
    gappy = y.copy()
    gappy.iloc[-2:] = np.nan
    # one untrained network (the same head of 4 steps), two views of the data
    same = {"difference": True, "max_epochs": 0, "check_folds": 0}
    a = _arch(**same).fit(gappy, fh=[1, 2, 3, 4])
    b = _arch(**same).fit(y.iloc[:-2], fh=[1, 2, 3, 4])
    pa, pb = a.predict(fh=[1, 2]), b.predict(fh=[3, 4])
    assert list(pa.index) == list(pb.index) == [y.index[-1] + 1, y.index[-1] + 2]
    np.testing.assert_allclose(pa.to_numpy(), pb.to_numpy(), rtol=1e-9)
    qa = a.predict_quantiles(fh=[1, 2], alpha=[0.1, 0.9])
    qb = b.predict_quantiles(fh=[3, 4], alpha=[0.1, 0.9])
    np.testing.assert_allclose(qa.to_numpy(), qb.to_numpy(), rtol=1e-9)
    # an update that brings one more missing value: one more step of the gap
    a.update(pd.Series([np.nan], index=[y.index[-1] + 1]), update_params=False)
    np.testing.assert_allclose(a.predict(fh=[1]).to_numpy(),
                               b.predict(fh=[4]).to_numpy(), rtol=1e-9)
