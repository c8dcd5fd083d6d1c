"""LossSwitcher: choose losses from the data, couple them, switch on plateaus."""

from __future__ import annotations

import math

from skbase.base import BaseObject

from sktime_llmforecast.losses.categories import (
    CATEGORY_LOSSES,
    loss_category,
    series_features,
)
from sktime_llmforecast.losses.coupling import COUPLINGS, CoupledLoss
from sktime_llmforecast.losses.registry import LOSSES

_SCHEDULES = (None, "plateau")


class LossSwitcher(BaseObject):
    """Pick the training losses from the data and couple them with learnable weights.

    ``LLMForecaster(loss="auto")`` (the default) uses ``LossSwitcher()``. In
    ``fit`` the forecaster calls :meth:`fit` on its training series: the series
    are characterised (share of zeros, outliers, trend and seasonal strength,
    scale spread across panel members, token or continuous output) and a
    decision list maps them to a category and its losses (table in
    ``docs/losses.md``). The losses are then summed with weights that train
    jointly with the model (:class:`CoupledLoss`), and, with
    ``schedule="plateau"``, introduced one at a time: the objective starts with
    the first loss of the set and adds the next one whenever the validation
    loss stops improving for ``switch_patience`` epochs.

    Parameters
    ----------
    losses : list of str or None, default=None
        None: chosen by the category rule. A list: couple exactly these (the
        category is then ``"user"``).
    coupling : {"uncertainty", "softmax", "fixed"}, default="uncertainty"
        How the weights are parametrised; see :class:`CoupledLoss`.
    schedule : {None, "plateau"}, default=None
        None: all losses from the start. ``"plateau"``: add them one by one.
    switch_patience : int, default=2
        Epochs without validation improvement before the next loss is added.
    weight_lr : float, default=0.05
        Learning rate of the coupling weights (AdamW, no weight decay).
    regularization : float, default=1.0
        Strength of the anti-collapse term of ``coupling="softmax"``.
    huber_delta : float, default=1.0
        ``delta`` of the Huber loss, in standardised units.

    Attributes
    ----------
    data_features_ : dict
        The features of :func:`series_features`.
    loss_category_ : str
        The category chosen (a key of ``CATEGORY_LOSSES``, or ``"user"``).
    losses_ : list of str
        The coupled losses, in schedule order.

    Examples
    --------
    >>> import numpy as np
    >>> from sktime_llmforecast.losses import LossSwitcher
    >>> rng = np.random.default_rng(0)
    >>> demand = rng.poisson(0.3, size=200).astype(float)   # mostly zeros
    >>> LossSwitcher().fit([demand]).loss_category_
    'intermittent'
    >>> t = np.arange(144)
    >>> seasonal = 100 + t + 20 * np.sin(2 * np.pi * t / 12)
    >>> sw = LossSwitcher().fit([seasonal])
    >>> sw.loss_category_, sw.losses_
    ('seasonal_trend', ['mse', 'mase', 'crps_quantile'])
    """

    def __init__(
        self,
        losses=None,
        coupling="uncertainty",
        schedule=None,
        switch_patience=2,
        weight_lr=0.05,
        regularization=1.0,
        huber_delta=1.0,
    ):
        self.losses = losses
        self.coupling = coupling
        self.schedule = schedule
        self.switch_patience = switch_patience
        self.weight_lr = weight_lr
        self.regularization = regularization
        self.huber_delta = huber_delta
        super().__init__()

    def check_params(self):
        """Raise a ``ValueError`` for settings that cannot run; return the names of
        explicit ``losses`` (None: chosen from the data)."""
        if self.coupling not in COUPLINGS:
            raise ValueError(f"coupling must be one of {COUPLINGS}, got {self.coupling!r}.")
        if self.schedule not in _SCHEDULES:
            raise ValueError(f"schedule must be None or 'plateau', got {self.schedule!r}.")
        if not (isinstance(self.switch_patience, int) and self.switch_patience >= 1):
            raise ValueError(
                f"switch_patience must be a positive int, got {self.switch_patience!r}."
            )
        if not self.weight_lr > 0:
            raise ValueError(f"weight_lr must be > 0, got {self.weight_lr!r}.")
        if self.losses is not None:
            names = [self.losses] if isinstance(self.losses, str) else list(self.losses)
            unknown = [n for n in names if n not in LOSSES]
            if not names or unknown:
                raise ValueError(
                    f"Unknown loss name(s) {unknown or names!r}; choose from "
                    f"{sorted(LOSSES)}."
                )
            if len(set(names)) != len(names):
                raise ValueError(f"losses has repeated names: {names!r}.")
            return names
        return None

    def fit(self, series, token_output=False):
        """Characterise ``series`` (list of 1-D arrays) and choose the losses.

        Parameters
        ----------
        series : list of array-like
            The training series (panel members and channels).
        token_output : bool, default=False
            Whether the model predicts tokens (then only token losses apply).

        Returns
        -------
        self
        """
        names = self.check_params()
        self.data_features_ = series_features(series)
        if names is None:
            self.loss_category_ = loss_category(self.data_features_, token_output)
            self.losses_ = list(CATEGORY_LOSSES[self.loss_category_])
        else:
            self.loss_category_ = "user"
            self.losses_ = names
        return self

    def make_objective(self, outputs, context_length):
        """The :class:`CoupledLoss` for a network that produces ``outputs``.

        Parameters
        ----------
        outputs : set of str
            Output kinds of the network (see ``ForecastLoss``); losses that read
            anything else raise a ``ValueError``.
        context_length : int
            Window length; the scaled error uses the detected season only when
            at least two seasons fit in a window.

        Returns
        -------
        CoupledLoss
            With fallbacks (weight 1) for outputs the active losses leave
            untrained: ``"pinball"`` for the quantile head while no quantile or
            sample loss is active, ``"mse"`` for the point head while no point or
            Gaussian loss is active.
        """
        if not hasattr(self, "losses_"):
            raise RuntimeError("Call LossSwitcher.fit before make_objective.")
        wrong = [n for n in self.losses_ if LOSSES[n].output not in outputs]
        if wrong:
            kinds = sorted({LOSSES[n].output for n in wrong})
            raise ValueError(
                f"loss {wrong!r} reads {kinds} outputs, which this network does not "
                f"produce ({sorted(outputs)}). Token tokenizers train with "
                "'token_ce'; patch tokenizers with any other loss; loss='auto' "
                "chooses for you."
            )
        fallbacks = {}
        if "quantiles" in outputs:
            fallbacks["pinball"] = ("quantiles", "samples")
        if "point" in outputs:
            fallbacks["mse"] = ("point", "gaussian")
        season = self.data_features_["season"]
        season = season if 2 * season <= context_length else 1
        objective = CoupledLoss(
            self.losses_,
            coupling=self.coupling,
            fallbacks=fallbacks,
            regularization=self.regularization,
            loss_kwargs={"huber": {"delta": self.huber_delta}, "mase": {"season": season}},
        )
        if self.schedule == "plateau":
            objective.active = self.losses_[:1]
        return objective

    def make_schedule(self, objective):
        """A :class:`PlateauSchedule` driving ``objective`` (None without schedule)."""
        if self.schedule != "plateau" or len(objective.names) == 1:
            return None
        return PlateauSchedule(objective, self.switch_patience)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings."""
        return [
            {},
            {"losses": ["mae", "pinball"], "coupling": "softmax", "schedule": "plateau",
             "switch_patience": 1},
        ]


class PlateauSchedule:
    """Adds the next loss of a :class:`CoupledLoss` when validation plateaus.

    The training loop calls :meth:`step` with each epoch's validation yardstick;
    it returns True when it switched (the loop then restarts its patience).
    """

    def __init__(self, objective, patience):
        self.objective = objective
        self.patience = patience
        self.best = math.inf
        self.bad = 0

    @property
    def finished(self):
        """Whether every loss is active."""
        return len(self.objective.active) == len(self.objective.names)

    def step(self, val_loss):
        """Record an epoch's validation loss; switch on a plateau."""
        if val_loss < self.best - 1e-7:
            self.best, self.bad = val_loss, 0
            return False
        self.bad += 1
        if self.bad >= self.patience and not self.finished:
            names = self.objective.names
            self.objective.active = names[: len(self.objective.active) + 1]
            self.bad = 0
            return True
        return False
