"""Probabilistic forecasts: quantile head, sampled tokens, zero-shot, CRPS."""

import numpy as np
import pandas as pd
import pytest
from sktime.datasets import load_airline
from sktime.utils._testing.hierarchical import _make_hierarchical

from sktime_llmforecast import LLMForecaster
from sktime_llmforecast.nn import interp_quantiles, sample_quantiles
from sktime_llmforecast.metrics import SampleCRPS
from sktime_llmforecast.tokenizers import (
    BinTokenizer,
    ChunkedDigitTokenizer,
    DigitTokenizer,
    PatchTokenizer,
)
from tests.conftest import TINY_GPT2

BACKBONE = dict(TINY_GPT2, n_positions=1024)


def _noisy_sine(n=300, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.Series(10 + 3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1.0, n))


def _f(**kw):
    params = dict(pretrained=None, backbone=BACKBONE, context_length=24, random_state=0, device="cpu")
    params.update(kw)
    return LLMForecaster(**params)


def test_interp_quantiles_interpolates_extrapolates_and_never_crosses():
    from scipy.special import ndtri

    levels = np.array([0.1, 0.5, 0.9])
    q = np.array([[[0.0], [1.0], [3.0]]])  # (1, 3, 1)
    out = interp_quantiles(levels, q, [0.3, 0.7, 0.05, 0.99])
    z = ndtri(0.9)  # piecewise linear in the normal score, linear beyond the ends
    want = [1 + ndtri(0.3) / z, 1 + 2 * ndtri(0.7) / z, (ndtri(0.05) + z) / z,
            3 + 2 * (ndtri(0.99) - z) / z]
    np.testing.assert_allclose(out[0, :, 0], want)
    crossing = np.array([[[2.0], [1.0], [3.0]]])
    out = interp_quantiles(levels, crossing, [0.1, 0.5, 0.9])
    assert (np.diff(out[0, :, 0]) >= 0).all()


def test_patch_quantile_head_gives_calibrated_ordered_intervals():
    y = _noisy_sine()
    y_train, y_test = y[:-48], y[-48:]
    f = _f(tokenizer=PatchTokenizer(8, 4), max_epochs=25, learning_rate=3e-3)
    f.fit(y_train, fh=np.arange(1, 13))
    q = f.predict_quantiles(alpha=[0.025, 0.1, 0.5, 0.9, 0.975])
    assert (np.diff(q.values, axis=1) >= 0).all()  # monotone in alpha
    shuffled = f.predict_quantiles(alpha=[0.9, 0.1, 0.975, 0.5, 0.025])
    np.testing.assert_allclose(shuffled.values, q.values[:, [3, 1, 4, 2, 0]])
    # coverage of the 80 % interval over 4 rolling origins of the test part
    hits = []
    for start in range(0, 48, 12):
        if start:
            f.update(y_test[start - 12 : start], update_params=False)
        iv = f.predict_interval(coverage=0.8)
        truth = y_test.iloc[start : start + 12].values
        lo, hi = iv.iloc[:, 0].values, iv.iloc[:, 1].values
        hits.append(((truth >= lo) & (truth <= hi)).mean())
    assert 0.5 <= np.mean(hits) <= 1.0
    var = f.predict_var()
    assert (var.values > 0).all()
    dist = f.predict_proba()
    np.testing.assert_allclose(dist.mean().values.ravel(), f.predict().values, rtol=1e-9)


@pytest.mark.parametrize(
    "tokenizer", [ChunkedDigitTokenizer(k=2), BinTokenizer()], ids=["chunked", "bins"]
)
def test_token_sampling_paths(tokenizer):
    y = load_airline()
    f = _f(tokenizer=tokenizer, max_epochs=3, num_samples=12, learning_rate=3e-3)
    f.fit(y[:-6], fh=np.arange(1, 7))
    dist = f.predict_proba()
    assert type(dist).__name__ == "Empirical"
    assert dist.spl.index.get_level_values(0).nunique() == 12
    samples = dist.spl.iloc[:, 0].unstack(0).to_numpy()
    assert np.isfinite(samples).all()
    # the point forecast is the sample median, quantiles come from the samples
    np.testing.assert_allclose(f.predict().values, np.median(samples, axis=1))
    q = f.predict_quantiles(alpha=[0.1, 0.9])
    np.testing.assert_allclose(q.iloc[:, 0].values,
                               np.quantile(samples, 0.1, axis=1, method="weibull"))
    assert (q.iloc[:, 0].values <= q.iloc[:, 1].values).all()
    # same random_state: same samples
    g = _f(tokenizer=tokenizer, max_epochs=3, num_samples=12, learning_rate=3e-3)
    g.fit(y[:-6], fh=np.arange(1, 7))
    pd.testing.assert_frame_equal(g.predict_proba().spl, dist.spl)
    # unsorted levels, as predict_interval asks for them: each column is its own level
    iv = f.predict_interval(coverage=[0.8, 0.95])
    for c in (0.8, 0.95):
        lo = iv.xs((c, "lower"), axis=1, level=[1, 2]).values.ravel()
        hi = iv.xs((c, "upper"), axis=1, level=[1, 2]).values.ravel()
        # 0.95 asks for levels beyond what 12 samples resolve: a normal tail
        np.testing.assert_allclose(lo, sample_quantiles(samples.T[None], [0.5 - c / 2])[0, 0])
        np.testing.assert_allclose(hi, sample_quantiles(samples.T[None], [0.5 + c / 2])[0, 0])
    wide = iv.xs((0.95, "upper"), axis=1, level=[1, 2]).values
    narrow = iv.xs((0.8, "upper"), axis=1, level=[1, 2]).values
    assert (wide >= narrow).all()
    greedy = f.clone().set_params(point_forecast="greedy")
    greedy.fit(y[:-6], fh=np.arange(1, 7))
    assert np.isfinite(greedy.predict().values).all()


def test_zero_shot_digits_well_formed_finite_samples_on_airline():
    y = load_airline()
    # the series as it is: the samples must lie on the tokenizer's fixed-point grid
    f = _f(mode="zero-shot", tokenizer=DigitTokenizer(precision=2), num_samples=8,
           deseasonalize=False)
    f.fit(y[:-24], fh=np.arange(1, 25))
    assert f.history_["epochs_run"] == 0 and f.n_trainable_params_ == 0
    dist = f.predict_proba()
    samples = dist.spl.iloc[:, 0].unstack(0).to_numpy()
    assert samples.shape == (24, 8)
    assert np.isfinite(samples).all()
    # the grammar makes every sample parse: nothing repaired or dropped
    assert f.sample_counts_ == {"repaired": 0, "dropped": 0}
    # every value is a fixed-point number of the stated precision after scaling
    tok = f.network_.tokenizer
    observed = y[:-24].values[-24:]
    import torch

    x = torch.tensor(observed[None, :])
    state = tok.scale(x, torch.ones_like(x, dtype=torch.bool))
    z = (samples - float(state.loc)) / float(state.scale) * 10**tok.precision
    np.testing.assert_allclose(z, np.round(z), atol=1e-6)
    pred = f.predict()
    assert (pred.index == y.index[-24:]).all()


def test_zero_shot_reads_the_prompt_once_for_all_samples():
    y = load_airline()[:60]
    f = _f(mode="zero-shot", num_samples=6, context_length=12).fit(y, fh=[1, 2])
    net = f.network_
    calls = []
    net.backbone.register_forward_pre_hook(
        lambda module, args, kwargs: calls.append(
            (tuple(kwargs["input_ids"].shape), kwargs.get("logits_to_keep"))),
        with_kwargs=True,
    )
    first = f.predict_quantiles(alpha=[0.1, 0.9])
    # the prompt once, one row, the logits of its last position only; then one
    # token for all 6 samples per step
    (rows, _), keep = calls[0]
    assert rows == 1 and keep == 1
    assert {shape for shape, _ in calls[1:]} == {(6, 1)}
    assert np.isfinite(first.values).all()
    assert (first.iloc[:, 1] > first.iloc[:, 0]).all()  # the samples differ


def test_zero_shot_text_prompt_is_the_llmtime_serialisation():
    y = load_airline()[:60]
    f = _f(mode="zero-shot", num_samples=2, context_length=12).fit(y, fh=[1, 2])
    net = f.network_
    tok = net.tokenizer
    import torch

    x = torch.tensor(y.values[-12:][None, :])
    state = tok.scale(x, torch.ones_like(x, dtype=torch.bool))
    text = tok.values_to_text(y.values[-12:], {"loc": float(state.loc), "scale": float(state.scale)})
    ids = net._encode_text(text + ",")
    assert ids == [net.symbol_ids[c] for c in text + ","]


def test_zero_shot_requires_digit_tokenizer():
    with pytest.raises(ValueError, match="DigitTokenizer"):
        _f(mode="zero-shot", tokenizer=BinTokenizer()).fit(load_airline(), fh=[1])


def test_probabilistic_panel_output_layout():
    y = _make_hierarchical(hierarchy_levels=(2,), min_timepoints=40, max_timepoints=40)
    f = _f(tokenizer=PatchTokenizer(4, 4), context_length=16, max_epochs=2)
    f.fit(y, fh=[1, 2])
    iv = f.predict_interval(coverage=[0.5, 0.9])
    assert iv.index.nlevels == 2 and len(iv) == 4
    assert iv.shape[1] == 4


def test_sample_crps_matches_sktime_crps_and_works_in_evaluate():
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.performance_metrics.forecasting.probabilistic import CRPS
    from sktime.split import ExpandingWindowSplitter

    y = load_airline()
    f = _f(tokenizer=BinTokenizer(), max_epochs=2, num_samples=10)
    f.fit(y[:-6], fh=np.arange(1, 7))
    dist = f.predict_proba()
    assert SampleCRPS()(y[-6:], dist) == pytest.approx(CRPS()(y[-6:], dist), rel=1e-9)
    res = evaluate(
        f,
        cv=ExpandingWindowSplitter(initial_window=120, step_length=12, fh=[1, 2, 3]),
        y=y,
        scoring=SampleCRPS(),
    )
    assert np.isfinite(res["test_SampleCRPS"]).all() and len(res) == 2


def test_sample_crps_of_a_point_mass_is_the_absolute_error():
    from skpro.distributions import Empirical

    idx = pd.RangeIndex(3)
    spl = pd.DataFrame(
        {"y": [1.0, 2.0, 3.0] * 4},
        index=pd.MultiIndex.from_product([range(4), idx]),
    )
    dist = Empirical(spl, index=idx, columns=["y"])
    y_true = pd.DataFrame({"y": [0.0, 2.0, 5.0]}, index=idx)
    by_index = SampleCRPS().evaluate_by_index(y_true, dist)
    np.testing.assert_allclose(np.asarray(by_index).ravel(), [1.0, 0.0, 2.0])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"mode": "dreaming"}, "mode"),
        ({"point_forecast": "mode"}, "point_forecast"),
        ({"quantile_levels": (0.5, 0.1)}, "increasing"),
        ({"quantile_levels": (0.0, 0.5)}, "quantile_levels"),
        ({"num_samples": 0}, "num_samples"),
        ({"top_p": 0.0}, "top_p"),
    ],
)
def test_bad_probabilistic_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _f(**kwargs).fit(load_airline(), fh=[1])
