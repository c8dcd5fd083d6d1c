"""Embedding of a numeric vocabulary (new, learnable, on a frozen backbone)."""

from __future__ import annotations

import torch
from torch import nn


class ValueTokenEmbedding(nn.Module):
    """Token embedding plus a learned *position-in-value* embedding.

    Value-wise tokenizers write every value as ``w`` tokens; the same digit group
    means different things in the first and the last position of a value. A small
    table of ``w`` vectors, added to each token's embedding, tells the backbone which
    position of a value a token holds (frozen position embeddings of the backbone do
    not know the period ``w``).

    Parameters
    ----------
    vocab_size : int
    d_model : int
    tokens_per_value : int
    padding_idx : int, default=0
        The padding/missing token; its embedding starts at zero.

    Examples
    --------
    >>> import torch
    >>> emb = ValueTokenEmbedding(14, 32, tokens_per_value=7)
    >>> emb(torch.zeros(2, 5, dtype=torch.long), start=3).shape
    torch.Size([2, 5, 32])
    """

    def __init__(self, vocab_size, d_model, tokens_per_value, padding_idx=0):
        super().__init__()
        self.tokens_per_value = tokens_per_value
        self.token = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        self.phase = nn.Embedding(tokens_per_value, d_model)
        nn.init.normal_(self.token.weight, std=d_model**-0.5)
        nn.init.normal_(self.phase.weight, std=d_model**-0.5)
        with torch.no_grad():
            self.token.weight[padding_idx].zero_()

    @property
    def weight(self):
        """The token table, shape ``(vocab_size, d_model)``."""
        return self.token.weight

    def forward(self, ids, start=0):
        """Embed ``ids (B, T)`` whose first token is at sequence position ``start``."""
        pos = torch.arange(start, start + ids.shape[1], device=ids.device)
        return self.token(ids) + self.phase(pos % self.tokens_per_value)


def build_token_embedding(vocab_size, d_model, tokens_per_value=1, padding_idx=0):
    """Build a :class:`ValueTokenEmbedding` (ids ``(B, T)`` -> ``(B, T, d_model)``).

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.interfaces import build_token_embedding
    >>> build_token_embedding(14, 32, 7)(torch.zeros(2, 7, dtype=torch.long)).shape
    torch.Size([2, 7, 32])
    """
    return ValueTokenEmbedding(vocab_size, d_model, tokens_per_value, padding_idx)
