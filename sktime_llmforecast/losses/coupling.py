"""Several losses in one objective, with learnable positive coefficients."""

from __future__ import annotations

import math

import torch
from torch import nn

from sktime_llmforecast.losses.registry import make_loss

COUPLINGS = ("uncertainty", "softmax", "fixed")


class CoupledLoss(nn.Module):
    """A weighted sum of losses whose weights train with the model.

    Parameters
    ----------
    names : list of str
        The coupled losses (names from :func:`loss_names`).
    coupling : {"uncertainty", "softmax", "fixed"}, default="uncertainty"
        * ``"uncertainty"`` (Kendall, Gal & Cipolla 2018): one log-variance
          ``s_i`` per loss, objective ``sum_i exp(-s_i) (L_i - b_i) + s_i``
          (``b_i`` the loss's lower bound, 0 for most). The weights
          ``exp(-s_i)`` are positive and settle near ``1 / (L_i - b_i)``, so
          losses of different scale pull equally.
        * ``"softmax"``: weights ``n softmax(theta)`` (positive, summing to
          ``n``), plus ``regularization`` times the KL divergence from the uniform
          weighting so that no weight collapses to zero.
        * ``"fixed"``: every weight 1.
    fallbacks : dict, default=None
        ``{loss name: output kinds}``: a loss added with weight 1, outside the
        coupling, whenever no *active* coupled loss reads any of those kinds (e.g.
        ``{"pinball": ("quantiles", "samples")}`` keeps the quantile head trained
        while a schedule has not yet switched on a quantile loss).
    regularization : float, default=1.0
        Strength of the KL term of ``"softmax"``.
    loss_kwargs : dict, default=None
        ``{name: kwargs}`` passed to the losses (e.g. ``{"huber": {"delta": 2}}``).

    Attributes
    ----------
    active : list of str
        The coupled losses currently in the objective (a schedule may start with
        fewer, see ``LossSwitcher``).
    aux : list of str
        The fallbacks needed once every coupled loss is active.

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.losses import CoupledLoss
    >>> c = CoupledLoss(["mse", "mae"], fallbacks={"pinball": ("quantiles",)})
    >>> c.aux
    ['pinball']
    >>> c.weights()
    {'mse': 1.0, 'mae': 1.0}
    >>> raw = {"mse": torch.tensor(4.0), "mae": torch.tensor(2.0), "pinball": torch.tensor(1.0)}
    >>> float(c(raw).detach())  # weights start at 1
    7.0
    """

    def __init__(self, names, coupling="uncertainty", fallbacks=None, regularization=1.0,
                 loss_kwargs=None):
        super().__init__()
        if coupling not in COUPLINGS:
            raise ValueError(f"coupling must be one of {COUPLINGS}, got {coupling!r}.")
        names = list(names)
        if not names:
            raise ValueError("CoupledLoss needs at least one loss name.")
        kwargs = loss_kwargs or {}
        self.names, self.coupling = names, coupling
        self.fallbacks = {k: tuple(v) for k, v in (fallbacks or {}).items()}
        self.regularization = float(regularization)
        every = names + [f for f in self.fallbacks if f not in names]
        self.losses = nn.ModuleDict({n: make_loss(n, **kwargs.get(n, {})) for n in every})
        self.aux = self._fallbacks_for(names)
        self.theta = nn.Parameter(torch.zeros(len(names)), requires_grad=coupling != "fixed")
        self.active = list(names)

    def _fallbacks_for(self, active):
        read = {self.losses[n].output for n in active}
        return [f for f, kinds in self.fallbacks.items() if not read & set(kinds)]

    def _active_mask(self):
        return torch.tensor([n in self.active for n in self.names], device=self.theta.device)

    def weight_tensor(self):
        """Current positive weights of the coupled losses, ``(len(names),)``."""
        if self.coupling == "uncertainty":
            return torch.exp(-self.theta)
        if self.coupling == "softmax":
            m = self._active_mask()
            logits = self.theta.masked_fill(~m, -math.inf)
            return m.sum() * torch.softmax(logits, 0)
        return torch.ones_like(self.theta)

    def weights(self):
        """The weights as ``{name: float}`` (inactive losses included)."""
        w = self.weight_tensor().detach().cpu().tolist()
        return {n: round(float(v), 6) for n, v in zip(self.names, w)}

    def forward(self, raw):
        """The training objective from ``raw = {name: scalar loss}``."""
        w = self.weight_tensor()
        total = 0.0
        for i, name in enumerate(self.names):
            if name not in self.active:
                continue
            value = raw[name] - self.losses[name].lower_bound
            total = total + w[i] * value
            if self.coupling == "uncertainty":
                total = total + self.theta[i]
        if self.coupling == "softmax":
            m = self._active_mask()
            p = torch.softmax(self.theta.masked_fill(~m, -math.inf), 0)[m]
            kl = -math.log(len(p)) - torch.log(p).mean()  # KL(uniform || p)
            total = total + self.regularization * kl
        for name in self._fallbacks_for(self.active):
            total = total + raw[name]
        return total

    def yardstick(self, raw):
        """Unweighted mean of the coupled losses and ``aux``: comparable over
        epochs whatever the weights or the active set, so early stopping uses it."""
        names = self.names + self.aux
        values = [raw[n].detach() if hasattr(raw[n], "detach") else raw[n] for n in names]
        return sum(float(v) for v in values) / len(names)
