"""Embedding table for a numeric vocabulary (new, learnable, on a frozen backbone)."""

from __future__ import annotations


def build_token_embedding(vocab_size, d_model, padding_idx=0):
    """Learnable ``nn.Embedding`` mapping token ids ``(B, T)`` to ``(B, T, d_model)``.

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.interfaces import build_token_embedding
    >>> build_token_embedding(14, 32)(torch.zeros(2, 7, dtype=torch.long)).shape
    torch.Size([2, 7, 32])
    """
    import torch
    from torch import nn

    emb = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
    nn.init.normal_(emb.weight, std=d_model**-0.5)
    with torch.no_grad():
        emb.weight[padding_idx].zero_()
    return emb
