"""Value-wise tokenizers: round-trip properties, missing values, grammar, pipelines."""

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sktime.datasets import load_airline

from sktime_llmforecast.tokenizers import (
    BinTokenizer,
    ChunkedDigitTokenizer,
    DigitTokenizer,
)

FIXED_POINT = [
    ChunkedDigitTokenizer(k=1),
    ChunkedDigitTokenizer(k=2),
    ChunkedDigitTokenizer(k=3),
    ChunkedDigitTokenizer(k=3, basic=True, separator=True),
    ChunkedDigitTokenizer(k=2, sign="token"),
    DigitTokenizer(precision=4),
]
ALL = FIXED_POINT + [BinTokenizer(), BinTokenizer(n_bins=256, low=-8.0, high=8.0)]


def _ids(tok):
    return f"{type(tok).__name__}{tok.get_params()}"


@st.composite
def series(draw):
    """Series over scales 1e-6 .. 1e9: noise, negatives, zeros, constants."""
    n = draw(st.integers(min_value=1, max_value=40))
    scale = 10.0 ** draw(st.integers(min_value=-6, max_value=9))
    kind = draw(st.sampled_from(["noise", "constant", "zeros", "mixed"]))
    base = draw(
        st.lists(
            st.floats(min_value=-1.0, max_value=1.0, allow_nan=False),
            min_size=n,
            max_size=n,
        )
    )
    values = np.asarray(base) * scale
    if kind == "constant":
        values = np.full(n, values[0])
    elif kind == "zeros":
        values = np.zeros(n)
    elif kind == "mixed":
        values[::3] = 0.0
        values = values + draw(st.sampled_from([0.0, 5.0, -5.0])) * scale
    return pd.Series(values)


@pytest.mark.parametrize("tok", FIXED_POINT, ids=_ids)
@settings(max_examples=60, deadline=None)
@given(y=series())
def test_fixed_point_round_trip_within_stated_precision(tok, y):
    tok = tok.clone()
    Xt = tok.fit_transform(y)
    assert Xt.shape == (len(y), tok.tokens_per_value) or len(y) == 1
    back = tok.inverse_transform(Xt)
    scale = tok.scaling_[tok.columns_[0]]["scale"]
    err = np.abs(np.asarray(back, dtype=float) - y.values)
    # fixed-point rounding plus float64 representation error of the scaled value
    tol = tok.resolution(scale) * (1 + 1e-9) + 1e-12 * np.abs(y.values).max()
    assert err.max() <= tol
    if y.nunique() == 1:  # constant series are exact
        np.testing.assert_allclose(np.asarray(back, dtype=float), y.values, rtol=1e-12)


@pytest.mark.parametrize(
    "tok", [BinTokenizer(), BinTokenizer(n_bins=256, low=-8.0, high=8.0)], ids=_ids
)
@settings(max_examples=60, deadline=None)
@given(y=series())
def test_bin_round_trip_within_half_bin_inside_range(tok, y):
    tok = tok.clone()
    back = np.asarray(tok.inverse_transform(tok.fit_transform(y)), dtype=float)
    scale = tok.scaling_[tok.columns_[0]]["scale"]
    z = y.values / scale
    inside = (z >= tok.low) & (z <= tok.high)
    err = np.abs(back - y.values)
    assert np.all(err[inside] <= tok.resolution(scale) * (1 + 1e-9) + 1e-300)
    # outside the range values are clipped to the edge bin centres
    np.testing.assert_allclose(
        back[~inside], np.clip(z[~inside], tok.low, tok.high) * scale, rtol=1e-9
    )


def test_fixed_width_token_counts():
    y = load_airline()
    for k, expected_chunks in [(1, 6), (2, 3), (3, 2)]:
        tok = ChunkedDigitTokenizer(k=k, precision=3, integer_digits=3).fit(y)
        assert tok.n_chunks == expected_chunks
        assert tok.tokens_per_value == expected_chunks  # sign folded into digits
        assert tok.vocab_size == 10**k + 4
        assert tok.transform(y).shape == (len(y), expected_chunks)
        signed = ChunkedDigitTokenizer(k=k, sign="token")
        assert signed.tokens_per_value == 1 + expected_chunks
    assert ChunkedDigitTokenizer(k=3, separator=True).tokens_per_value == 3
    assert (
        DigitTokenizer().tokens_per_value
        == ChunkedDigitTokenizer(k=1, sign="token").tokens_per_value
        == 7
    )


def test_folded_sign_round_trips_negative_values_and_halves_range():
    folded = ChunkedDigitTokenizer(k=3, basic=True).fit(pd.Series([-1.0, 1.0]))
    signed = ChunkedDigitTokenizer(k=3, basic=True, sign="token").fit(
        pd.Series([-1.0, 1.0])
    )
    y = pd.Series([-250.5, -1.0, 0.0, 3.25, 499.0])
    for tok in (folded, signed):
        back = np.asarray(tok.inverse_transform(tok.transform(y)), dtype=float)
        np.testing.assert_allclose(back, y.values, atol=tok.resolution(1.0))
    assert folded.max_scaled_value == pytest.approx(499.999)
    assert signed.max_scaled_value == pytest.approx(999.999)


@pytest.mark.parametrize("tok", ALL, ids=_ids)
def test_missing_values_become_pad_tokens_and_decode_to_nan(tok):
    y = load_airline().astype(float)
    y.iloc[[0, 7, 50]] = np.nan
    tok = tok.clone()
    Xt = tok.fit_transform(y)
    rows = np.asarray(Xt).reshape(len(y), -1)
    assert (rows[[0, 7, 50]] == 0).all()
    assert (rows[np.isfinite(y.values)] != 0).all()
    back = np.asarray(tok.inverse_transform(Xt), dtype=float)
    assert np.isnan(back[[0, 7, 50]]).all()
    assert np.isfinite(np.delete(back, [0, 7, 50])).all()


@pytest.mark.parametrize("tok", ALL, ids=_ids)
def test_infinite_values_refused(tok):
    y = pd.Series([1.0, np.inf, 2.0])
    with pytest.raises(ValueError, match="infinite"):
        tok.clone().fit(y)


def test_values_beyond_capacity_refused_not_clipped():
    tok = ChunkedDigitTokenizer(k=3, integer_digits=1).fit(pd.Series([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="integer_digits"):
        tok.transform(pd.Series([0.0, 1e6, 2.0]))


@pytest.mark.parametrize("tok", ALL, ids=_ids)
def test_grammar_admits_every_encoded_value(tok):
    tok = tok.clone()
    x = torch.tensor([[-3.0, 0.0, 1.5, 250.0, 7.25]], dtype=torch.float64)
    ids, state = tok.encode(x, torch.ones_like(x, dtype=torch.bool))
    allowed = tok.allowed_token_mask()
    w = tok.tokens_per_value
    per_value = ids.reshape(-1, w)
    for pos in range(w):
        assert allowed[pos, per_value[:, pos]].all()
    assert not allowed[:, 0].any()  # padding is never generated
    back = tok.decode(ids, state)
    assert torch.isfinite(back).all()


def test_torch_encode_uses_explicit_state():
    tok = ChunkedDigitTokenizer(k=2)
    ctx = torch.tensor([[10.0, 12.0, 11.0, 13.0]], dtype=torch.float64)
    _, state = tok.encode(ctx, torch.ones_like(ctx, dtype=torch.bool))
    tgt = torch.tensor([[14.0, 15.0]], dtype=torch.float64)
    ids, same = tok.encode(tgt, torch.ones_like(tgt, dtype=torch.bool), state)
    assert same is state
    torch.testing.assert_close(tok.decode(ids, state), tgt, atol=1e-2, rtol=0)


def test_digit_text_round_trip_and_malformed_entries():
    y = load_airline()
    tok = DigitTokenizer(precision=3).fit(y)
    text = tok.to_text(y)
    assert set(text) <= set("0123456789,-")
    back = tok.from_text(text)
    assert np.abs(back - y.values).max() <= tok.resolution(tok.scaling_[y.name]["scale"])
    parsed = tok.from_text("1200,12a4,,-300")
    assert np.isnan(parsed[1]) and np.isnan(parsed[2])
    assert np.isfinite(parsed[[0, 3]]).all()
    spaced = DigitTokenizer(precision=2, digit_sep=" ").fit(y)
    assert spaced.from_text(spaced.to_text(y)).shape == (len(y),)


def test_multivariate_columns_are_prefixed_and_invert():
    df = pd.DataFrame({"a": np.arange(10.0), "b": np.linspace(-5, 5, 10)})
    tok = ChunkedDigitTokenizer(k=2).fit(df)
    Xt = tok.transform(df)
    assert list(Xt.columns)[:2] == ["a__tok_0", "a__tok_1"]
    back = tok.inverse_transform(Xt)
    assert list(back.columns) == ["a", "b"]
    assert np.abs(back.values - df.values).max() < 1e-2


@pytest.mark.parametrize("cls", [DigitTokenizer, ChunkedDigitTokenizer, BinTokenizer])
def test_check_estimator_zero_failures(cls):
    from sktime.utils.estimator_checks import check_estimator

    results = check_estimator(cls, raise_exceptions=True, verbose=False)
    assert all(v == "PASSED" for v in results.values())


def test_tokenizer_inside_a_transformer_pipeline():
    from sktime.forecasting.compose import TransformedTargetForecaster
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.transformations.compose import TransformerPipeline
    from sktime.transformations.series.exponent import ExponentTransformer

    y = load_airline()
    # token representation as features in a transformer pipeline
    pipe = TransformerPipeline([ExponentTransformer(power=0.5), ChunkedDigitTokenizer(k=3)])
    Xt = pipe.fit_transform(y)
    assert Xt.shape == (len(y), 2)
    # and as a (lossy, invertible) target transform around a forecaster: the
    # forecaster sees the decoded series through inverse_transform
    ttf = TransformedTargetForecaster(
        [("tok", DigitTokenizer(precision=4)), ("f", NaiveForecaster(strategy="last"))]
    )
    ttf.fit(y[:-6], fh=np.arange(1, 7))
    pred = ttf.predict()
    assert np.isfinite(pred.values).all() and len(pred) == 6


@pytest.mark.parametrize(
    "patch_len,stride", [(4, 2), (3, 3), (16, 8)], ids=["4-2", "3-3", "16-8"]
)
@settings(max_examples=60, deadline=None)
@given(y=series())
def test_patch_round_trip_is_exact(patch_len, stride, y):
    from sktime_llmforecast.tokenizers import PatchTokenizer

    tok = PatchTokenizer(patch_len=patch_len, stride=stride)
    Xt = tok.fit_transform(y)
    back = np.asarray(tok.inverse_transform(Xt), dtype=float)
    np.testing.assert_allclose(back, y.values, rtol=1e-9, atol=1e-9 * np.abs(y).max())
    # every value lies in at least one patch, patches are numbered in time order
    first, last = Xt["first_patch"].to_numpy(), Xt["last_patch"].to_numpy()
    assert (first <= last).all() and (np.diff(first) >= 0).all()
    assert last.max() + 1 == tok.n_patches(len(y))
