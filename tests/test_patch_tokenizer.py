"""PatchTokenizer: patch grid, torch encode/decode, sktime round trip."""

import numpy as np
import pandas as pd
import pytest
import torch
from sktime.datasets import load_airline

from sktime_llmforecast.tokenizers import PatchTokenizer
from sktime_llmforecast.tokenizers.patch import patch_starts


@pytest.mark.parametrize(
    "length,patch_len,stride,expected",
    [
        (16, 8, 8, [0, 8]),
        (16, 8, 4, [0, 4, 8]),
        (11, 4, 3, [-2, 1, 4, 7]),
        (3, 4, 2, [-1]),
        (4, 4, 1, [0]),
    ],
)
def test_patch_starts_right_aligned_and_cover_all(length, patch_len, stride, expected):
    starts = patch_starts(length, patch_len, stride)
    assert starts.tolist() == expected
    covered = set()
    for s in starts:
        covered.update(range(max(0, s), s + patch_len))
    assert covered == set(range(length))


def test_encode_shapes_mask_and_decode():
    tok = PatchTokenizer(patch_len=4, stride=2)
    x = torch.arange(20, dtype=torch.float32).reshape(2, 10)
    mask = torch.ones_like(x, dtype=torch.bool)
    mask[1, :5] = False  # left padding of the second row
    patches, state = tok.encode(x, mask)
    assert patches.shape == (2, tok.n_patches(10), 4)
    assert state.patch_mask[0].all()
    assert not state.patch_mask[1, 0] and state.patch_mask[1, -1]
    # the padded values do not enter the scaling
    assert torch.isclose(state.scale.loc[1, 0], x[1, 5:].mean())
    back = tok.decode(patches[:, -1, :], state)
    torch.testing.assert_close(back, x[:, -4:])


def test_round_trip_airline_and_patch_grouping():
    y = load_airline()
    tok = PatchTokenizer(patch_len=16, stride=8)
    Xt = tok.fit_transform(y)
    patches = tok.to_patches(Xt)
    assert len(patches) == tok.n_patches(len(y))
    assert all(len(p) <= 16 for p in patches) and len(patches[-1]) == 16
    back = tok.inverse_transform(Xt)
    assert isinstance(back, pd.Series)
    np.testing.assert_allclose(back.values, y.values, rtol=1e-12)


def test_nan_is_rejected_with_fix():
    y = load_airline().copy()
    y.iloc[5] = np.nan
    with pytest.raises(ValueError, match="Imputer"):
        PatchTokenizer().fit(y)


@pytest.mark.parametrize("patch_len,stride", [(0, 1), (4, 5), (4.5, 2)])
def test_bad_params(patch_len, stride):
    with pytest.raises(ValueError):
        PatchTokenizer(patch_len=patch_len, stride=stride)


def test_check_estimator_zero_failures():
    from sktime.utils.estimator_checks import check_estimator

    results = check_estimator(PatchTokenizer, raise_exceptions=True, verbose=False)
    assert all(v == "PASSED" for v in results.values())
