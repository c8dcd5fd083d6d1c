"""Cross-entropy over a numeric vocabulary."""

from __future__ import annotations

import torch.nn.functional as F

from sktime_llmforecast.losses._base import ForecastLoss, masked_mean


def token_cross_entropy(logits, labels, mask=None):
    """Mean cross-entropy of ``logits (B, T, V)`` against ``labels (B, T)``.

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[[10.0, 0.0], [0.0, 10.0]]])
    >>> float(token_cross_entropy(logits, torch.tensor([[0, 1]]))) < 1e-3
    True
    """
    ce = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), reduction="none")
    return masked_mean(ce, None if mask is None else mask.flatten())


class TokenCrossEntropyLoss(ForecastLoss):
    """Cross-entropy of next-token logits over a tokenizer's numeric vocabulary.

    The training loss of the token tokenizers (digits, chunked digits, bins);
    ``mask`` selects the positions that count (the forecast tokens).

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.losses import TokenCrossEntropyLoss
    >>> logits = torch.tensor([[[0.0, 0.0]]])
    >>> round(float(TokenCrossEntropyLoss()(logits, torch.tensor([[1]]))), 4)
    0.6931
    """

    name = "token_ce"
    output = "tokens"

    def forward(self, pred, target, mask=None, scale=None, levels=None):
        return token_cross_entropy(pred, target, mask)
