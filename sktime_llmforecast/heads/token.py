"""Output projection onto a numeric vocabulary."""

from __future__ import annotations

from torch import nn


class TokenHead(nn.Module):
    """Linear map from hidden states ``(B, T, D)`` to logits ``(B, T, V)``.

    The loss (cross-entropy over the tokenizer's vocabulary) sizes it: ``V`` is the
    tokenizer's ``vocab_size``.

    Examples
    --------
    >>> import torch
    >>> TokenHead(32, 1004)(torch.zeros(2, 3, 32)).shape
    torch.Size([2, 3, 1004])
    """

    def __init__(self, d_model, vocab_size):
        super().__init__()
        self.proj = nn.Linear(d_model, vocab_size)

    def forward(self, hidden):
        """Logits over the vocabulary for every position."""
        return self.proj(hidden)
