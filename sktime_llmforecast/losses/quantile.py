"""Quantile (pinball) loss on tensors."""

from __future__ import annotations


def pinball_loss(pred_quantiles, target, levels):
    """Mean pinball loss of quantile forecasts.

    Parameters
    ----------
    pred_quantiles : torch.Tensor, shape (B, Q, H)
    target : torch.Tensor, shape (B, H)
    levels : torch.Tensor, shape (Q,)
        Quantile levels in (0, 1).

    Returns
    -------
    torch.Tensor
        Scalar: mean over batch, levels and steps of
        ``max(q * (y - f), (q - 1) * (y - f))``.

    Examples
    --------
    >>> import torch
    >>> q = torch.tensor([[[0.0], [2.0]]])          # levels 0.1 and 0.9
    >>> float(pinball_loss(q, torch.tensor([[1.0]]), torch.tensor([0.1, 0.9])))
    0.1
    """
    diff = target[:, None, :] - pred_quantiles  # (B, Q, H)
    q = levels.to(diff.dtype)[None, :, None]
    return (q * diff).maximum((q - 1) * diff).mean()
