"""Patch tokenizer: instance normalisation + overlapping patches (PatchTST, One-Fits-All)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sktime_llmforecast.tokenizers._base import BaseNumericTokenizer
from sktime_llmforecast.tokenizers._gaps import fill_masked_gaps
from sktime_llmforecast.tokenizers._scaling import (
    ScaleState,
    masked_standardize,
    unstandardize,
)


@dataclass(frozen=True)
class PatchState:
    """What :meth:`PatchTokenizer.encode` hands back for decoding.

    Attributes
    ----------
    scale : ScaleState
        Per-row ``loc``/``scale``, shapes ``(B, 1)``.
    patch_mask : torch.Tensor of bool, shape (B, P)
        True for patches that hold at least one observed value.
    """

    scale: ScaleState
    patch_mask: "object"


def patch_starts(length, patch_len, stride):
    """Start offsets of right-aligned patches over ``length`` values.

    The last patch always ends at the last value; earlier patches step back by
    ``stride``; the first start may be negative (that patch is partly padding), so
    every value is covered by at least one patch.

    Examples
    --------
    >>> patch_starts(11, 4, 3).tolist()
    [-2, 1, 4, 7]
    """
    last = length - patch_len
    n = int(np.ceil(max(last, 0) / stride)) + 1 if length > patch_len else 1
    starts = last - stride * np.arange(n - 1, -1, -1)
    return starts


class PatchTokenizer(BaseNumericTokenizer):
    """Instance-normalised overlapping patches, as in PatchTST and One-Fits-All.

    Each patch of ``patch_len`` consecutive values becomes one token: inside
    :class:`~sktime_llmforecast.LLMForecaster` it is projected to the backbone's width
    by the interface. Patches are right-aligned, so the most recent value always ends
    the last patch; values before the first full patch are covered by a partial patch
    (left padding with a mask in the torch path).

    As an sktime transformer, ``fit`` learns the scaling (mean and standard deviation
    of the training series); ``transform`` returns a ``pd.DataFrame`` on the same time
    index with one row per time point and three columns: ``z`` (the standardised
    value), ``first_patch`` and ``last_patch`` (the numbers of the first and last
    patch that hold this value, 0 = oldest); :meth:`to_patches` groups it into
    patches; ``inverse_transform`` maps ``z`` back to the original scale, exact up
    to floating point.

    Missing values are not accepted (``ValueError``); impute first, e.g. with
    ``sktime.transformations.series.impute.Imputer``.

    Parameters
    ----------
    patch_len : int, default=16
        Number of values per patch (token).
    stride : int, default=8
        Step between patch starts; ``stride < patch_len`` gives overlapping patches.
        Must satisfy ``1 <= stride <= patch_len``.

    Attributes
    ----------
    columns_ : list
        Columns seen in ``fit``.
    scaling_ : dict
        ``{column: {"loc": mean, "scale": standard deviation}}`` learnt in ``fit``
        (the scale is floored, see notes).

    Notes
    -----
    The scale is floored at ``max(1e-20, 1e-3 * mean(|y|))`` so a constant series is
    not divided by zero.

    Examples
    --------
    >>> from sktime.datasets import load_airline
    >>> from sktime_llmforecast.tokenizers import PatchTokenizer
    >>> y = load_airline()
    >>> tok = PatchTokenizer(patch_len=16, stride=8)
    >>> Xt = tok.fit_transform(y)
    >>> list(Xt.columns)
    ['z', 'first_patch', 'last_patch']
    >>> len(tok.to_patches(Xt)), tok.n_patches(len(y))
    (17, 17)
    >>> y_back = tok.inverse_transform(Xt)
    >>> bool(abs(y_back.values.ravel() - y.values).max() < 1e-9)
    True
    """

    def __init__(self, patch_len=16, stride=8):
        self.patch_len = patch_len
        self.stride = stride
        super().__init__()
        _check_patch_params(patch_len, stride)

    # ------------------------------------------------------------------ torch path
    def n_patches(self, context_length):
        """Number of patches (tokens) over a context of ``context_length`` values."""
        return len(patch_starts(context_length, self.patch_len, self.stride))

    def encode(self, x, mask):
        """Standardise each row and cut it into right-aligned patches.

        Parameters
        ----------
        x : torch.Tensor, shape (B, L)
            Context values (anything where ``mask`` is False is ignored).
        mask : torch.Tensor of bool, shape (B, L)
            True where observed; left padding is False.

        Returns
        -------
        patches : torch.Tensor, shape (B, P, patch_len)
            Standardised patches, 0 at padded positions; masked positions after
            a row's first observed value (missing values) are interpolated between
            their observed neighbours (``fill_masked_gaps``).
        state : PatchState
            Scaling and patch mask, for :meth:`decode` and the backbone's
            attention mask.
        """
        import torch

        z, scale = masked_standardize(x, mask)
        z = fill_masked_gaps(z, mask)  # missing values inside the series: interpolated
        starts = patch_starts(x.shape[1], self.patch_len, self.stride)
        pad = max(0, -int(starts[0]))
        if pad:
            z = torch.nn.functional.pad(z, (pad, 0))
            mask = torch.nn.functional.pad(mask, (pad, 0), value=False)
        idx = torch.as_tensor(starts + pad)[:, None] + torch.arange(self.patch_len)
        idx = idx.to(z.device)
        patches = z[:, idx]  # (B, P, patch_len)
        patch_mask = mask[:, idx].any(dim=-1)  # (B, P)
        return patches, PatchState(scale=scale, patch_mask=patch_mask)

    def decode(self, z, state):
        """Map standardised values (e.g. a forecast, shape (B, H)) back to scale."""
        return unstandardize(z, state.scale)

    # ------------------------------------------------------------------ sktime path
    def _field_names(self):
        return ["z", "first_patch", "last_patch"]

    def _fit_column(self, values):
        import torch

        t = torch.tensor(values, dtype=torch.float64)[None, :]
        _, state = masked_standardize(t, torch.ones_like(t, dtype=torch.bool))
        return {"loc": float(state.loc), "scale": float(state.scale)}

    def _encode_column(self, values, scaling):
        starts = patch_starts(len(values), self.patch_len, self.stride)
        pos = np.arange(len(values))
        # a value at position t lies in the patches whose [start, start + patch_len)
        # covers t; starts are sorted, so the first/last of them are searchsorted
        first = np.searchsorted(starts + self.patch_len, pos, side="right")
        last = np.searchsorted(starts, pos, side="right") - 1
        return {
            "z": (values - scaling["loc"]) / scaling["scale"],
            "first_patch": first.astype(np.int64),
            "last_patch": last.astype(np.int64),
        }

    def _decode_column(self, fields, scaling):
        return np.asarray(fields["z"], dtype=float) * scaling["scale"] + scaling["loc"]

    def to_patches(self, Xt):
        """Group the output of ``transform`` into patches.

        Parameters
        ----------
        Xt : pd.DataFrame
            Output of :meth:`transform` on a univariate series.

        Returns
        -------
        list of pd.Series
            One standardised series per patch, in time order.
        """
        out = []
        n_patches = int(Xt["last_patch"].max()) + 1
        for k in range(n_patches):
            inside = (Xt["first_patch"] <= k) & (Xt["last_patch"] >= k)
            out.append(Xt.loc[inside, "z"])
        return out

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings for the estimator."""
        return [{"patch_len": 4, "stride": 2}, {"patch_len": 3, "stride": 3}]


def _check_patch_params(patch_len, stride):
    for name, val in (("patch_len", patch_len), ("stride", stride)):
        if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val < 1:
            raise ValueError(f"{name} must be a positive int, got {val!r}.")
    if stride > patch_len:
        raise ValueError(
            f"stride={stride} > patch_len={patch_len} would skip values; use "
            "stride <= patch_len."
        )
