"""The torch module that composes tokenizer -> interface -> backbone -> head.

Tensors only: no pandas in here. Pickling keeps the estimator's trained tensors and the
backbone *reference* (its spec), never the frozen backbone weights; the backbone is
reloaded (from the per-process cache) the first time the unpickled module is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from sktime_llmforecast.backbones import (
    BackboneSpec,
    load_backbone,
    make_backbone_shell,
)
from sktime_llmforecast.heads import FlattenHead
from sktime_llmforecast.interfaces import build_interface
from sktime_llmforecast.losses import sample_from_quantiles, seasonal_naive_scale


@dataclass(frozen=True)
class NetworkConfig:
    """Everything that fixes the network's architecture (all fields defaulted)."""

    spec: BackboneSpec = BackboneSpec("config", '{"model_type": "gpt2"}')
    n_layers: int | None = 6
    finetune: str = "frozen"
    interface: str = "linear"
    context_length: int = 64
    horizon: int = 12
    head_dropout: float = 0.0
    quantile_levels: tuple = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)


class BackboneNetwork(nn.Module):
    """Common part of the networks: the backbone shell, its state and pickling.

    Subclasses build ``interface`` and ``head`` and implement
    ``loss_terms(context, mask, target, losses)`` (``{name: scalar}`` for a dict of
    ``ForecastLoss`` modules) and ``forecast(context, mask)`` (values ``(B, H)``
    in original units); ``outputs`` names the output kinds the losses may read.
    """

    outputs = frozenset()

    def __init__(self, config: NetworkConfig, tokenizer):
        super().__init__()
        self.config = config
        self.tokenizer = tokenizer
        self._pending_backbone = None
        self.backbone = self._build_backbone()

    def _build_backbone(self):
        c = self.config
        model = load_backbone(c.spec)
        n_layers = c.n_layers
        if n_layers is not None:  # "at most n_layers": small backbones keep all
            n_layers = min(n_layers, model.config.num_hidden_layers)
        return make_backbone_shell(model, n_layers, c.finetune)

    @property
    def d_model(self):
        """Hidden size of the backbone."""
        return self.backbone.config.hidden_size

    def _backbone_dtype(self):
        return next(self.backbone.parameters()).dtype

    def _run_backbone(self, emb, attention_mask, **kwargs):
        out = self.backbone.base_model(
            inputs_embeds=emb.to(self._backbone_dtype()),
            attention_mask=attention_mask.long(),
            **kwargs,
        )
        return out

    # -------------------------------------------------------------- parameters
    def trainable_parameters(self):
        """Parameters the optimiser updates (interface, head, unfrozen backbone)."""
        self.ensure_backbone()
        return [p for p in self.parameters() if p.requires_grad]

    def trainable_state(self):
        """Detached copies of the trainable tensors, keyed by parameter name."""
        self.ensure_backbone()
        return {
            n: p.detach().clone() for n, p in self.named_parameters() if p.requires_grad
        }

    def load_trainable_state(self, state):
        """Copy tensors from :meth:`trainable_state` back in place."""
        self.ensure_backbone()
        params = dict(self.named_parameters())
        with torch.no_grad():
            for name, tensor in state.items():
                params[name].copy_(tensor)

    # -------------------------------------------------------------- pickling
    def ensure_backbone(self):
        """Reload the backbone after unpickling (from the cache where possible)."""
        if self._pending_backbone is None:
            return
        trained = self._pending_backbone
        self._pending_backbone = None
        device = next(self.parameters()).device  # interface/head: backbone pending
        self.backbone = self._build_backbone()
        params = dict(self.backbone.named_parameters())
        with torch.no_grad():
            for name, tensor in trained.items():
                params[name].copy_(tensor.to(params[name].device))
        if device.type != "cpu":
            self.to(device)

    def __getstate__(self):
        self.ensure_backbone()
        state = self.__dict__.copy()
        modules = dict(state["_modules"])
        backbone = modules.pop("backbone")
        state["_modules"] = modules
        state["_pending_backbone"] = {
            n: p.detach().cpu().clone()
            for n, p in backbone.named_parameters()
            if p.requires_grad
        }
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)


class PatchForecastNetwork(BackboneNetwork):
    """Patch tokens through a (mostly frozen) backbone to a direct multi-step forecast.

    Parameters
    ----------
    config : NetworkConfig
    tokenizer : PatchTokenizer
        Supplies ``encode``/``decode`` and ``n_patches``.

    Shapes
    ------
    ``forward(context (B, L), mask (B, L)) -> (z (B, 2 + Q, H), state)``: the mean,
    the log standard deviation and the ``Q`` quantiles, standardised with the
    context's own scaling held in ``state``.
    """

    outputs = frozenset({"point", "quantiles", "gaussian", "samples"})

    def __init__(self, config: NetworkConfig, tokenizer):
        super().__init__(config, tokenizer)
        d_model = self.d_model
        n_tokens = tokenizer.n_patches(config.context_length)
        self.n_outputs = 2 + len(config.quantile_levels)  # mean, log-sd, quantiles
        self.interface = build_interface(config.interface, tokenizer.patch_len, d_model)
        self.head = FlattenHead(
            n_tokens, d_model, config.horizon * self.n_outputs, config.head_dropout
        )
        self.register_buffer(
            "levels",
            torch.tensor(config.quantile_levels, dtype=torch.float32),
            persistent=False,
        )

    # -------------------------------------------------------------- forward
    def forward(self, context, mask):
        """Forecast standardised values; see the class docstring for shapes."""
        self.ensure_backbone()
        patches, state = self.tokenizer.encode(context, mask)  # (B, P, patch_len)
        emb = self.interface(patches.to(self.head.proj.weight.dtype))  # (B, P, D)
        out = self._run_backbone(emb, state.patch_mask)
        hidden = out.last_hidden_state.to(emb.dtype)  # (B, P, D)
        z = self.head(hidden).reshape(len(hidden), self.n_outputs, -1)  # (B, 2+Q, H)
        return z, state

    def loss_terms(self, context, mask, target, losses):
        """Each loss of ``losses`` (``{name: ForecastLoss}``) on one batch of windows.

        Losses read standardised values (the window's own location and scale
        removed) unless they ask for original units; sample losses get
        differentiable draws from the quantile head.
        """
        z, state = self(context, mask)
        z = z.float()
        loc, sc = state.scale.loc.float(), state.scale.scale.float()  # (B, 1)
        z_true = (target.float() - loc) / sc
        naive = {}
        out = {}
        for name, loss in losses.items():
            kind = loss.output
            if kind == "point":
                pred = z[:, 0]
            elif kind == "quantiles":
                pred = z[:, 2:]
            elif kind == "gaussian":
                pred = z[:, :2]
            elif kind == "samples":
                pred = sample_from_quantiles(z[:, 2:], self.levels, loss.n_samples)
            else:
                raise ValueError(f"The patch network cannot train loss {name!r}.")
            tgt = z_true
            if loss.units == "original":
                shape = (-1,) + (1,) * (pred.dim() - 1)  # (B, H) or (B, K, H)
                pred = pred * sc.reshape(shape) + loc.reshape(shape)
                tgt = target.float()
            scale = None
            if loss.needs_scale:
                season = loss.season
                if season not in naive:
                    z_ctx = (context.float() - loc) / sc
                    naive[season] = seasonal_naive_scale(z_ctx, mask, season)
                scale = naive[season]
            out[name] = loss(pred, tgt, scale=scale, levels=self.levels)
        return out

    def forecast(self, context, mask):
        """Direct multi-step mean forecast ``(B, H)`` in original units."""
        z, state = self(context, mask)
        return self.tokenizer.decode(z[:, 0].float(), state)

    def forecast_quantiles(self, context, mask):
        """Quantile forecasts ``(B, Q, H)`` in original units, monotone in ``Q``."""
        z, state = self(context, mask)
        zq = z[:, 2:].float().sort(dim=1).values  # no crossing quantiles
        return zq * state.scale.scale[:, :, None] + state.scale.loc[:, :, None]
