"""Interval tails: levels beyond the trained quantiles or the samples are extrapolated
(never clamped), intervals nest strictly, and a forecast without spread says so."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr, ndtri

from sktime_llmforecast import LLMForecaster
from sktime_llmforecast.nn.paths import (
    TAIL_SLOPE_FLOOR,
    Paths,
    interp_quantiles,
    sample_quantiles,
)
from sktime_llmforecast.tokenizers import BinTokenizer, PatchTokenizer
from tests.conftest import TINY_GPT2

LEVELS = np.array([0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975])
COVERAGES = [0.8, 0.95, 0.99, 0.999]
SINGLE = (r"single level 0\.5; intervals need at least two levels: "
          r"set quantile_levels=\(0\.1, 0\.5, 0\.9\)")


def _normal_head(mu=3.0, sigma=2.0, levels=LEVELS):
    """A head (1, Q, 1) whose trained quantiles are exactly those of N(mu, sigma)."""
    return (mu + sigma * ndtri(levels))[None, :, None]


# ----------------------------------------------------------------- quantile head
def test_normal_head_extrapolates_to_the_normal_tails():
    mu, sigma = 3.0, 2.0
    alpha = [0.0005, 0.001, 0.005, 0.01, 0.99, 0.995, 0.999, 0.9995]
    out = interp_quantiles(LEVELS, _normal_head(mu, sigma), alpha)[0, :, 0]
    np.testing.assert_allclose(out, mu + sigma * ndtri(alpha), rtol=0, atol=1e-6)
    # and inside the trained range, between the levels, too
    inside = [0.05, 0.15, 0.3, 0.6, 0.8, 0.95]
    out = interp_quantiles(LEVELS, _normal_head(mu, sigma), inside)[0, :, 0]
    np.testing.assert_allclose(out, mu + sigma * ndtri(inside), rtol=0, atol=1e-6)


def test_trained_levels_give_the_trained_quantiles_exactly():
    rng = np.random.default_rng(0)
    q = np.sort(rng.normal(size=(3, len(LEVELS), 4)), axis=1)
    out = interp_quantiles(LEVELS, q, LEVELS[::-1])
    np.testing.assert_array_equal(out, q[:, ::-1])


def test_tails_follow_the_outermost_two_levels_on_each_side():
    levels = np.array([0.1, 0.5, 0.9])
    q = np.array([[[0.0], [1.0], [3.0]]])  # skewed: a steeper upper tail
    z1 = ndtri(0.9)
    out = interp_quantiles(levels, q, [0.3, 0.01, 0.99])[0, :, 0]
    w = ndtri(0.3) / ndtri(0.1)  # normal-score weight of the 0.1 level
    np.testing.assert_allclose(out[0], w * 0.0 + (1 - w) * 1.0)
    np.testing.assert_allclose(out[1], 0.0 + (ndtri(0.01) + z1) * (1.0 / z1))
    np.testing.assert_allclose(out[2], 3.0 + (ndtri(0.99) - z1) * (2.0 / z1))
    assert out[1] < 0.0 and out[2] > 3.0  # nothing clamped


def test_collapsed_tail_is_still_strictly_wider():
    # the two lowest trained quantiles tie: the floor keeps the tail strictly open
    q = np.array([[[1.0], [1.0], [2.0], [3.0]]])
    levels = np.array([0.05, 0.25, 0.5, 0.95])
    out = interp_quantiles(levels, q, [0.05, 0.01, 0.001])[0, :, 0]
    assert out[0] == 1.0 and out[0] > out[1] > out[2]
    spread = (3.0 - 1.0) / (ndtri(0.95) - ndtri(0.05))
    floor = TAIL_SLOPE_FLOOR * spread
    np.testing.assert_allclose(out[1], 1.0 + (ndtri(0.01) - ndtri(0.05)) * floor)


def test_head_quantiles_never_cross_and_nest_strictly():
    crossing = np.array([[[2.0], [1.0], [3.0]]])
    out = interp_quantiles(np.array([0.1, 0.5, 0.9]), crossing, [0.9, 0.1, 0.5])[0, :, 0]
    np.testing.assert_allclose(out, [3.0, 1.0, 2.0])
    alpha = np.sort([0.5 - c / 2 for c in COVERAGES] + [0.5 + c / 2 for c in COVERAGES])
    out = interp_quantiles(LEVELS, _normal_head(), alpha)[0, :, 0]
    assert (np.diff(out) > 0).all()


def test_a_single_level_head_refuses_intervals_and_variance():
    q = np.array([[[5.0, 6.0]]])  # (1, 1, 2) at the single level 0.5
    paths = Paths(quantiles=q, levels=np.array([0.5]))
    np.testing.assert_array_equal(paths.quantiles_at([0.5])[:, 0], q[:, 0])
    np.testing.assert_array_equal(paths.point(), q[:, 0])
    with pytest.raises(ValueError, match=SINGLE):
        paths.quantiles_at([0.1, 0.9])
    with pytest.raises(ValueError, match="single level 0.5; the variance"):
        paths.variance()
    # a single level other than 0.5 has no median either
    with pytest.raises(ValueError, match="single level 0.3; a median point forecast"):
        Paths(quantiles=q, levels=np.array([0.3])).point("median")


def test_levels_outside_the_open_unit_interval_are_refused():
    with pytest.raises(ValueError, match="open interval"):
        interp_quantiles(LEVELS, _normal_head(), [0.0, 0.5])
    with pytest.raises(ValueError, match="open interval"):
        sample_quantiles(np.zeros((1, 5, 1)), [1.0])


# ----------------------------------------------------------------- sample paths
def test_samples_are_weibull_quantiles_inside_and_normal_tails_beyond():
    samples = np.arange(1.0, 10.0)[None, :, None] ** 1.5  # S = 9: levels 0.1 .. 0.9
    s = samples.shape[1]
    inside = [0.1, 0.15, 0.5, 0.9]
    np.testing.assert_allclose(
        sample_quantiles(samples, inside)[0, :, 0],
        np.quantile(samples[0, :, 0], inside, method="weibull"),
    )
    assert sample_quantiles(samples, [0.1])[0, 0, 0] == samples.min()  # k / (S + 1)
    edge = ndtri(1 / (s + 1))
    median = np.median(samples)
    lo_slope = (median - samples.min()) / -edge
    hi_slope = (samples.max() - median) / -edge
    out = sample_quantiles(samples, [0.01, 0.995])[0, :, 0]
    np.testing.assert_allclose(out[0], samples.min() + (ndtri(0.01) - edge) * lo_slope)
    np.testing.assert_allclose(out[1], samples.max() + (ndtri(0.995) + edge) * hi_slope)
    # continuous at the resolvable edge
    near = sample_quantiles(samples, [0.1 - 1e-9, 0.9 + 1e-9])[0, :, 0]
    np.testing.assert_allclose(near, [samples.min(), samples.max()], atol=1e-6)


def test_tied_samples_still_nest_strictly():
    # discrete tokens: more than half of the draws on one value
    samples = np.array([0.0] * 12 + [1.0] * 6 + [2.0] * 2)[None, :, None]
    alpha = np.sort([0.5 - c / 2 for c in COVERAGES] + [0.5 + c / 2 for c in COVERAGES])
    out = sample_quantiles(samples, alpha)[0, :, 0]
    assert (np.diff(out[:4]) > 0).all() and (np.diff(out[4:]) > 0).all()
    # identical samples: no spread, zero-width intervals (the network's own answer)
    flat = sample_quantiles(np.ones((1, 20, 1)), alpha)
    np.testing.assert_array_equal(flat, np.ones_like(flat))


def test_sample_tails_cover_what_they_promise_on_normal_draws():
    """The check behind docs/probabilistic.md: 20 draws of N(0, 1), many times."""
    rng = np.random.default_rng(0)
    samples = rng.standard_normal((4000, 20, 1))
    q = sample_quantiles(samples, [0.005, 0.1, 0.9, 0.995])[:, :, 0]
    coverage_99 = (ndtr(q[:, 3]) - ndtr(q[:, 0])).mean()
    coverage_80 = (ndtr(q[:, 2]) - ndtr(q[:, 1])).mean()
    old = np.quantile(samples[:, :, 0], [0.005, 0.995], axis=1)  # numpy's default
    assert (ndtr(old[1]) - ndtr(old[0])).mean() < 0.91  # what the clamp-like rule gave
    assert 0.97 < coverage_99 < 0.99
    assert 0.78 < coverage_80 < 0.82


def test_a_single_sample_path_refuses_intervals_and_variance():
    paths = Paths(samples=np.array([[[1.0, 2.0]]]))
    np.testing.assert_array_equal(paths.quantiles_at([0.5])[:, 0], [[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"num_samples=1\); intervals need at least two"):
        paths.quantiles_at([0.05, 0.95])
    with pytest.raises(ValueError, match=r"num_samples=1\); the variance"):
        paths.variance()


# ----------------------------------------------------------------- forecasters
def _normal_series(n=160, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.Series(20 + 2 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1.0, n))


def _f(**kw):
    params = dict(pretrained=None, backbone=dict(TINY_GPT2, n_layer=1, n_positions=256),
                  context_length=16, max_epochs=2, random_state=0, device="cpu")
    params.update(kw)
    return LLMForecaster(**params)


def _assert_strictly_nested(iv):
    for col in iv.columns.get_level_values(0).unique():
        lower = np.stack([iv[(col, c, "lower")].values for c in COVERAGES])
        upper = np.stack([iv[(col, c, "upper")].values for c in COVERAGES])
        assert (np.diff(lower, axis=0) < 0).all(), lower
        assert (np.diff(upper, axis=0) > 0).all(), upper
        assert (upper - lower > 0).all()


@pytest.mark.parametrize(
    "kw",
    [dict(tokenizer=PatchTokenizer(4, 4)),
     dict(tokenizer=BinTokenizer(n_bins=32, low=-4.0, high=4.0), num_samples=20)],
    ids=["patch", "token"],
)
def test_forecaster_intervals_nest_strictly(kw):
    f = _f(**kw).fit(_normal_series(), fh=[1, 2, 3])
    iv = f.predict_interval(coverage=COVERAGES)
    _assert_strictly_nested(iv)
    width = {c: iv.xs((c, "upper"), axis=1, level=[1, 2]).values
             - iv.xs((c, "lower"), axis=1, level=[1, 2]).values for c in (0.95, 0.99)}
    assert (width[0.99] > width[0.95]).all()


def test_single_level_forecaster_raises_instead_of_zero_spread():
    f = _f(tokenizer=PatchTokenizer(4, 4), quantile_levels=(0.5,), max_epochs=1)
    f.fit(_normal_series(n=80), fh=[1, 2])
    assert np.isfinite(f.predict().values).all()
    f.predict_quantiles(alpha=[0.5])  # the one trained level is fine
    with pytest.raises(ValueError, match=SINGLE):
        f.predict_interval(coverage=0.9)
    with pytest.raises(ValueError, match="the variance .* needs at least two levels"):
        f.predict_var()
    with pytest.raises(ValueError, match="the variance .* needs at least two levels"):
        f.predict_proba()


def test_single_sample_forecaster_raises_instead_of_zero_spread():
    f = _f(tokenizer=BinTokenizer(n_bins=16, low=-4.0, high=4.0), num_samples=1,
           max_epochs=1)
    f.fit(_normal_series(n=80), fh=[1, 2])
    assert np.isfinite(f.predict().values).all()
    for method in (f.predict_var, f.predict_proba):
        with pytest.raises(ValueError, match=r"num_samples=1\); the variance"):
            method()
