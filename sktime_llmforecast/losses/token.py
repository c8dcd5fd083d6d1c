"""Cross-entropy over a numeric vocabulary."""

from __future__ import annotations


def token_cross_entropy(logits, labels, mask=None):
    """Mean cross-entropy of ``logits (B, T, V)`` against ``labels (B, T)``.

    Parameters
    ----------
    logits : torch.Tensor, shape (B, T, V)
    labels : torch.LongTensor, shape (B, T)
    mask : torch.Tensor of bool, shape (B, T), optional
        Only positions where True count (e.g. the forecast tokens).

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[[10.0, 0.0], [0.0, 10.0]]])
    >>> float(token_cross_entropy(logits, torch.tensor([[0, 1]]))) < 1e-3
    True
    """
    import torch.nn.functional as F

    ce = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), reduction="none")
    if mask is None:
        return ce.mean()
    m = mask.flatten().to(ce.dtype)
    return (ce * m).sum() / m.sum().clamp_min(1.0)
