"""Flatten-and-project head (PatchTST, One-Fits-All), with an optional bottleneck."""

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
        Number of outputs (forecast steps times outputs per step).
    dropout : float, default=0.0
        Dropout before the projection.
    width : int or None, default=None
        None: project the flattened ``P * D`` hidden states directly (PatchTST).
        An int ``W``: first map every token's hidden state to ``W`` features (one
        linear layer shared by the tokens), then project the ``P * W`` features;
        the head then has about ``P * W * horizon`` weights instead of
        ``P * D * horizon``, which keeps a long horizon affordable.

    Examples
    --------
    >>> import torch
    >>> FlattenHead(5, 32, 12)(torch.zeros(3, 5, 32)).shape
    torch.Size([3, 12])
    >>> FlattenHead(5, 32, 12, width=8)(torch.zeros(3, 5, 32)).shape
    torch.Size([3, 12])
    """

    def __init__(self, n_tokens, d_model, horizon, dropout=0.0, width=None):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.reduce = None if width is None else nn.Linear(d_model, width)
        features = d_model if width is None else width
        self.proj = nn.Linear(n_tokens * features, horizon)

    def forward(self, hidden):
        """Map ``(B, P, D)`` hidden states to a ``(B, horizon)`` output."""
        if self.reduce is not None:
            hidden = self.reduce(hidden)
        return self.proj(self.dropout(hidden.flatten(start_dim=1)))
