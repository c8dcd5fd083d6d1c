"""Masked instance normalisation (RevIN without affine weights), on tensors.

The statistics are returned as an explicit state and handed back to undo the scaling,
so no hidden attribute carries them between calls.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScaleState:
    """Per-row location and scale of a batch, shapes ``(B, 1)``."""

    loc: "object"
    scale: "object"


def masked_standardize(x, mask, eps=1e-20, min_scale_ratio=1e-3):
    """Standardise each row of ``x`` over its observed (``mask``) entries.

    Parameters
    ----------
    x : torch.Tensor, shape (B, L)
        Values; entries where ``mask`` is False are ignored (and set to 0 on output).
    mask : torch.Tensor of bool, shape (B, L)
        True where a value is observed.
    eps : float, default=1e-20
        Absolute floor of the scale: small, so a series on a 1e-9 scale is
        standardised like any other. A row whose observed values are all zero
        (e.g. a window of intermittent demand without demand) has scale 1: it
        carries no scale information, and dividing what follows by ``eps`` would
        overflow.
    min_scale_ratio : float, default=1e-3
        Relative floor: the scale is at least ``min_scale_ratio * mean(|x|)``, so a
        constant series at 1e9 is not divided by ``eps``.

    Returns
    -------
    z : torch.Tensor, shape (B, L)
        Standardised values, 0 where not observed.
    state : ScaleState
        ``loc`` and ``scale`` of shape (B, 1).
    """
    import torch

    m = mask.to(x.dtype)
    count = m.sum(dim=1, keepdim=True).clamp_min(1.0)
    xz = torch.where(mask, x, torch.zeros_like(x))
    loc = xz.sum(dim=1, keepdim=True) / count
    var = (((xz - loc) * m) ** 2).sum(dim=1, keepdim=True) / count
    abs_mean = xz.abs().sum(dim=1, keepdim=True) / count
    floor = torch.maximum(torch.full_like(abs_mean, eps), min_scale_ratio * abs_mean)
    floor = torch.where(abs_mean > 0, floor, torch.ones_like(floor))  # all zero: unit
    scale = torch.maximum(var.sqrt(), floor)
    z = torch.where(mask, (x - loc) / scale, torch.zeros_like(x))
    return z, ScaleState(loc=loc, scale=scale)


def unstandardize(z, state: ScaleState):
    """Undo :func:`masked_standardize`: ``z * scale + loc`` (broadcast over columns)."""
    return z * state.scale + state.loc
