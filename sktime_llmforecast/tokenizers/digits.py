"""LLMTime digit serialisation: scaled values written digit by digit as text."""

from __future__ import annotations

import numpy as np

from sktime_llmforecast.tokenizers.chunked import _FixedPointTokenizer


class DigitTokenizer(_FixedPointTokenizer):
    """LLMTime serialisation (Gruver et al. 2023): one digit per token.

    Values are affine-scaled (fitted on the data: ``offset = min - beta * range``,
    the ``alpha``-quantile of ``x - offset`` becomes 1), rounded to ``precision``
    decimals and written digit by digit without the decimal point. Two views of the
    same encoding are offered:

    * text, for a pretrained LLM's own tokenizer (the zero-shot path):
      :meth:`to_text` writes ``"1234,987,-12"`` (leading zeros dropped, ``-`` for
      negatives, ``value_sep`` between values, ``digit_sep`` between digits) and
      :meth:`from_text` parses it back, skipping malformed entries;
    * fixed-width ids over a 14-entry vocabulary (10 digits + pad/missing, ``+``,
      ``-``, separator), one sign token and ``precision + integer_digits`` digit
      tokens per value: the trained path of
      :class:`~sktime_llmforecast.LLMForecaster` and the output of ``transform``
      (one integer column per token position). This equals
      ``ChunkedDigitTokenizer(k=1, sign="token")``.

    ``inverse_transform`` decodes with an absolute error of at most
    ``0.5 * 10**-precision * scale``. NaN is encoded as padding and decodes to NaN.

    Parameters
    ----------
    precision : int, default=3
        Decimals kept in scaled units.
    integer_digits : int, default=3
        Integer digits of the fixed-width view (the text view drops leading zeros).
    alpha : float, default=0.95
    beta : float, default=0.3
    basic : bool, default=False
        Scale ``|x|`` by its ``alpha``-quantile without an offset.
    value_sep : str, default=","
        Text between values.
    digit_sep : str, default=""
        Text between digits (LLMTime used ``" "`` for GPT-3's tokenizer).
    separator : bool, default=False
        Append a separator token to each value in the fixed-width view.

    Examples
    --------
    >>> import pandas as pd
    >>> from sktime_llmforecast.tokenizers import DigitTokenizer
    >>> y = pd.Series([112.0, 118.0, 132.0, 129.0])
    >>> tok = DigitTokenizer(precision=2).fit(y)
    >>> text = tok.to_text(y)
    >>> text
    '23,47,102,90'
    >>> tok.from_text(text).round(0).tolist()
    [112.0, 118.0, 132.0, 129.0]
    """

    sign = "token"  # LLMTime writes a '-'; fixed for this class, not a parameter

    def __init__(
        self,
        precision=3,
        integer_digits=3,
        alpha=0.95,
        beta=0.3,
        basic=False,
        value_sep=",",
        digit_sep="",
        separator=False,
    ):
        self.precision = precision
        self.integer_digits = integer_digits
        self.alpha = alpha
        self.beta = beta
        self.basic = basic
        self.value_sep = value_sep
        self.digit_sep = digit_sep
        self.separator = separator
        super().__init__()
        self._check_params()
        if not isinstance(value_sep, str) or not value_sep:
            raise ValueError("value_sep must be a non-empty string.")
        if any(c.isdigit() or c == "-" for c in value_sep + digit_sep):
            raise ValueError("value_sep and digit_sep must not contain digits or '-'.")

    # -------------------------------------------------------------- text view
    def _only_scaling(self):
        self.check_is_fitted()
        if len(self.columns_) != 1:
            raise ValueError("to_text/from_text need a tokenizer fitted on one column.")
        return self.scaling_[self.columns_[0]]

    def values_to_text(self, values, scaling):
        """Serialise a 1-D array with an explicit scaling ``{"loc", "scale"}``.

        NaN values are written as empty entries.
        """
        out = []
        for v in np.asarray(values, dtype=float):
            if not np.isfinite(v):
                out.append("")
                continue
            z = (v - scaling["loc"]) / scaling["scale"]
            mag = int(round(abs(z) * 10**self.precision))
            digits = self.digit_sep.join(str(mag))
            out.append(("-" if z < 0 and mag else "") + digits)
        return self.value_sep.join(out)

    def text_to_values(self, text, scaling):
        """Parse text written by :meth:`values_to_text` (or sampled by an LLM).

        Entries that are not a well-formed number (empty, stray characters) become
        NaN; the caller decides whether to repair or drop them.
        """
        values = []
        for entry in text.split(self.value_sep):
            token = entry.replace(self.digit_sep, "") if self.digit_sep else entry
            token = token.strip()
            neg = token.startswith("-")
            body = token[1:] if neg else token
            if not body.isdigit():
                values.append(np.nan)
                continue
            z = int(body) / 10**self.precision * (-1 if neg else 1)
            values.append(z * scaling["scale"] + scaling["loc"])
        return np.asarray(values, dtype=float)

    def to_text(self, X):
        """LLMTime text of a univariate series, with the fitted scaling."""
        values = X.to_numpy().ravel() if hasattr(X, "to_numpy") else X
        return self.values_to_text(values, self._only_scaling())

    def from_text(self, text):
        """Values of a text written by :meth:`to_text` (malformed entries: NaN)."""
        return self.text_to_values(text, self._only_scaling())

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings for the estimator."""
        return [{}, {"precision": 2, "integer_digits": 2, "basic": True}]
