"""The interface every training loss shares."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

#: what a loss reads from the network's output
OUTPUT_KINDS = ("point", "quantiles", "gaussian", "samples", "tokens")


def masked_mean(values, mask=None):
    """Mean of ``values``, over the entries where ``mask`` is True when given.

    ``mask`` may have fewer dimensions than ``values`` only by broadcasting
    (e.g. ``(B, 1, H)`` against ``(B, Q, H)``).
    """
    if mask is None:
        return values.mean()
    m = mask.to(values.dtype).expand_as(values)
    return (values * m).sum() / m.sum().clamp_min(1.0)


class ForecastLoss(nn.Module):
    """Base class of the training losses: ``loss(pred, target, mask, scale, levels)``.

    Every loss reduces to a scalar (mean over batch, horizon and, where present,
    levels or samples). What ``pred`` holds depends on ``output``:

    ============  =====================================================
    ``output``    ``pred``
    ============  =====================================================
    point         point forecasts ``(B, H)``
    quantiles     quantile forecasts ``(B, Q, H)`` at ``levels (Q,)``
    gaussian      mean and log standard deviation stacked ``(B, 2, H)``
    samples       sample paths ``(B, S, H)``
    tokens        logits ``(B, T, V)``; ``target`` is then token ids ``(B, T)``
    ============  =====================================================

    ``target`` is ``(B, H)`` (except for tokens), ``mask`` a bool tensor
    broadcastable to ``target`` (True where the target counts), ``scale`` a
    positive ``(B, 1)`` tensor used by scaled errors.

    Class attributes
    ----------------
    name : str
        The name under which ``make_loss`` and ``LLMForecaster(loss=...)`` find it.
    output : str
        One of ``OUTPUT_KINDS``.
    units : {"standardised", "original"}
        The networks hand standardised values (each window's own location and
        scale removed) to most losses; ratio losses such as sMAPE need the
        original units.
    needs_scale : bool
        Whether ``scale`` is required.
    lower_bound : float
        The smallest value the loss can take (0 for most); loss coupling works on
        ``loss - lower_bound``.
    """

    name = "base"
    output = "point"
    units = "standardised"
    needs_scale = False
    lower_bound = 0.0

    def forward(self, pred, target, mask=None, scale=None, levels=None):
        """Scalar loss; see the class docstring for shapes."""
        raise NotImplementedError


class PointLoss(ForecastLoss):
    """A point loss: the mean of an elementwise error, written once.

    Subclasses implement :meth:`pointwise`; training reduces it with the mask,
    and the sktime metrics (``metrics/``) call the same function through
    :meth:`values` on their arrays.
    """

    output = "point"

    def pointwise(self, pred, target, scale=None):  # pragma: no cover - abstract
        """The loss of every entry, shaped like ``pred``."""
        raise NotImplementedError

    def forward(self, pred, target, mask=None, scale=None, levels=None):
        return masked_mean(self.pointwise(pred, target, scale), mask)

    def values(self, pred, target, scale=None):
        """:meth:`pointwise` on numpy arrays (float64), for the sktime metrics."""
        def as_tensor(a):
            return None if a is None else torch.as_tensor(np.asarray(a, dtype=float))

        with torch.no_grad():
            out = self.pointwise(as_tensor(pred), as_tensor(target), as_tensor(scale))
        return out.numpy()

    def extra_repr(self):
        return f"name={self.name!r}"
