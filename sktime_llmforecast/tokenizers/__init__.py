"""Numeric tokenizers: turn a series into tokens for a backbone, and back.

=========================  ==========================  =========================
tokenizer                  token                       vocabulary
=========================  ==========================  =========================
``PatchTokenizer``         a patch of values           continuous (projected)
``DigitTokenizer``         one digit (LLMTime)         10 digits + 4 specials
``ChunkedDigitTokenizer``  ``k`` digits                ``10**k`` + 4 specials
``BinTokenizer``           a bin (Chronos)             ``n_bins`` + 2 specials
=========================  ==========================  =========================
"""

from sktime_llmforecast.tokenizers._gaps import fill_masked_gaps, interpolate_gaps
from sktime_llmforecast.tokenizers._scaling import ScaleState, masked_standardize
from sktime_llmforecast.tokenizers._value_base import BaseValueTokenizer
from sktime_llmforecast.tokenizers.bins import BinTokenizer
from sktime_llmforecast.tokenizers.chunked import ChunkedDigitTokenizer
from sktime_llmforecast.tokenizers.digits import DigitTokenizer
from sktime_llmforecast.tokenizers.patch import PatchState, PatchTokenizer
from sktime_llmforecast.tokenizers.switcher import TokenizerSwitcher

__all__ = [
    "BaseValueTokenizer",
    "BinTokenizer",
    "ChunkedDigitTokenizer",
    "DigitTokenizer",
    "PatchState",
    "PatchTokenizer",
    "ScaleState",
    "TokenizerSwitcher",
    "fill_masked_gaps",
    "interpolate_gaps",
    "masked_standardize",
]
