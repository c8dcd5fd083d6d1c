"""tokenizer="auto" combines the adapter it keeps with the shipped adapters whose
zero-shot score is within ``COMBINE_MARGIN`` of it: the mean of the point forecasts
and the mixture of the distributions, as if each had been fitted alone."""

import numpy as np
import pandas as pd
import pytest
from sktime.datasets import load_airline

from sktime_llmforecast import BinTokenizer, ChunkedDigitTokenizer
from sktime_llmforecast.forecasting import _adapter_search, _fit_check
from sktime_llmforecast.forecasting._combination import (
    mixture_quantiles,
    mixture_variance,
)
from tests.test_adapter_search import ARCHS, _auto, ship, shipped  # noqa: F401

LEVELS = [0.1, 0.25, 0.5, 0.75, 0.9]


def _quantile_frame(values, levels=LEVELS, name="y"):
    """A one-row ``predict_quantiles`` frame."""
    return pd.DataFrame([values], columns=pd.MultiIndex.from_product([[name], levels]))


def test_the_mixture_of_one_distribution_with_itself_is_that_distribution():
    q = [1.0, 2.0, 3.0, 4.0, 5.0]
    out = mixture_quantiles([_quantile_frame(q)] * 3, LEVELS, LEVELS)
    np.testing.assert_allclose(out.to_numpy()[0], q, atol=1e-9)


def test_the_mixture_of_two_distant_distributions_spans_both():
    """Two members far apart: the mixture's median lies between them, its 25 % level
    at the lower member's median and its 75 % at the upper's."""
    low, high = [0.0, 1.0, 2.0, 3.0, 4.0], [100.0, 101.0, 102.0, 103.0, 104.0]
    out = mixture_quantiles([_quantile_frame(low), _quantile_frame(high)], LEVELS,
                            [0.25, 0.5, 0.75])
    q25, q50, q75 = out.to_numpy()[0]
    assert q25 == pytest.approx(2.0, abs=1e-6) and q75 == pytest.approx(102.0, abs=1e-6)
    assert 4.0 <= q50 <= 100.0


def test_the_mixture_variance_adds_the_spread_of_the_means():
    points = [pd.DataFrame({"y": [0.0]}), pd.DataFrame({"y": [2.0]})]
    variances = [pd.DataFrame({"y": [1.0]}), pd.DataFrame({"y": [3.0]})]
    # mean of variances 2, plus the means' spread around 1: (1 + 1) / 2
    assert mixture_variance(points, variances)["y"].iloc[0] == pytest.approx(3.0)


@pytest.fixture
def margins(monkeypatch):
    """No challenger; every other adapter within the combination's margin."""
    monkeypatch.setattr(_adapter_search, "CHALLENGE_MARGIN", 0.0)
    monkeypatch.setattr(_adapter_search, "COMBINE_MARGIN", 1e9)


@pytest.fixture
def combined(ship, margins):  # noqa: F811
    ship("tiny-patch", "tiny-bins", "tiny-chunked")
    y = load_airline()
    f = _auto().fit(y, fh=[1, 2, 3])
    alone = {"patch": _auto(tokenizer=None).fit(y, fh=[1, 2, 3])}
    for stem in ("tiny-bins", "tiny-chunked"):  # zero-shot, in the primary's representation
        alone[stem] = _auto(tokenizer=ARCHS[stem][0], max_epochs=0, check_folds=0,
                            difference=f.difference_).fit(y, fh=[1, 2, 3])
    return y, f, alone


def test_the_kept_adapter_forecasts_with_its_partners_mean(combined):
    _, f, alone = combined
    names = [n for n, _ in f.combined_forecasters_]
    assert sorted(names) == ["tiny-bins", "tiny-chunked"]
    # partners are fitted zero-shot, each exactly as when fitted alone, with no
    # rolling-origin check of their own
    for name, member in f.combined_forecasters_:
        assert isinstance(member.network_.tokenizer,
                          (BinTokenizer, ChunkedDigitTokenizer))
        assert member.history_["epochs_run"] == 0
        assert member.check_scores_ is None
        # (fitted on the frame fit converts ``y`` to: it forecasts frames)
        np.testing.assert_array_equal(member.predict().to_numpy().ravel(),
                                      alone[name].predict().to_numpy())
    expected = sum(g.predict() for g in alone.values()) / 3
    pd.testing.assert_series_equal(f.predict(), expected, rtol=1e-6)
    # the adapter kept is the primary one, fitted as if fixed
    assert f.check_scores_ == alone["patch"].check_scores_


def test_the_combination_quantiles_lie_between_its_members(combined):
    _, f, alone = combined
    q = f.predict_quantiles(alpha=LEVELS)
    members = np.stack([g.predict_quantiles(alpha=LEVELS).to_numpy()
                        for g in alone.values()])
    values = q.to_numpy()
    assert np.isfinite(values).all()
    assert (np.diff(values, axis=1) >= -1e-9).all()  # ordered by level
    assert (values >= members.min(axis=0) - 1e-6).all()
    assert (values <= members.max(axis=0) + 1e-6).all()
    iv = f.predict_interval(coverage=0.8)
    np.testing.assert_allclose(iv.to_numpy(), q.iloc[:, [0, -1]].to_numpy(), rtol=1e-9)
    var = f.predict_var()
    assert (var.to_numpy() > 0).all()
    dist = f.predict_proba()
    assert type(dist).__name__ == "Mixture"
    np.testing.assert_allclose(dist.mean().to_numpy().ravel(),
                               sum(g.predict_proba().mean().to_numpy().ravel()
                                   for g in alone.values()) / 3, rtol=1e-6)


@pytest.mark.parametrize("differences", [False, True])
def test_partners_read_the_representation_the_primary_check_chose(
        ship, margins, monkeypatch, differences):  # noqa: F811
    """The primary adapter's check decides values or differences for every member:
    forced either way (its margin at 0 or very large), the partners follow."""
    ship("tiny-patch", "tiny-bins")
    monkeypatch.setattr(_fit_check, "DIFFERENCE_MARGIN", 1e9 if differences else 0.0)
    f = _auto().fit(load_airline(), fh=[1, 2, 3])
    assert f.difference_ is differences
    assert "differences / values" in f.check_scores_  # the primary's check ran
    [(_, member)] = f.combined_forecasters_
    assert member.difference_ is differences and member.check_scores_ is None


def test_an_update_reaches_every_member(combined):
    _, f, alone = combined
    new = pd.Series([450.0, 470.0], index=pd.period_range("1961-01", periods=2,
                                                             freq="M"))
    f.update(new, update_params=False)
    for g in alone.values():
        g.update(new, update_params=False)
    assert str(f.cutoff[0]) == "1961-02"
    for _, member in f.combined_forecasters_:
        assert str(member.cutoff[0]) == "1961-02"
    expected = sum(g.predict() for g in alone.values()) / 3
    pd.testing.assert_series_equal(f.predict(), expected, rtol=1e-6)


def test_nothing_is_combined_outside_the_margin(ship, monkeypatch):  # noqa: F811
    ship("tiny-patch", "tiny-bins")
    monkeypatch.setattr(_adapter_search, "CHALLENGE_MARGIN", 0.0)
    monkeypatch.setattr(_adapter_search, "COMBINE_MARGIN", 0.0)
    y = load_airline()
    f = _auto().fit(y, fh=[1, 2, 3])
    assert f.combined_forecasters_ == []
    g = _auto(tokenizer=None).fit(y, fh=[1, 2, 3])
    pd.testing.assert_series_equal(f.predict(), g.predict(), rtol=1e-6)
    assert f.get_fitted_params()["combined_forecasters"] == []


def test_partners_are_those_within_the_margin_of_the_primary(ship, monkeypatch):  # noqa: F811
    ship("tiny-patch", "tiny-bins", "tiny-chunked")
    monkeypatch.setattr(_adapter_search, "CHALLENGE_MARGIN", 0.5)
    monkeypatch.setattr(_adapter_search, "COMBINE_MARGIN", 1.25)
    zero_shot = {BinTokenizer: 1.2, ChunkedDigitTokenizer: 1.3}  # primary: 1.0

    def scripted(net, *args):
        score = zero_shot.get(type(net.tokenizer), 1.0)
        return _adapter_search.RungScore(score, 1, np.array([score]))

    monkeypatch.setattr(_adapter_search, "rung_score", scripted)
    f = _auto().fit(load_airline(), fh=[1, 2, 3])
    assert [n for n, _ in f.combined_forecasters_] == ["tiny-bins"]
    assert set(f.tokenizer_scores_["round"]) == {0}  # no challenger, no fine-tune
