"""Chronos-style tokenizer: mean-absolute scaling and uniform bins."""

from __future__ import annotations

from sktime_llmforecast.tokenizers._scaling import ScaleState
from sktime_llmforecast.tokenizers._value_base import BaseValueTokenizer

EOS_ID = 1
N_SPECIAL = 2


class BinTokenizer(BaseValueTokenizer):
    """Mean-absolute scaling and uniform bins, as in Chronos (Ansari et al. 2024).

    A value ``x`` is divided by the mean absolute value of the (context or fitted)
    series, then mapped to the nearest of ``n_bins`` bin centres evenly spaced over
    ``[low, high]``; one token per value. Decoding returns the bin centre times the
    scale, so the absolute error is at most half a bin width times the scale
    (:meth:`resolution`) for values inside ``[low, high]`` scales; values outside are
    clipped to the edge bins (Chronos' behaviour). Ids 0 and 1 are the
    padding/missing and end-of-sequence specials; NaN is encoded as padding and
    decodes to NaN.

    Parameters
    ----------
    n_bins : int, default=4094
        Number of bins (Chronos: 4094 plus 2 specials = 4096 ids).
    low, high : float, default=-15.0, 15.0
        Range of scaled values covered by the bins.

    Examples
    --------
    >>> from sktime.datasets import load_airline
    >>> from sktime_llmforecast.tokenizers import BinTokenizer
    >>> y = load_airline()
    >>> tok = BinTokenizer()
    >>> Xt = tok.fit_transform(y)
    >>> tok.vocab_size, Xt.shape  # one token per value
    (4096, (144,))
    >>> err = abs(tok.inverse_transform(Xt) - y).max()
    >>> bool(err <= tok.resolution(tok.scaling_[y.name]["scale"]))
    True
    """

    def __init__(self, n_bins=4094, low=-15.0, high=15.0):
        self.n_bins = n_bins
        self.low = low
        self.high = high
        super().__init__()
        if not isinstance(n_bins, int) or isinstance(n_bins, bool) or n_bins < 2:
            raise ValueError(f"n_bins must be an int >= 2, got {n_bins!r}.")
        if not low < high:
            raise ValueError(f"low must be < high, got low={low!r}, high={high!r}.")

    @property
    def tokens_per_value(self):
        """One token per value."""
        return 1

    @property
    def vocab_size(self):
        """``n_bins`` plus 2 specials (padding/missing, end)."""
        return self.n_bins + N_SPECIAL

    @property
    def bin_width(self):
        """Distance between neighbouring bin centres, in scaled units."""
        return (self.high - self.low) / (self.n_bins - 1)

    def resolution(self, scale):
        """Worst-case round-trip error inside the range, for a given ``scale``."""
        return 0.5 * self.bin_width * scale

    def _centers(self, device, dtype):
        import torch

        return torch.linspace(
            self.low, self.high, self.n_bins, device=device, dtype=dtype
        )

    def _scale(self, x, mask):
        import torch

        m = mask.to(x.dtype)
        count = m.sum(1, keepdim=True)
        mean_abs = (torch.where(mask, x, torch.zeros_like(x)).abs()).sum(
            1, keepdim=True
        ) / count.clamp_min(1.0)
        scale = torch.where(mean_abs > 0, mean_abs, torch.ones_like(mean_abs))
        return ScaleState(loc=torch.zeros_like(scale), scale=scale)

    def _encode_scaled(self, z):
        import torch

        idx = torch.round((z.double() - self.low) / self.bin_width)
        idx = idx.clamp(0, self.n_bins - 1).to(torch.int64)
        return (idx + N_SPECIAL)[..., None]

    def _decode_scaled(self, ids):
        centers = self._centers(ids.device, ids.new_zeros(()).double().dtype)
        idx = (ids[..., 0] - N_SPECIAL).clamp(0, self.n_bins - 1)
        return centers[idx]

    def _allowed(self, position):
        return list(range(N_SPECIAL, self.vocab_size))

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings for the estimator."""
        return [{}, {"n_bins": 64, "low": -5.0, "high": 5.0}]
