"""Shared logic of the value-wise tokenizers (digits, chunked digits, bins).

A value-wise tokenizer maps every time point to the same number ``w`` of token ids
(``tokens_per_value``) over its own vocabulary of ``vocab_size`` ids, so a context of
``L`` values is exactly ``L * w`` tokens and decoding is position-wise. Id 0 is the
padding/missing token: a NaN value or a padded slot is encoded as ``w`` pad tokens
and decodes to NaN (never to a number).

Subclasses implement, on tensors:

* ``_scale(x, mask) -> ScaleState``: the per-row scaling (fitted on the context);
* ``_encode_scaled(z) -> ids (..., w)`` for finite scaled values ``z``;
* ``_decode_scaled(ids (..., w)) -> z``;
* ``_allowed(position) -> list of ids`` valid at a position inside a value.
"""

from __future__ import annotations

import numpy as np

from sktime_llmforecast.tokenizers._base import BaseNumericTokenizer
from sktime_llmforecast.tokenizers._scaling import ScaleState

PAD_ID = 0


class BaseValueTokenizer(BaseNumericTokenizer):
    """Base of tokenizers that give every value the same number of tokens."""

    _tags = {
        "capability:missing_values": True,
        # quantisation: the inverse is exact only up to the stated precision
        "capability:inverse_transform:exact": False,
    }

    # ---------------------------------------------------------------- properties
    @property
    def tokens_per_value(self) -> int:  # pragma: no cover - abstract
        """Number of tokens ``w`` each value costs."""
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:  # pragma: no cover - abstract
        """Number of token ids (specials included)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- torch path
    def scale(self, x, mask):
        """The per-row scaling of ``x (B, L)`` over ``mask``: a ``ScaleState``
        with ``loc`` and ``scale`` of shape ``(B, 1)`` (what ``encode`` fits)."""
        return self._scale(x, mask)

    def encode(self, x, mask, state=None):
        """Tokenise a batch of series.

        Parameters
        ----------
        x : torch.Tensor, shape (B, L)
            Values; positions where ``mask`` is False (or NaN) become pad tokens.
        mask : torch.Tensor of bool, shape (B, L)
            True where observed.
        state : ScaleState, optional
            Scaling to use (e.g. the context's, to encode its continuation); fitted
            on the observed ``x`` of each row when None.

        Returns
        -------
        ids : torch.LongTensor, shape (B, L * w)
        state : ScaleState
        """
        import torch

        mask = mask & torch.isfinite(x)
        if state is None:
            state = self.scale(x, mask)
        z = (torch.where(mask, x, torch.zeros_like(x)) - state.loc) / state.scale
        ids = self._encode_scaled(z)  # (B, L, w)
        ids = torch.where(mask[..., None], ids, torch.full_like(ids, PAD_ID))
        return ids.reshape(x.shape[0], -1), state

    def decode(self, ids, state):
        """Map token ids ``(B, H * w)`` back to values ``(B, H)``; pads give NaN."""
        import torch

        w = self.tokens_per_value
        ids = ids.reshape(ids.shape[0], -1, w)
        is_pad = (ids == PAD_ID).all(dim=-1)
        z = self._decode_scaled(ids).to(state.scale.dtype)
        values = z * state.scale + state.loc
        return torch.where(is_pad, torch.full_like(values, float("nan")), values)

    def allowed_token_mask(self):
        """Grammar of one value: bool tensor ``(w, vocab_size)``, True where allowed.

        Greedy or sampled decoding restricted by this mask can only produce
        well-formed values.
        """
        import torch

        allowed = torch.zeros(self.tokens_per_value, self.vocab_size, dtype=torch.bool)
        for pos in range(self.tokens_per_value):
            allowed[pos, self._allowed(pos)] = True
        return allowed

    # ---------------------------------------------------------------- sktime path
    def _field_names(self):
        return [f"tok_{i}" for i in range(self.tokens_per_value)]

    def _fit_column(self, values):
        import torch

        x = torch.tensor(values, dtype=torch.float64)[None, :]
        state = self.scale(x, torch.isfinite(x))
        return {"loc": float(state.loc), "scale": float(state.scale)}

    def _encode_column(self, values, scaling):
        import torch

        x = torch.tensor(values, dtype=torch.float64)[None, :]
        state = _state_from(scaling)
        self._check_in_range(x, state)
        ids, _ = self.encode(x, torch.isfinite(x), state)
        ids = ids.reshape(len(values), self.tokens_per_value).numpy()
        return {f"tok_{i}": ids[:, i] for i in range(self.tokens_per_value)}

    def _decode_column(self, fields, scaling):
        import torch

        ids = np.stack([fields[f"tok_{i}"] for i in range(self.tokens_per_value)], 1)
        if not np.all(np.isfinite(ids.astype(float))):
            raise ValueError("token ids must be finite integers.")
        ids = torch.as_tensor(ids.astype(np.int64))
        bad = (ids < 0) | (ids >= self.vocab_size)
        if bad.any():
            raise ValueError(
                f"{type(self).__name__}.inverse_transform got token ids outside "
                f"[0, {self.vocab_size}); pass the output of transform."
            )
        values = self.decode(ids.reshape(1, -1), _state_from(scaling))
        return values.reshape(-1).numpy()

    def _check_in_range(self, x, state):
        """Raise if a value cannot be represented (subclasses with a range)."""

    def _column_values(self, series):
        # NaN is allowed: it is encoded as the padding/missing token
        return _values_allow_nan(series, type(self).__name__)


def _state_from(scaling):
    import torch

    return ScaleState(
        loc=torch.tensor([[scaling["loc"]]], dtype=torch.float64),
        scale=torch.tensor([[scaling["scale"]]], dtype=torch.float64),
    )


def _values_allow_nan(series, owner):
    values = np.asarray(series, dtype=float)
    if np.isinf(values).any():
        raise ValueError(
            f"{owner} got infinite values; replace them (e.g. by NaN, which is "
            "encoded as the padding/missing token) before tokenising."
        )
    return values


def masked_quantile(x, mask, q):
    """Row-wise ``q``-quantile of ``x`` over ``mask`` (shape (B, 1)); 0 if empty."""
    import torch

    xn = torch.where(mask, x, torch.full_like(x, float("nan")))
    out = torch.nanquantile(xn, q, dim=1, keepdim=True)
    return torch.nan_to_num(out, nan=0.0)
