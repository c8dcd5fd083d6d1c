"""Point-forecast losses on tensors."""

from __future__ import annotations


def mse_loss(pred, target, mask=None):
    """Mean squared error, optionally over the entries where ``mask`` is True.

    Parameters
    ----------
    pred, target : torch.Tensor, same shape
    mask : torch.Tensor of bool, optional

    Returns
    -------
    torch.Tensor
        Scalar loss.

    Examples
    --------
    >>> import torch
    >>> float(mse_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0])))
    5.0
    """
    err = (pred - target) ** 2
    if mask is None:
        return err.mean()
    m = mask.to(err.dtype)
    return (err * m).sum() / m.sum().clamp_min(1.0)
