"""The synthetic families beyond the components: reachable, seeded, finite, and each
with the shape it is named for."""

import time

import numpy as np
import pytest

from sktime_llmforecast.pretraining import FAMILY_NAMES, SyntheticSeriesGenerator
from sktime_llmforecast.pretraining.families import (
    FAMILIES,
    heteroscedastic,
    kernel_synth,
    quasi_periodic,
    regime_switch,
)

ALL = {name: 1 for name in FAMILY_NAMES}


def _draws(family, k=40, n=200, seed=0):
    rng = np.random.default_rng(seed)
    return [family(rng, n) for _ in range(k)]


def test_every_family_is_drawn_seeded_and_finite():
    gen = SyntheticSeriesGenerator(family_weights=ALL)
    values, info = gen.sample(300, 96, seed=0)
    again, _ = gen.sample(300, 96, seed=0)
    np.testing.assert_array_equal(values, again)
    assert np.isfinite(values).all() and values.shape == (300, 96)
    families = {p for parts in info for p in parts if p.startswith("family:")}
    assert families == {f"family:{name}" for name in FAMILY_NAMES}
    share = np.mean([f"family:{FAMILY_NAMES[0]}" in parts for parts in info])
    assert 0.1 < share < 0.25  # equal weights over six families


def test_version_1_corpus_draws_components_only():
    _, info = SyntheticSeriesGenerator(family_weights=None).sample(200, 64, seed=0)
    assert not any(p.startswith("family:") for parts in info for p in parts)


def test_default_corpus_mixes_every_family():
    _, info = SyntheticSeriesGenerator().sample(600, 64, seed=0)
    drawn = {p for parts in info for p in parts if p.startswith("family:")}
    assert drawn == {f"family:{name}" for name in FAMILY_NAMES}


@pytest.mark.parametrize("family", list(FAMILIES.values()))
def test_family_values_are_standardised(family):
    for x, parts in _draws(family, k=10):
        assert np.isfinite(x).all() and x.shape == (200,)
        assert abs(x.mean()) < 1e-9 and abs(x.std() - 1) < 1e-9
        assert any(p.startswith("family:") for p in parts)


def test_kernel_synth_uses_the_whole_bank_and_is_fast():
    parts = set().union(*(p for _, p in _draws(kernel_synth, k=60, n=64)))
    assert {f"kernel:{k}" for k in ("periodic", "linear", "rbf", "rational_quadratic",
                                    "white", "constant")} <= parts
    start = time.perf_counter()
    _draws(kernel_synth, k=20, n=576)  # a 512 + 64 window
    assert time.perf_counter() - start < 20  # generous: about 0.05 s a draw here


def _acf(x, lag):
    return float(np.corrcoef(x[:-lag], x[lag:])[0, 1])


def test_quasi_periodic_series_cycle():
    """They oscillate: the autocorrelation turns clearly negative at some lag (an AR(2)
    draw may rarely be too noisy to show it within 100 lags)."""
    kinds, cycling = set(), []
    for x, parts in _draws(quasi_periodic, k=60, n=300):
        kinds |= parts
        cycling.append(min(_acf(x, lag) for lag in range(2, 100)) < -0.2)
    assert np.mean(cycling) >= 0.95
    assert {"quasi:ar2", "quasi:drifting_sinusoid", "quasi:asymmetric"} <= kinds


def test_regime_switch_changes_regime():
    """The level moves between regimes: first and last quarters differ more than noise."""
    gaps = [abs(x[:50].mean() - x[-50:].mean()) for x, _ in _draws(regime_switch)]
    assert np.median(gaps) > 0.3


def test_heteroscedastic_noise_changes_its_spread():
    def spread_ratio(x):
        resid = np.diff(x)
        sds = [resid[i : i + 25].std() for i in range(0, len(resid) - 25, 25)]
        return max(sds) / min(sds)

    iid = np.median([spread_ratio(np.random.default_rng(s).normal(size=200))
                     for s in range(40)])
    by_kind = {}
    for x, parts in _draws(heteroscedastic, k=90):
        kind = next(p for p in parts if p.startswith("volatility:"))
        by_kind.setdefault(kind, []).append(spread_ratio(x))
    assert set(by_kind) == {"volatility:garch", "volatility:envelope", "volatility:level"}
    for ratios in by_kind.values():  # every kind's spread moves more than i.i.d. noise's
        assert np.median(ratios) > 1.1 * iid


@pytest.mark.parametrize("weights, error, match", [
    ({"nope": 1}, ValueError, "Unknown families \\['nope'\\]"),
    ({"mixup": 1}, ValueError, "mixup mixes the other families"),
    ({"components": -1, "kernel_synth": 1}, ValueError, "non-negative"),
    ([("components", 1)], TypeError, "family_weights must be 'all', None or a non-empty dict"),
])
def test_bad_family_weights_name_the_fix(weights, error, match):
    with pytest.raises(error, match=match):
        SyntheticSeriesGenerator(family_weights=weights).sample(2, 16, seed=0)
