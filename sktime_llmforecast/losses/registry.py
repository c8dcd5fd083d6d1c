"""The loss menu: every training loss by name."""

from __future__ import annotations

from sktime_llmforecast.losses.point import (
    HuberLoss,
    LogCoshLoss,
    MAELoss,
    MSELoss,
    ScaledErrorLoss,
    SMAPELoss,
)
from sktime_llmforecast.losses.probabilistic import (
    GaussianNLLLoss,
    PinballLoss,
    QuantileCRPSLoss,
    SampleCRPSLoss,
)
from sktime_llmforecast.losses.token import TokenCrossEntropyLoss

LOSSES = {
    cls.name: cls
    for cls in (
        MSELoss,
        MAELoss,
        HuberLoss,
        LogCoshLoss,
        ScaledErrorLoss,
        SMAPELoss,
        PinballLoss,
        QuantileCRPSLoss,
        SampleCRPSLoss,
        GaussianNLLLoss,
        TokenCrossEntropyLoss,
    )
}


def loss_names(output=None):
    """Names of the losses on the menu, optionally only those reading ``output``.

    Examples
    --------
    >>> from sktime_llmforecast.losses import loss_names
    >>> loss_names("quantiles")
    ['pinball', 'crps_quantile']
    """
    return [n for n, cls in LOSSES.items() if output is None or cls.output == output]


def make_loss(name, **kwargs):
    """Instantiate the loss called ``name`` (see :func:`loss_names`).

    Examples
    --------
    >>> from sktime_llmforecast.losses import make_loss
    >>> make_loss("huber", delta=0.5).delta
    0.5
    """
    if name not in LOSSES:
        raise ValueError(
            f"Unknown loss {name!r}; choose one of {sorted(LOSSES)} or 'auto'."
        )
    return LOSSES[name](**kwargs)
