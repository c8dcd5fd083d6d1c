"""Seasonal adjustment around the network (``deseasonalize``, ``sp``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.tseries.frequencies import to_offset

from sktime_llmforecast import LLMForecaster, PatchTokenizer
from sktime_llmforecast.forecasting._memory import SeriesMemory
from sktime_llmforecast.forecasting._seasonal import SeasonalAdjustment, period_of
from sktime_llmforecast.nn.paths import Paths
from tests.conftest import TINY_GPT2_1

PATTERN = np.array([0.8, 0.9, 1.0, 1.1, 1.3, 1.4, 1.3, 1.1, 1.0, 0.9, 0.7, 0.5])


def _monthly(n, start="2000-01", level=100.0, pattern=PATTERN, trend=0.0):
    """A level (with a linear trend) times a 12-month pattern, no noise."""
    index = pd.period_range(start, periods=n, freq="M")
    phase = (index.month - 1) % 12
    values = (level + trend * np.arange(n)) * pattern[phase]
    return pd.DataFrame({"y": values}, index=index)


def _tiny(**kw):
    base = dict(backbone=TINY_GPT2_1, pretrained=None, tokenizer=PatchTokenizer(4, 4),
                context_length=24, max_epochs=1, device="cpu", random_state=0)
    base.update(kw)
    return LLMForecaster(**base)


@pytest.mark.parametrize("freq, sp", [("ME", 12), ("MS", 12), ("QE", 4), ("YE", 1),
                                      ("W-SUN", 52), ("D", 7), ("B", 5), ("h", 24),
                                      ("30min", 48), ("15min", 96), ("2h", 12),
                                      ("s", 1), ("7min", 1), ("BME", 12), ("BQE", 4),
                                      ("SME", 24), ("WOM-1MON", 12), ("2ME", 6)])
def test_period_of_frequency(freq, sp):
    assert period_of(to_offset(freq)) == sp


def test_period_of_integer_index_is_one():
    assert period_of(None) == 1


def test_period_of_period_index_and_generic_offsets():
    assert period_of(pd.period_range("2000-01", periods=3, freq="M").freq) == 12
    assert period_of(pd.period_range("2000Q1", periods=3, freq="Q").freq) == 4
    assert period_of(pd.DateOffset(months=1)) == 1  # no rule code: no season guessed


def test_adjusted_series_removes_the_pattern_and_restores_it_at_forecast_phases():
    # starts in April (phase 0 is April) and ends in April: the forecast starts at
    # phase 1, so a restore that ignored the member's end would fail
    y = _monthly(61, start="2000-04")
    memory = SeriesMemory.from_y(y, len(y))
    season = SeasonalAdjustment.fit(memory, 12)
    assert season.models == ("multiplicative",)
    (flat,) = season.adjusted_series(memory.last(20))  # from a later start, too
    np.testing.assert_allclose(flat, 100.0, rtol=1e-9)
    total = 15
    paths = Paths(mean=np.full((1, total), 100.0),
                  quantiles=np.full((1, 3, total), 100.0) * np.array([0.9, 1, 1.1])[:, None],
                  levels=np.array([0.1, 0.5, 0.9]))
    back = season.restored(paths, memory.ends, total)
    future = _monthly(61 + total, start="2000-04").iloc[61:]["y"].to_numpy()
    np.testing.assert_allclose(back.mean[0], future, rtol=1e-9)
    np.testing.assert_allclose(back.quantiles[0, 1], future, rtol=1e-9)
    assert (np.diff(back.quantiles[0], axis=0) > 0).all()  # still ordered


def test_additive_where_values_are_not_positive():
    y = _monthly(60) - 100.0  # crosses zero
    memory = SeriesMemory.from_y(y, len(y))
    assert SeasonalAdjustment.fit(memory, 12).models == ("additive",)
    with pytest.raises(ValueError, match="strictly positive"):
        SeasonalAdjustment.fit(memory, 12, "multiplicative")
    short = SeriesMemory.from_y(y.iloc[:20], 20)  # too short to test: refused all the same
    with pytest.raises(ValueError, match="strictly positive"):
        SeasonalAdjustment.fit(short, 12, "multiplicative")


def test_short_flat_or_unseasonal_series_are_left_as_they_are():
    rng = np.random.default_rng(0)
    noise = pd.DataFrame({"y": 100 + rng.normal(size=60)},
                         index=pd.period_range("2000-01", periods=60, freq="M"))
    for y in (_monthly(30), noise, noise * 0 + 5.0):  # < 3 seasons, no season, flat
        memory = SeriesMemory.from_y(y, len(y))
        season = SeasonalAdjustment.fit(memory, 12)
        assert season.models == (None,) and not season.active
        np.testing.assert_array_equal(season.adjusted_series(memory)[0], y["y"].to_numpy())


def test_panel_members_keep_their_own_phase():
    a, b = _monthly(48, start="2000-01"), _monthly(48, start="2001-07", level=50.0)
    y = pd.concat({"a": a, "b": b}, names=["member", "time"])
    f = _tiny().fit(y, fh=[1, 2, 3])
    assert f.sp_ == 12 and f.seasonal_models_ == ("multiplicative", "multiplicative")
    memory = SeriesMemory.from_y(y, len(y))
    for values in f._seasonality.adjusted_series(memory):
        assert np.ptp(values) / values.mean() < 1e-9


def test_ragged_panel_on_a_datetime_index_forecasts_each_members_months():
    """Members ending at different months of a DatetimeIndex panel: each forecast
    carries the pattern of its own next months."""
    def member(n, level):
        index = pd.date_range("2000-01-01", periods=n, freq="MS")
        return pd.DataFrame({"y": level * PATTERN[index.month - 1]}, index=index)

    y = pd.concat({"a": member(60, 100.0), "b": member(53, 50.0)}, names=["id", "t"])
    f = _tiny(max_epochs=0).fit(y, fh=range(1, 13))
    assert f.sp_ == 12 and f.seasonal_models_ == ("multiplicative", "multiplicative")
    pred = f.predict()["y"]
    for key, n, level in (("a", 60, 100.0), ("b", 53, 50.0)):
        got = pred.loc[key]
        months = pd.date_range("2000-01-01", periods=n + 12, freq="MS")[n:]
        assert (got.index == months).all()
        ratio = got.to_numpy() / (level * PATTERN[months.month - 1])
        assert np.ptp(ratio) / ratio.mean() < 0.05


def test_pretrain_on_a_seasonal_panel_then_fit_forecasts_the_pattern():
    panel = pd.concat({"a": _monthly(72), "b": _monthly(72, level=40.0)},
                      names=["id", "t"])
    f = _tiny(prediction_length=12, finetune_epochs=0)
    f.pretrain(panel)
    f.fit(_monthly(84).iloc[:72], fh=range(1, 13))
    ratio = f.predict()["y"].to_numpy() / _monthly(84).iloc[72:]["y"].to_numpy()
    assert np.ptp(ratio) / ratio.mean() < 0.1


def test_true_and_none_are_accepted():
    y = _monthly(48)
    assert _tiny(deseasonalize=True).fit(y, fh=[1]).seasonal_models_ == ("multiplicative",)
    assert _tiny(deseasonalize=None).fit(y, fh=[1]).seasonal_models_ == (None,)
    assert _tiny(deseasonalize="additive").fit(y, fh=[1]).seasonal_models_ == ("additive",)


def test_forecaster_forecasts_the_pattern_it_removed():
    """A constant network forecast (max_epochs=0 of a tiny model is near constant
    in the adjusted units) carries the pattern of the forecast months: the
    adjusted forecast's ratio to the truth is flat over the season."""
    y = _monthly(72)
    f = _tiny(max_epochs=0).fit(y, fh=range(1, 13))
    truth = _monthly(84).iloc[72:]["y"].to_numpy()
    ratio = f.predict()["y"].to_numpy() / truth
    assert np.ptp(ratio) / ratio.mean() < 0.05
    plain = _tiny(max_epochs=0, deseasonalize=False).fit(y, fh=range(1, 13))
    assert plain.seasonal_models_ == (None,)
    flat = plain.predict()["y"].to_numpy() / truth
    assert np.ptp(flat) / flat.mean() > 0.5  # without it the pattern is lost


def test_update_keeps_the_phase():
    """After update, the kept history (now starting later) is still adjusted at
    the right phases, and the forecast carries the pattern of the new months."""
    y = _monthly(96)
    f = _tiny(max_epochs=0).fit(y.iloc[:72], fh=range(1, 13))
    f.update(y.iloc[72:75])
    (adjusted,) = f._seasonality.adjusted_series(f._memory)
    assert np.ptp(adjusted) / adjusted.mean() < 1e-9
    pred = f.predict()["y"]
    assert pred.index[0] == y.index[75]
    ratio = pred.to_numpy() / y["y"].iloc[75:87].to_numpy()
    assert np.ptp(ratio) / ratio.mean() < 0.05


def test_sp_one_or_false_change_nothing():
    """Both give the network the raw series: the same forecast as a series without
    any frequency (integer index, where no season is read)."""
    y = _monthly(72)
    a = _tiny(deseasonalize=False).fit(y, fh=[1, 2, 3]).predict()
    b = _tiny(sp=1).fit(y, fh=[1, 2, 3]).predict()
    c = _tiny().fit(y.reset_index(drop=True), fh=[1, 2, 3]).predict()
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(a.to_numpy(), c.to_numpy())


def test_explicit_sp_on_an_integer_index():
    y = _monthly(72).reset_index(drop=True)
    assert _tiny().fit(y, fh=[1]).seasonal_models_ == (None,)  # no frequency: sp 1
    f = _tiny(sp=12).fit(y, fh=[1])
    assert f.sp_ == 12 and f.seasonal_models_ == ("multiplicative",)


@pytest.mark.parametrize("kw, match", [(dict(deseasonalize="yes"), "deseasonalize"),
                                       (dict(deseasonalize=1), "deseasonalize"),
                                       (dict(sp=0), "sp must"), (dict(sp=2.5), "sp must")])
def test_bad_seasonal_settings_are_refused(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _tiny(**kw).fit(_monthly(48), fh=[1])


def test_trend_without_season_is_left_alone():
    """A trending series passes the ACF test at any lag; its seasonal strength is
    near 0, so it is not adjusted."""
    from sktime.utils.seasonality import autocorrelation_seasonality_test

    rng = np.random.default_rng(1)
    y = pd.DataFrame({"y": 100 + np.arange(80) + rng.normal(size=80)},
                     index=pd.period_range("2000Q1", periods=80, freq="Q"))
    assert autocorrelation_seasonality_test(y["y"], 4)
    memory = SeriesMemory.from_y(y, len(y))
    assert SeasonalAdjustment.fit(memory, 4).models == (None,)


def test_a_season_that_died_out_is_not_put_back():
    """Seasonal counts that stopped (the last 3 years all zero): the whole history
    passes the test, but the season no longer holds where the forecast starts, so
    the series is not adjusted and no seasonal spikes are added to the forecast."""
    y = _monthly(120) - 60.0  # crosses zero: the additive model
    memory = SeriesMemory.from_y(y, len(y))
    assert SeasonalAdjustment.fit(memory, 12).models == ("additive",)
    dead = y.copy()
    dead.iloc[-36:] = 0.0
    memory = SeriesMemory.from_y(dead, len(dead))
    assert SeasonalAdjustment.fit(memory, 12).models == (None,)
    f = _tiny().fit(dead, fh=list(range(1, 13)))
    assert f.seasonal_models_ == (None,)
    kept = dead.copy()
    kept.iloc[-24:] = y.iloc[-24:].to_numpy() * 1.0  # the season back for 2 years
    assert SeasonalAdjustment.fit(SeriesMemory.from_y(kept, len(kept)), 12).models == \
        ("additive",)
