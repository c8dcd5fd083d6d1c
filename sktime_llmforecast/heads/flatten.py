"""Flatten-and-project head (PatchTST, One-Fits-All)."""

from __future__ import annotations

from torch import nn


class FlattenHead(nn.Module):
    """Flatten the hidden states of all tokens and project to the horizon.

    Parameters
    ----------
    n_tokens : int
        Number of tokens ``P`` the backbone returns.
    d_model : int
        Hidden size ``D``.
    horizon : int
        Number of forecast steps ``H``.
    dropout : float, default=0.0
        Dropout before the projection.

    Examples
    --------
    >>> import torch
    >>> FlattenHead(5, 32, 12)(torch.zeros(3, 5, 32)).shape
    torch.Size([3, 12])
    """

    def __init__(self, n_tokens, d_model, horizon, dropout=0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(n_tokens * d_model, horizon)

    def forward(self, hidden):
        """Map ``(B, P, D)`` hidden states to a ``(B, H)`` forecast."""
        return self.proj(self.dropout(hidden.flatten(start_dim=1)))
