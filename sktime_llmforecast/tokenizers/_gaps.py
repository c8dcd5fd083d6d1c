"""Missing values inside a series: what the network reads in their place.

A missing value (NaN in ``y``) is masked like left padding: it is left out of the
scaling, a patch made only of missing values is left out of the attention, and a
missing target is left out of the loss. Inside a patch that still has observed
values, the missing positions are filled by linear interpolation between their
observed neighbours (after the last observed value: that value), so the pretrained
interface reads a continuous line rather than the zeros of padding, which it has
never seen in the middle of a series.
"""

from __future__ import annotations

import numpy as np


def interpolate_gaps(values):
    """``values`` (1-D) with NaN replaced by linear interpolation between the observed
    neighbours, held flat before the first and after the last observed value.

    Parameters
    ----------
    values : array-like of float, shape (n,)
        At least one finite value.

    Returns
    -------
    np.ndarray of float, shape (n,)
        A new array (``values`` is not changed); a copy of it when nothing is missing.

    Examples
    --------
    >>> import numpy as np
    >>> from sktime_llmforecast.tokenizers import interpolate_gaps
    >>> interpolate_gaps([np.nan, 1.0, np.nan, 3.0, np.nan])
    array([1., 1., 2., 3., 3.])
    """
    x = np.array(values, dtype=float)
    ok = np.isfinite(x)
    if ok.all():
        return x
    if not ok.any():
        raise ValueError("interpolate_gaps needs at least one finite value.")
    pos = np.arange(len(x))
    x[~ok] = np.interp(pos[~ok], pos[ok], x[ok])
    return x


def fill_masked_gaps(z, mask):
    """Fill the masked entries of each row of ``z`` that follow its first observed
    value: linearly between the observed neighbours, with the last observed value
    after it. Leading masked entries (left padding) are left as they are.

    Parameters
    ----------
    z : torch.Tensor, shape (B, L)
    mask : torch.Tensor of bool, shape (B, L)
        True where observed.

    Returns
    -------
    torch.Tensor, shape (B, L)
        ``z`` itself when no row has a masked entry after an observed one.
    """
    import torch

    seen = mask.cumsum(dim=1) > 0
    gaps = seen & ~mask
    if not bool(gaps.any()):
        return z
    n = z.shape[1]
    pos = torch.arange(n, device=z.device).expand_as(z)
    # position of the previous and of the next observed value of every entry
    prev = torch.where(mask, pos, torch.full_like(pos, -1)).cummax(dim=1).values
    nxt = torch.where(mask, pos, torch.full_like(pos, n)).flip(1).cummin(dim=1).values.flip(1)
    has_next = nxt < n
    p = prev.clamp_min(0)
    q = torch.where(has_next, nxt, p)
    zp, zq = z.gather(1, p), z.gather(1, q)
    span = (q - p).clamp_min(1).to(z.dtype)
    w = ((pos - p).to(z.dtype) / span).clamp(0.0, 1.0)
    filled = zp + w * (zq - zp)
    return torch.where(gaps, filled, z)
