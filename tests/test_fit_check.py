"""check_folds: a fit from a pretrained adapter reads differences only when they
forecast better zero-shot, and fine-tunes only when the fine-tuned forecaster beats
the zero-shot one, on rolling origins inside the data."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sktime.datasets import load_airline

from sktime_llmforecast.forecasting import _fit_check
from sktime_llmforecast.forecasting._fit_check import (
    DIFFERENCE_MARGIN,
    difference_ratio,
    fold_cutoffs,
    label,
    run_fit_check,
    scaled_error,
)
from sktime_llmforecast.pretraining import PretrainConfig, pretrain_adapter
from tests.conftest import QUICK_PRETRAIN as QUICK
from tests.conftest import TINY_GPT2_1 as TINY
from tests.conftest import tiny_forecaster


def _arch(**kw):
    return tiny_forecaster(**{"backbone": TINY, "context_length": 24,
                              "prediction_length": 6, **kw})


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    out = tmp_path_factory.mktemp("adapter") / "tiny"
    pretrain_adapter(_arch(), out, PretrainConfig(steps=6, **QUICK))
    return out


def test_folds_are_the_last_blocks_with_three_horizons_before_them():
    assert fold_cutoffs(144, 12, 3) == [108, 120, 132]
    assert fold_cutoffs(40, 10, 3) == [30]  # 10 and 20 values are too short
    assert fold_cutoffs(20, 10, 3) == []
    assert fold_cutoffs(144, 12, 0) == []


def test_scaled_error_is_mase_per_member_and_column():
    idx = pd.period_range("2000-01", periods=4, freq="M")
    train = pd.Series([0.0, 2.0, 4.0, 6.0], index=idx)  # mean |step| = 2
    test = pd.Series([8.0, 10.0], index=pd.period_range("2000-05", periods=2, freq="M"))
    pred = test + pd.Series([1.0, 3.0], index=test.index)
    assert scaled_error(train, test, pred) == pytest.approx(2.0 / 2)
    # a panel: each member by its own scale (100x larger member, same relative error)
    def panel(values_a, values_b, times):
        index = pd.MultiIndex.from_product([["a", "b"], times])
        return pd.DataFrame({"y": np.r_[values_a, values_b]}, index=index)
    tr = panel(train.values, 100 * train.values, idx)
    te = panel(test.values, 100 * test.values, test.index)
    pr = panel(pred.values, 100 * test.values + 300.0, test.index)
    assert scaled_error(tr, te, pr) == pytest.approx((1.0 + 1.5) / 2)
    # a constant training part is scaled by its level; missing values are skipped
    flat = pd.Series([5.0] * 4, index=idx)
    gap = pred.copy()
    gap.iloc[1] = np.nan
    assert scaled_error(flat, test, gap) == pytest.approx(1.0 / 5)


ZERO_SHOT = {label(False, False), label(True, False), "differences / values"}


def test_differences_must_win_clearly_over_the_folds():
    v, d = label(False, False), label(True, False)
    errors = {8: {v: 1.0, d: 0.5}, 4: {v: 1.0, d: 2.0}, 12: {v: 0.0, d: 3.0}}
    assert difference_ratio(errors) == pytest.approx(1.0)  # 0.5 and 2: no gain
    errors[16] = {v: 2.0, d: 1.0}
    assert difference_ratio(errors) == pytest.approx(0.5 ** (1 / 3))
    assert difference_ratio({4: {v: 0.0, d: 1.0}}) == 1.0


def test_fit_follows_the_check(adapter):
    y = load_airline()
    f = _arch(pretrained=adapter).fit(y, fh=[1, 2, 3])
    scores = f.check_scores_
    d = scores["differences / values"] < DIFFERENCE_MARGIN
    assert set(scores) == ZERO_SHOT | {label(d, True)}
    assert f.difference_ == d
    assert all(np.isfinite(v) and v > 0 for v in scores.values())
    assert scores[label(d, True)] != scores[label(d, False)]  # the folds did fine-tune
    fine_tune = scores[label(d, True)] < scores[label(d, False)]
    chosen = _arch(pretrained=adapter, check_folds=0, difference=d,
                   **({} if fine_tune else {"finetune_epochs": 0}))
    expected = chosen.fit(y, fh=[1, 2, 3]).predict()
    pd.testing.assert_series_equal(f.predict(), expected)
    assert chosen.check_scores_ is None
    assert chosen.difference_ == d


@pytest.mark.parametrize("difference", [True, False])
@pytest.mark.parametrize("fine_tune", [True, False])
def test_the_check_decides_between_the_forecasters(adapter, monkeypatch, difference,
                                                   fine_tune):
    check = _fit_check.run_fit_check

    def forced(*args, **kwargs):
        return replace(check(*args, **kwargs), difference=difference, fine_tune=fine_tune)

    monkeypatch.setattr(_fit_check, "run_fit_check", forced)
    y = load_airline()
    f = _arch(pretrained=adapter).fit(y, fh=[1, 2])
    plain = _arch(pretrained=adapter, check_folds=0, difference=difference,
                  **({} if fine_tune else {"finetune_epochs": 0}))
    pd.testing.assert_series_equal(f.predict(), plain.fit(y, fh=[1, 2]).predict())
    assert (f.history_["epochs_run"] > 0) == fine_tune
    assert f.difference_ == difference


def test_folds_see_only_the_past_and_forecast_the_block_after_it(adapter, monkeypatch):
    seen = []
    score = _fit_check.scaled_error

    def record(y_train, y_test, forecast):
        seen.append((y_train.index[-1], y_test.index[0], y_test.index[-1],
                     forecast.index[0], forecast.index[-1]))
        return score(y_train, y_test, forecast)

    monkeypatch.setattr(_fit_check, "scaled_error", record)
    y = load_airline()
    _arch(pretrained=adapter, check_folds=2).fit(y, fh=[1, 2, 3, 4])
    p = y.index

    def fold(back):  # trained up to back + 1 values from the end, 4 forecast
        return (p[-back - 1], p[-back], p[-back + 3], p[-back], p[-back + 3])

    # zero-shot on values and on differences at 2 x 2 folds, then the fine-tune at
    # the last 2
    assert seen == [fold(k) for k in (16, 16, 12, 12, 8, 8, 4, 4)] + [fold(8), fold(4)]


def test_no_check_where_there_is_nothing_to_choose_or_no_fold_fits(adapter):
    y = load_airline()
    zero_shot = _arch(pretrained=adapter, finetune_epochs=0)
    assert zero_shot.clone().set_params(difference=False).fit(y, fh=[1]).check_scores_ is None
    # zero-shot with difference="auto": only the representation is checked
    assert set(zero_shot.fit(y, fh=[1]).check_scores_) == ZERO_SHOT
    f = _arch(pretrained=None).fit(y, fh=[1])
    assert f.check_scores_ is None and not f.difference_
    short = y.iloc[:20]  # 3 blocks of 12 do not fit in 20 values
    f = _arch(pretrained=adapter).fit(short, fh=list(range(1, 13)))
    assert f.check_scores_ is None and not f.difference_  # "auto" reads values


def test_the_check_handles_panels_and_exogenous_data(adapter):
    y = load_airline()
    panel = pd.concat({"a": y, "b": 10 * y}, names=["unit", "time"]).to_frame("y")
    f = _arch(pretrained=adapter).fit(panel, fh=[1, 2])
    assert ZERO_SHOT < set(f.check_scores_)
    X = pd.DataFrame({"t": np.arange(len(y), dtype=float)}, index=y.index)
    g = _arch(pretrained=adapter).fit(y.iloc[:-2], X=X.iloc[:-2], fh=[1, 2])
    assert np.isfinite(g.predict(X=X.iloc[-2:])).all()
    assert g.check_scores_ is not None


def test_the_parameters_are_checked():
    with pytest.raises(ValueError, match="check_folds"):
        _arch(check_folds=-1).fit(load_airline(), fh=[1])
    with pytest.raises(ValueError, match="difference must be 'auto', True or False"):
        _arch(difference="yes").fit(load_airline(), fh=[1])


def test_panel_members_are_cut_at_their_own_ends(adapter):
    """A member that ends early is forecast from its own last values, with X."""
    y = load_airline()
    panel = pd.concat({"a": y, "b": 10 * y.iloc[:-12]}, names=["unit", "time"]).to_frame("y")
    X = pd.DataFrame({"t": np.arange(len(panel), dtype=float)}, index=panel.index)
    for x in (None, X):
        check = run_fit_check(_arch(pretrained=adapter), panel, x, 3, 2)
        assert check.held_out == (6, 3)
        assert all(np.isfinite(v) for v in check.scores.values())


def test_a_fold_with_nothing_to_score_is_skipped(adapter):
    y = load_airline().copy()
    y.iloc[-2:] = np.nan  # the last fold's test block holds no value
    check = run_fit_check(_arch(pretrained=adapter), y, None, 2, 3)
    assert check.held_out == (6, 4)


def test_zero_shot_point_forecasts_do_not_depend_on_the_calibration(adapter):
    """The check fits its zero-shot folds with validation_fraction=0 (no interval
    calibration, most of a zero-shot fit's time on long series): that must not
    change the point forecast it scores."""
    y = load_airline()
    kw = dict(pretrained=adapter, finetune_epochs=0, check_folds=0)
    calibrated = _arch(**kw).fit(y, fh=[1, 2, 3])
    plain = _arch(validation_fraction=0.0, **kw).fit(y, fh=[1, 2, 3])
    assert calibrated.n_calibration_windows_ > 0 and plain.n_calibration_windows_ == 0
    pd.testing.assert_series_equal(calibrated.predict(), plain.predict())
    for d in (False, True):
        kw["difference"] = d
        pd.testing.assert_series_equal(
            _arch(**kw).fit(y, fh=[1, 2, 3]).predict(),
            _arch(validation_fraction=0.0, **kw).fit(y, fh=[1, 2, 3]).predict())


def test_the_representation_stands_when_no_fine_tuned_fold_scores(adapter, monkeypatch):
    real = _fit_check._fold_errors

    def no_tuned(candidates, *args, **kwargs):
        if any("fine-tuned" in n for n in candidates):
            return {}
        return real(candidates, *args, **kwargs)

    monkeypatch.setattr(_fit_check, "_fold_errors", no_tuned)
    check = run_fit_check(_arch(pretrained=adapter), load_airline(), None, 3, 2,
                          (False, True), True)
    assert check.fine_tune and set(check.scores) == ZERO_SHOT  # fit fine-tunes as asked
    assert check.difference == (check.scores["differences / values"] < DIFFERENCE_MARGIN)
