"""Query-based interface: learnable queries cross-attend to the series tokens.

Flamingo's Perceiver Resampler and BLIP-2's Q-Former hand the language model a fixed
number of tokens whatever the size of the input; here the input is the sequence of
patches of a history of any length.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _heads_for(d_model):
    return next(h for h in (8, 4, 2, 1) if d_model % h == 0)


def recency_encoding(n_tokens, d_model, device=None, dtype=torch.float32):
    """Sinusoidal encoding of each token's distance from the newest one, ``(P, D)``.

    Distances count from the right (the newest patch is 0), so the same position
    means the same lag for histories of any length.
    """
    lag = torch.arange(n_tokens - 1, -1, -1, device=device, dtype=torch.float32)[:, None]
    i = torch.arange(0, d_model, 2, device=device, dtype=torch.float32)
    freq = torch.exp(-math.log(10000.0) * i / d_model)
    enc = torch.zeros(n_tokens, d_model, device=device)
    enc[:, 0::2] = torch.sin(lag * freq)
    enc[:, 1::2] = torch.cos(lag * freq[: d_model // 2])
    return enc.to(dtype)


class QueryResampler(nn.Module):
    """``n_queries`` learnable queries cross-attending to projected patches.

    Parameters
    ----------
    in_features : int
        Values per patch.
    d_model : int
        The backbone's hidden size.
    n_queries : int, default=16
        Tokens handed to the backbone, whatever the number of patches.
    n_heads : int or None, default=None
        Attention heads (None: the largest of 8, 4, 2, 1 dividing ``d_model``).

    Shapes
    ------
    ``forward(patches (B, P, in_features), patch_mask (B, P)) -> (B, n_queries, D)``;
    masked (padding) patches are not attended to.

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.interfaces import QueryResampler
    >>> r = QueryResampler(16, 32, n_queries=4)
    >>> short = r(torch.zeros(2, 10, 16), torch.ones(2, 10, dtype=torch.bool))
    >>> long = r(torch.zeros(2, 600, 16), torch.ones(2, 600, dtype=torch.bool))
    >>> short.shape, long.shape
    (torch.Size([2, 4, 32]), torch.Size([2, 4, 32]))
    """

    def __init__(self, in_features, d_model, n_queries=16, n_heads=None):
        super().__init__()
        if not (isinstance(n_queries, int) and n_queries >= 1):
            raise ValueError(f"n_queries must be a positive int, got {n_queries!r}.")
        self.n_queries = n_queries
        self.proj = nn.Linear(in_features, d_model)
        self.queries = nn.Parameter(torch.randn(n_queries, d_model) * 0.02)
        self.norm_q = nn.LayerNorm(d_model)
        self.norm_kv = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(
            d_model, n_heads or _heads_for(d_model), batch_first=True
        )
        self.ff = nn.Sequential(
            nn.LayerNorm(d_model),
            nn.Linear(d_model, 2 * d_model),
            nn.GELU(),
            nn.Linear(2 * d_model, d_model),
        )

    def forward(self, patches, patch_mask):
        """Resample ``P`` patches to ``n_queries`` tokens; see the class docstring."""
        kv = self.proj(patches)
        kv = kv + recency_encoding(kv.shape[1], kv.shape[2], kv.device, kv.dtype)
        kv = self.norm_kv(kv)
        q = self.queries.to(kv.dtype).expand(len(kv), -1, -1)
        out, _ = self.attn(self.norm_q(q), kv, kv, key_padding_mask=~patch_mask,
                           need_weights=False)
        x = q + out
        return x + self.ff(x)
