"""The time index is respected: update aligns on it, panel members keep their own
ends, hierarchies from ``Aggregator`` forecast, wrappers that refit on shorter data
work, and the network's size follows the data.

Most tests use a forecaster whose ``fit`` trains nothing (a tiny network from
``pretrain``, ``finetune_epochs=0``), so that "the same data" must give the same
numbers exactly, whichever path (fit, update, evaluate) brought the data in.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sktime.forecasting.model_evaluation import evaluate
from sktime.split import SlidingWindowSplitter

from sktime_llmforecast import LLMForecaster, PatchTokenizer
from tests.conftest import TINY_GPT2

N = 60
MONTHS = pd.period_range("2000-01", periods=N + 30, freq="M")


def _values(n=N, seed=0):
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(size=n)
    return 50 + 10 * np.sin(2 * np.pi * t / 12) + 0.2 * t + noise


def _series(n=N):
    return pd.Series(_values(n), index=MONTHS[:n], name="y")


def _panel(ends=(N, N)):
    frames = []
    for i, end in enumerate(ends):
        idx = pd.MultiIndex.from_product([[f"m{i}"], MONTHS[:end]], names=["id", "t"])
        frames.append(pd.DataFrame({"y": (1 + i) * _values(end, seed=i)}, index=idx))
    return pd.concat(frames)


def _tiny(**kw):
    params = dict(backbone=dict(TINY_GPT2, n_layer=1), pretrained=None,
                  tokenizer=PatchTokenizer(4, 4), context_length=16, max_epochs=1,
                  random_state=0, device="cpu",
                  # fit's seasonal indices stay fixed in update (tests/test_seasonal.py);
                  # here a fit only stores the history, so update equals a fresh fit
                  deseasonalize=False)
    params.update(kw)
    return LLMForecaster(**params)


@pytest.fixture(scope="module")
def frozen():
    """A pretrained forecaster whose ``fit`` only stores the history."""
    f = _tiny(prediction_length=3, finetune_epochs=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f.pretrain(_panel())
    return f


def _predict(f, y, fh=(1, 2, 3)):
    return f.clone().fit(y, fh=list(fh)).predict()


# ------------------------------------------------------------------------ update
def test_update_with_overlap_equals_a_fit_on_the_merged_data(frozen):
    y = _series()
    changed = y.copy()
    changed.iloc[47] += 25.0  # an overlapping value that differs: the new one wins
    f = frozen.clone().fit(y[:50], fh=[1, 2, 3])
    f.update(changed[44:55])
    want = _predict(frozen, pd.concat([y[:44], changed[44:55]]))
    pd.testing.assert_series_equal(f.predict(), want)
    assert f.cutoff[0] == MONTHS[54]


@pytest.mark.parametrize("new, match", [
    (slice(52, 56), "2 time point\\(s\\) from 2004-03 to 2004-04 are missing"),
    (slice(10, 40), "does not extend past the forecaster's cutoff 2004-02"),
    (slice(0, 50), "does not extend past the forecaster's cutoff 2004-02"),
])
def test_update_refuses_gaps_and_old_data_and_changes_nothing(frozen, new, match):
    y = _series()
    f = frozen.clone().fit(y[:50], fh=[1, 2, 3])
    before = f.predict()
    with pytest.raises(ValueError, match=match):
        f.update(y[new])
    assert f.cutoff[0] == MONTHS[49]
    pd.testing.assert_series_equal(f.predict(), before)


@pytest.mark.parametrize("strategy", ["update", "no-update_params"])
@pytest.mark.parametrize("window_length", [6, 20])
def test_sliding_window_evaluate_equals_fresh_fits(frozen, strategy, window_length):
    """Each fold's forecast equals a fresh fit on the data seen by then: the window
    itself when it is at least the context (16), else everything from the first
    window on (update remembers, as sktime's update does)."""
    y = _series()
    cv = SlidingWindowSplitter(window_length=window_length, fh=[1, 2, 3], step_length=5)
    res = evaluate(frozen, cv, y, strategy=strategy, return_data=True)
    assert len(res) >= 8
    first = res["y_train"].iloc[0].index[0]
    for _, row in res.iterrows():
        window = row["y_train"]
        seen = window if window_length >= 16 else y[first : window.index[-1]]
        np.testing.assert_array_equal(row["y_pred"].to_numpy(), _predict(frozen, seen).to_numpy())


# ----------------------------------------------------------------- ragged panels
def test_ragged_panel_members_keep_their_own_end(frozen):
    panel = _panel(ends=(40, N))
    f = frozen.clone().fit(panel, fh=[1, 2, 3])
    pred = f.predict()
    short = pred.loc["m0"]
    # relative fh: from each member's own last observation (sktime's per-series rule)
    assert list(short.index) == list(MONTHS[40:43])
    assert list(pred.loc["m1"].index) == list(MONTHS[60:63])
    alone = _predict(frozen, panel.loc["m0"]["y"])
    np.testing.assert_allclose(short["y"].to_numpy(), alone.to_numpy(), rtol=1e-6)  # batched with the other member
    # absolute fh: the same times for every member, the short one forecast through its gap
    at = pd.PeriodIndex(MONTHS[60:62], freq="M")
    pred_abs = f.predict(fh=at)
    assert list(pred_abs.loc["m0"].index) == list(at)
    far = frozen.clone().fit(panel.loc["m0"]["y"], fh=[21, 22]).predict()
    np.testing.assert_allclose(pred_abs.loc["m0"]["y"].to_numpy(), far.to_numpy(), rtol=1e-6)  # batched with the other member


def test_ragged_panel_update_moves_only_the_members_it_names(frozen):
    panel = _panel(ends=(40, 55))
    f = frozen.clone().fit(panel, fh=[1, 2])
    before = f.predict()
    full = _panel(ends=(N, N))
    f.update(full.loc[["m1"]].iloc[50:])
    after = f.predict()
    pd.testing.assert_frame_equal(after.loc[["m0"]], before.loc[["m0"]])
    assert list(after.loc["m1"].index) == list(MONTHS[60:62])


# ---------------------------------------------------------------- hierarchies
def test_aggregator_hierarchy_fits_forecasts_and_reconciles():
    from sktime.transformations.hierarchical.aggregate import Aggregator
    from sktime.transformations.hierarchical.reconcile import Reconciler
    from sktime.utils._testing.hierarchical import _make_hierarchical

    y = _make_hierarchical(hierarchy_levels=(2, 2), min_timepoints=30, max_timepoints=30,
                           random_state=0)  # a DatetimeIndex without freq, as Aggregator's
    agg = Aggregator().fit_transform(y)
    pipe = Aggregator() * _tiny(context_length=12) * Reconciler(method="bu")
    pipe.fit(y, fh=[1, 2])
    pred = pipe.predict()
    assert np.isfinite(pred.to_numpy()).all()
    last = agg.index.get_level_values(-1).max()
    assert set(pred.index.get_level_values(-1)) == {last + pd.Timedelta(days=d) for d in (1, 2)}
    assert ("__total", "__total") in {k[:2] for k in pred.index}
    bottom = pred.drop(index="__total", level=-2, errors="ignore")
    bottom = bottom[[k[1] != "__total" for k in bottom.index]]
    total = pred.loc[("__total", "__total")]["c0"].to_numpy()
    np.testing.assert_allclose(bottom.groupby(level=-1)["c0"].sum().to_numpy(), total)
    plain = _tiny(context_length=12).fit(agg, fh=[1, 2]).predict()  # no pipeline
    assert len(plain) == len(pred) and np.isfinite(plain.to_numpy()).all()


# ---------------------------------------------------------- wrappers that refit
def test_conformal_and_bagging_wrappers_run():
    from sktime.forecasting.compose import BaggingForecaster
    from sktime.forecasting.conformal import ConformalIntervals
    from sktime.transformations.bootstrap import STLBootstrapTransformer

    y = _series(48)
    conformal = ConformalIntervals(_tiny(), initial_window=36, sample_frac=0.5)
    conformal.fit(y, fh=[1, 2, 3])
    bagging = BaggingForecaster(STLBootstrapTransformer(n_series=4, sp=12), _tiny(),
                                random_state=0).fit(y, fh=[1, 2, 3])
    for wrapper in (conformal, bagging):
        iv = wrapper.predict_interval(coverage=0.9)
        assert np.isfinite(iv.to_numpy(dtype=float)).all()
        assert (iv.iloc[:, 0] < iv.iloc[:, 1]).all()
        assert list(iv.index) == list(pd.period_range("2004-01", periods=3, freq="M"))


def test_head_never_asks_for_more_steps_than_the_data_has():
    y = _series(20)
    f = _tiny().fit(y, fh=list(range(1, 31)))
    assert f.horizon_ == 18  # one training window: 2 observed values + 18 targets
    pred = f.predict()
    assert len(pred) == 30 and np.isfinite(pred.to_numpy()).all()


def test_cost_follows_the_data_not_context_length():
    f = _tiny(context_length=10**6).fit(_series(), fh=[1, 2])
    assert f.plan_.network.context_length == N
    assert f.plan_.history_length == N
    assert np.isfinite(f.predict().to_numpy()).all()


def test_context_beyond_the_backbone_fails_fast():
    y = pd.Series(np.sin(np.arange(3000) / 10.0))
    f = _tiny(context_length=2000, tokenizer=PatchTokenizer(8, 4))
    with pytest.raises(ValueError, match="beyond its 128 positions.*resampler"):
        f.fit(y, fh=[1])


# ------------------------------------------------- grids, sizes and modes (review)
def test_update_off_a_multi_period_grid_is_refused(frozen):
    idx = pd.period_range("2000-01", periods=50, freq="2M")
    y = pd.Series(_values(50), index=idx)
    f = frozen.clone().fit(y, fh=[1])
    off = pd.Series([1.0, 2.0], index=pd.PeriodIndex(["2008-04", "2008-06"], freq="2M"))
    with pytest.raises(ValueError, match="not on the series' time grid"):
        f.update(off)
    assert f.cutoff[0] == idx[-1]


def test_update_that_leaves_a_gap_before_a_member_is_refused(frozen):
    panel = _panel(ends=(42, N)).drop(index=[("m0", t) for t in MONTHS[:30]])
    f = frozen.clone().fit(panel, fh=[1])
    full = _panel(ends=(N + 1, N + 1))
    new = pd.concat([full.loc[["m0"]].iloc[10:21], full.loc[["m1"]].iloc[[N]]])
    with pytest.raises(ValueError, match="member 'm0' ending at 2001-09.*9 time point"):
        f.update(new)


def test_absolute_fh_on_an_aggregator_hierarchy():
    from sktime.forecasting.base import ForecastingHorizon
    from sktime.transformations.hierarchical.aggregate import Aggregator
    from sktime.utils._testing.hierarchical import _make_hierarchical

    y = Aggregator().fit_transform(_make_hierarchical(
        hierarchy_levels=(2, 2), min_timepoints=30, max_timepoints=30, random_state=0))
    f = _tiny(context_length=12).fit(y, fh=[1, 2])
    last = y.index.get_level_values(-1).max()
    at = pd.DatetimeIndex([last + pd.Timedelta(days=1), last + pd.Timedelta(days=3)])
    pred = f.predict(fh=ForecastingHorizon(at, is_relative=False))
    assert set(pred.index.get_level_values(-1)) == set(at)
    rel = f.predict(fh=[1, 3])
    np.testing.assert_allclose(pred.to_numpy(), rel.to_numpy())


def test_zero_shot_is_not_sized_at_fit_so_update_equals_a_fresh_fit():
    from sktime_llmforecast import DigitTokenizer

    y = _series()
    kw = dict(mode="zero-shot", tokenizer=DigitTokenizer(precision=1), context_length=24,
              num_samples=2, backbone=dict(TINY_GPT2, n_positions=1024))
    f = _tiny(**kw).fit(y[:10], fh=[1, 2, 3])
    f.update(y[10:40])
    np.testing.assert_array_equal(f.predict().to_numpy(),
                                  _tiny(**kw).fit(y[:40], fh=[1, 2, 3]).predict().to_numpy())


def test_default_head_follows_the_capped_context():
    f = _tiny(context_length=10**6).fit(_series())
    assert (f.plan_.network.context_length, f.horizon_) == (N, N // 4)


def test_an_adapting_search_keeps_the_context_its_variants_need():
    from sktime_llmforecast import TokenizerSwitcher

    search = TokenizerSwitcher([PatchTokenizer(16, 8)], strategy="adapt", min_epochs=1)
    f = _tiny(tokenizer=search, context_length=64).fit(_series(30), fh=[1])
    assert f.plan_.network.context_length == 32  # the doubled patch, not the 30 values
    assert np.isfinite(f.tokenizer_scores_["score"]).all()
