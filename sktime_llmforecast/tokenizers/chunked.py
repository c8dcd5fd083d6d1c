"""Chunked-digit tokenizer: the seed's limited numeric vocabulary, k digits a token."""

from __future__ import annotations

import math

from sktime_llmforecast.tokenizers._scaling import ScaleState
from sktime_llmforecast.tokenizers._value_base import (
    BaseValueTokenizer,
    masked_quantile,
)

# special ids of the fixed-point vocabularies; digit groups follow them
POS_ID, NEG_ID, SEP_ID = 1, 2, 3
N_SPECIAL = 4


class _FixedPointTokenizer(BaseValueTokenizer):
    """Affine-scaled fixed-point values, written as a sign and groups of k digits.

    Scaling (LLMTime): ``offset = min - beta * (max - min)`` and ``scale`` the
    ``alpha``-quantile of ``x - offset`` (``basic=True``: offset 0, scale the
    ``alpha``-quantile of ``|x|``). A scaled value ``z`` is rounded to
    ``precision`` decimals and its magnitude written with
    ``n_chunks * k >= precision + integer_digits`` digits.
    """

    _k = 1  # digits per token; ChunkedDigitTokenizer makes it a parameter

    def _digits_per_token(self):
        return self._k

    @property
    def n_chunks(self):
        """Digit groups per value, ``ceil((precision + integer_digits) / k)``."""
        return math.ceil((self.precision + self.integer_digits) / self._digits_per_token())

    @property
    def _sign_tokens(self):
        return 1 if self.sign == "token" else 0

    @property
    def _half(self):
        """Excess (offset-binary) bias of the folded sign: half the digit range."""
        return 10 ** (self.n_chunks * self._digits_per_token()) // 2

    @property
    def tokens_per_value(self):
        """(Sign +) digit groups (+ a separator when ``separator=True``)."""
        return self._sign_tokens + self.n_chunks + int(self.separator)

    @property
    def vocab_size(self):
        """``10**k`` digit groups plus 4 specials (pad/missing, +, -, separator)."""
        return N_SPECIAL + 10 ** self._digits_per_token()

    @property
    def max_scaled_value(self):
        """Largest representable ``|z|``; larger values are refused (sktime path)."""
        if self.sign == "folded":
            return (self._half - 1) / 10**self.precision
        return (10 ** (self.n_chunks * self._digits_per_token()) - 1) / 10**self.precision

    def resolution(self, scale):
        """Worst-case round-trip error for a column with the given ``scale``."""
        return 0.5 * 10 ** (-self.precision) * scale

    # -------------------------------------------------------------- tensors
    def _scale(self, x, mask):
        import torch

        big = torch.finfo(x.dtype).max
        if self.basic:
            offset = torch.zeros(x.shape[0], 1, dtype=x.dtype, device=x.device)
        else:
            lo = torch.where(mask, x, torch.full_like(x, big)).amin(1, keepdim=True)
            hi = torch.where(mask, x, torch.full_like(x, -big)).amax(1, keepdim=True)
            empty = ~mask.any(dim=1, keepdim=True)
            lo = torch.where(empty, torch.zeros_like(lo), lo)
            hi = torch.where(empty, torch.zeros_like(hi), hi)
            offset = lo - self.beta * (hi - lo)
        q = masked_quantile((x - offset).abs(), mask, self.alpha)
        # constant or empty rows: any positive scale is exact (z is 0); keep the
        # series' own magnitude so downstream numbers stay well conditioned
        fallback = torch.clamp(offset.abs(), min=1.0)
        scale = torch.where(q > 0, q, fallback)
        return ScaleState(loc=offset, scale=scale)

    def _encode_scaled(self, z):
        import torch

        k = self._digits_per_token()
        cap = 10 ** (self.n_chunks * k) - 1
        fixed = torch.round(z.double() * 10**self.precision)
        if self.sign == "folded":  # offset binary: N = fixed + half, in [0, cap]
            number = (fixed + self._half).clamp(0, cap).to(torch.int64)
        else:
            number = fixed.abs().clamp(max=cap).to(torch.int64)  # (B, L)
        base = 10**k
        powers = base ** torch.arange(self.n_chunks - 1, -1, -1, device=z.device)
        chunks = (number[..., None] // powers) % base + N_SPECIAL  # (B, L, C)
        parts = [chunks]
        if self.sign == "token":
            sign = torch.where(z < 0, NEG_ID, POS_ID).to(torch.int64)[..., None]
            parts.insert(0, sign)
        if self.separator:
            parts.append(torch.full_like(chunks[..., :1], SEP_ID))
        return torch.cat(parts, dim=-1)

    def _decode_scaled(self, ids):
        import torch

        k = self._digits_per_token()
        first = self._sign_tokens
        chunks = (ids[..., first : first + self.n_chunks] - N_SPECIAL).clamp(min=0)
        powers = (10**k) ** torch.arange(
            self.n_chunks - 1, -1, -1, device=ids.device
        )
        number = (chunks.double() * powers.double()).sum(-1)
        if self.sign == "folded":
            return (number - self._half) / 10**self.precision
        sign = torch.where(ids[..., 0] == NEG_ID, -1.0, 1.0).double()
        return sign * number / 10**self.precision

    def _allowed(self, position):
        if position < self._sign_tokens:
            return [POS_ID, NEG_ID]
        if position < self._sign_tokens + self.n_chunks:
            return list(range(N_SPECIAL, self.vocab_size))
        return [SEP_ID]

    def _check_in_range(self, x, state):
        import torch

        z = (x - state.loc) / state.scale
        finite = torch.isfinite(z)
        if finite.any() and z[finite].abs().max() > self.max_scaled_value:
            raise ValueError(
                f"{type(self).__name__}: a value is {float(z[finite].abs().max()):.3g}"
                f" scales from the fitted offset, beyond the {self.max_scaled_value:.3g}"
                " this setting can write; raise integer_digits or refit on data that "
                "covers the range."
            )

    def _check_params(self):
        for name in ("precision", "integer_digits"):
            val = getattr(self, name)
            if not isinstance(val, int) or isinstance(val, bool) or val < 0:
                raise ValueError(f"{name} must be a non-negative int, got {val!r}.")
        if self.precision + self.integer_digits < 1:
            raise ValueError("precision + integer_digits must be at least 1.")
        if self.n_chunks * self._digits_per_token() > 18:
            raise ValueError(
                "precision + integer_digits must leave at most 18 digits (int64); "
                f"got {self.precision + self.integer_digits}."
            )
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha!r}.")
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta!r}.")
        if self.sign not in ("folded", "token"):
            raise ValueError(f"sign must be 'folded' or 'token', got {self.sign!r}.")


class ChunkedDigitTokenizer(_FixedPointTokenizer):
    """The seed's chunked-digit vocabulary: ``k`` decimal digits form one token.

    Each value is affine-scaled (LLMTime scaling, fitted on the data), rounded to
    ``precision`` decimals and written fixed-width as
    ``ceil((precision + integer_digits) / k)`` digit-group tokens, each one of
    ``10**k`` entries (``k=2``: 00..99, ``k=3``: 000..999), optionally followed by a
    separator. The sign is folded into the digits by default (offset binary: half
    of the digit range is added, so no token is spent on it, at the cost of half the
    range); ``sign="token"`` spends one ``+``/``-`` token per value instead. The
    vocabulary is ``10**k`` groups plus 4 specials: padding/missing (id 0), ``+``
    (1), ``-`` (2), separator (3). Every value costs the same number of tokens, so a
    context of ``L`` values is exactly ``L * tokens_per_value`` tokens and decoding
    is position by position.

    Inside :class:`~sktime_llmforecast.LLMForecaster` its embedding table and output
    projection are new, learnable parameters on top of the frozen backbone.

    As an sktime transformer, ``fit`` learns the scaling; ``transform`` returns a
    ``pd.DataFrame`` on the same index with one integer column per token position
    (``tok_0``, ``tok_1``, ...: most significant group first); ``inverse_transform``
    decodes,
    with an absolute error of at most ``0.5 * 10**-precision * scale`` (see
    :meth:`resolution`). NaN is encoded as padding tokens and decodes to NaN.
    Values beyond ``max_scaled_value`` scales from the offset raise ``ValueError``.

    Parameters
    ----------
    k : int, default=3
        Digits per token (1, 2 or 3 are the seed's settings; up to 6 allowed).
    precision : int, default=3
        Decimals kept in scaled units.
    integer_digits : int, default=3
        Integer digits in scaled units (room for values up to ``10**integer_digits``
        scales above the offset).
    alpha : float, default=0.95
        Quantile of ``x - offset`` that becomes 1 after scaling.
    beta : float, default=0.3
        Offset below the minimum, as a share of the range.
    basic : bool, default=False
        Scale ``|x|`` by its ``alpha``-quantile without an offset.
    separator : bool, default=False
        Append a separator token after each value.
    sign : {"folded", "token"}, default="folded"
        Fold the sign into the digit groups (offset binary) or spend a sign token.

    Examples
    --------
    >>> from sktime.datasets import load_airline
    >>> from sktime_llmforecast.tokenizers import ChunkedDigitTokenizer
    >>> y = load_airline()
    >>> tok = ChunkedDigitTokenizer(k=3)
    >>> Xt = tok.fit_transform(y)
    >>> tok.tokens_per_value, tok.vocab_size, Xt.shape
    (2, 1004, (144, 2))
    >>> err = abs(tok.inverse_transform(Xt) - y).max()
    >>> bool(err <= tok.resolution(tok.scaling_[y.name]["scale"]))
    True
    """

    def __init__(
        self,
        k=3,
        precision=3,
        integer_digits=3,
        alpha=0.95,
        beta=0.3,
        basic=False,
        separator=False,
        sign="folded",
    ):
        self.k = k
        self.precision = precision
        self.integer_digits = integer_digits
        self.alpha = alpha
        self.beta = beta
        self.basic = basic
        self.separator = separator
        self.sign = sign
        super().__init__()
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 6:
            raise ValueError(f"k must be an int in [1, 6], got {k!r}.")
        self._check_params()

    def _digits_per_token(self):
        return self.k

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings for the estimator."""
        return [
            {"k": 3},
            {"k": 2, "precision": 2, "integer_digits": 2, "separator": True},
            {"k": 1, "basic": True, "sign": "token"},
        ]
