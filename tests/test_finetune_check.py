"""finetune_check_folds: a fit from a pretrained adapter fine-tunes only when the
fine-tuned forecaster beats the zero-shot one on rolling origins inside the data."""

import numpy as np
import pandas as pd
import pytest
from sktime.datasets import load_airline

from sktime_llmforecast.forecasting import _finetune_check
from sktime_llmforecast.forecasting._finetune_check import (
    FinetuneCheck,
    fold_cutoffs,
    run_finetune_check,
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


def test_fit_fine_tunes_only_when_the_folds_say_so(adapter):
    y = load_airline()
    f = _arch(pretrained=adapter).fit(y, fh=[1, 2, 3])
    scores = f.finetune_scores_
    assert set(scores) == {"zero-shot", "fine-tuned"}
    assert all(np.isfinite(v) and v > 0 for v in scores.values())
    assert scores["fine-tuned"] != scores["zero-shot"]  # the folds did fine-tune
    chosen = (_arch(pretrained=adapter, finetune_check_folds=0)
              if scores["fine-tuned"] < scores["zero-shot"]
              else _arch(pretrained=adapter, finetune_epochs=0))
    expected = chosen.fit(y, fh=[1, 2, 3]).predict()
    pd.testing.assert_series_equal(f.predict(), expected)
    assert chosen.finetune_scores_ is None


@pytest.mark.parametrize("fine_tune", [True, False])
def test_the_check_decides_between_the_two_forecasters(adapter, monkeypatch, fine_tune):
    monkeypatch.setattr(FinetuneCheck, "fine_tune", property(lambda self: fine_tune))
    y = load_airline()
    f = _arch(pretrained=adapter).fit(y, fh=[1, 2])
    plain = _arch(pretrained=adapter, **({"finetune_check_folds": 0} if fine_tune
                                          else {"finetune_epochs": 0}))
    pd.testing.assert_series_equal(f.predict(), plain.fit(y, fh=[1, 2]).predict())
    assert (f.history_["epochs_run"] > 0) == fine_tune


def test_folds_see_only_the_past_and_forecast_the_block_after_it(adapter, monkeypatch):
    seen = []
    score = _finetune_check.scaled_error

    def record(y_train, y_test, forecast):
        seen.append((y_train.index[-1], y_test.index[0], y_test.index[-1],
                     forecast.index[0], forecast.index[-1]))
        return score(y_train, y_test, forecast)

    monkeypatch.setattr(_finetune_check, "scaled_error", record)
    y = load_airline()
    _arch(pretrained=adapter, finetune_check_folds=2).fit(y, fh=[1, 2, 3, 4])
    p = y.index
    assert seen == [(p[-9], p[-8], p[-5], p[-8], p[-5])] * 2 + \
        [(p[-5], p[-4], p[-1], p[-4], p[-1])] * 2


def test_no_check_where_nothing_would_fine_tune_or_no_fold_fits(adapter):
    y = load_airline()
    assert _arch(pretrained=adapter, finetune_epochs=0).fit(y, fh=[1]).finetune_scores_ is None
    assert _arch(pretrained=None).fit(y, fh=[1]).finetune_scores_ is None
    short = y.iloc[:20]  # 3 blocks of 12 do not fit in 20 values
    f = _arch(pretrained=adapter).fit(short, fh=list(range(1, 13)))
    assert f.finetune_scores_ is None


def test_the_check_handles_panels_and_exogenous_data(adapter):
    y = load_airline()
    panel = pd.concat({"a": y, "b": 10 * y}, names=["unit", "time"]).to_frame("y")
    f = _arch(pretrained=adapter).fit(panel, fh=[1, 2])
    assert set(f.finetune_scores_) == {"zero-shot", "fine-tuned"}
    X = pd.DataFrame({"t": np.arange(len(y), dtype=float)}, index=y.index)
    g = _arch(pretrained=adapter).fit(y.iloc[:-2], X=X.iloc[:-2], fh=[1, 2])
    assert np.isfinite(g.predict(X=X.iloc[-2:])).all()
    assert g.finetune_scores_ is not None


def test_the_number_of_folds_is_checked():
    with pytest.raises(ValueError, match="finetune_check_folds"):
        _arch(finetune_check_folds=-1).fit(load_airline(), fh=[1])


def test_panel_members_are_cut_at_their_own_ends(adapter):
    """A member that ends early is forecast from its own last values, with X."""
    y = load_airline()
    panel = pd.concat({"a": y, "b": 10 * y.iloc[:-12]}, names=["unit", "time"]).to_frame("y")
    X = pd.DataFrame({"t": np.arange(len(panel), dtype=float)}, index=panel.index)
    for x in (None, X):
        check = run_finetune_check(_arch(pretrained=adapter), panel, x, 3, 2)
        assert check.held_out == (6, 3)
        assert all(np.isfinite(v) for v in check.scores.values())


def test_a_fold_with_nothing_to_score_is_skipped(adapter):
    y = load_airline().copy()
    y.iloc[-2:] = np.nan  # the last fold's test block holds no value
    check = run_finetune_check(_arch(pretrained=adapter), y, None, 2, 3)
    assert check.held_out == (6, 4)
