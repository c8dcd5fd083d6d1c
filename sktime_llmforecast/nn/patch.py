"""Patch networks: patches of values through a (mostly frozen) backbone to a direct
multi-step forecast (One-Fits-All style)."""

from __future__ import annotations

import torch

from sktime_llmforecast.heads import FlattenHead
from sktime_llmforecast.interfaces import build_interface
from sktime_llmforecast.losses import sample_from_quantiles, seasonal_naive_scale
from sktime_llmforecast.nn.base import BackboneNetwork, Batch, NetworkForecast
from sktime_llmforecast.nn.config import NetworkConfig, SamplingConfig


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
    context's own scaling held in ``state``. ``predict`` gives the mean ``(B, H)``
    and the quantiles ``(B, Q, H)`` in original units from one forward pass; it
    never samples.
    """

    kind = "patch"
    outputs = frozenset({"point", "quantiles", "gaussian", "samples"})
    caches_head_input = True

    def __init__(self, config: NetworkConfig, tokenizer):
        super().__init__(config, tokenizer)
        d_model = self.d_model
        self.resample = config.interface == "resampler"
        n_tokens = config.n_queries if self.resample else tokenizer.n_patches(config.context_length)
        self.n_tokens = n_tokens
        self._check_positions(
            n_tokens,
            "use interface='resampler' (n_queries tokens whatever the history), longer "
            "patches or a shorter context_length.",
        )
        self.n_outputs = 2 + len(config.quantile_levels)  # mean, log-sd, quantiles
        self.interface = build_interface(
            config.interface, tokenizer.patch_len, d_model, n_queries=config.n_queries
        )
        self.head = FlattenHead(
            n_tokens, d_model, config.horizon * self.n_outputs, config.head_dropout,
            width=config.head_width,
        )
        self.register_buffer(
            "levels",
            torch.tensor(config.quantile_levels, dtype=torch.float32),
            persistent=False,
        )

    # -------------------------------------------------------------- forward
    def forward(self, context, mask):
        """Forecast standardised values; see the class docstring for shapes."""
        hidden, state = self.head_input(context, mask)
        return self._head(hidden), state

    def head_input(self, context, mask):
        """The backbone's hidden states of the series tokens ``(B, n_tokens, D)``,
        the head's input, and the tokenizer state of ``context``."""
        patches, state = self.tokenizer.encode(context, mask)  # (B, P, patch_len)
        patches = patches.to(self.head.proj.weight.dtype)
        if self.resample:  # (B, n_queries, D) whatever P
            emb = self.interface(patches, state.patch_mask)
            attention = torch.ones(emb.shape[:2], dtype=torch.bool, device=emb.device)
        else:
            emb = self.interface(patches)  # (B, P, D)
            attention = state.patch_mask
        emb, attention = self._with_prompt(emb, attention)
        lead = self._shared_padding(attention)
        if lead:
            hidden = self._hidden_after_padding(emb, attention, lead)
        else:
            hidden = self._run_backbone(emb, attention).last_hidden_state
        return hidden[:, -self.n_tokens :].to(emb.dtype), state

    def _shared_padding(self, attention, with_gradients=False):
        """The base rule (``BackboneNetwork._shared_padding``), never with the
        resampler (its queries read every patch). The padding tokens' own hidden
        states, which the flatten head reads, are computed once
        (``_hidden_after_padding``)."""
        if self.resample:
            return 0
        return super()._shared_padding(attention, with_gradients)

    def _hidden_after_padding(self, emb, attention, lead):
        """The backbone's last hidden states with the first ``lead`` (padding)
        columns run once, as one token, and the rest as they are."""
        # the padding token as it is in a full run: masked, before a visible token
        pad = emb[:1, :1].expand(1, 2, -1)
        seen = torch.tensor([[False, True]], device=emb.device)
        pad_hidden = self._run_backbone(pad, seen).last_hidden_state[:, :1]
        rest = self._run_backbone(emb[:, lead:], attention[:, lead:]).last_hidden_state
        return torch.cat([pad_hidden.expand(len(emb), lead, -1), rest], dim=1)

    def _head(self, hidden):
        return self.head(hidden).reshape(len(hidden), self.n_outputs, -1)  # (B, 2+Q, H)

    def loss_terms(self, batch: Batch, losses, head_input=None):
        """Each loss of ``losses`` (``{name: ForecastLoss}``) on one batch of windows.

        Losses read standardised values (the window's own location and scale
        removed) unless they ask for original units; sample losses get
        differentiable draws from the quantile head. A target shorter than the
        horizon trains the head's first steps only. ``head_input``: the batch's
        :meth:`head_input` hidden states computed earlier (the interface and the
        backbone frozen), so only the head runs. Missing targets (NaN) are left
        out of every loss.
        """
        context, mask, target = batch
        target_mask = None
        seen = torch.isfinite(target)
        if not bool(seen.all()):
            target_mask = seen[..., : target.shape[-1]]
            target = torch.where(seen, target, torch.zeros_like(target))
        if head_input is None:
            z, state = self(context, mask)
        else:
            _, state = self.tokenizer.encode(context, mask)  # the scaling only
            z = self._head(head_input.to(self.head.proj.weight.dtype))
        z = z[..., : target.shape[-1]].float()  # targets may cover the first steps only
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
            out[name] = loss(pred, tgt, mask=target_mask, scale=scale, levels=self.levels)
        return out

    def predict(self, context, mask, sampling: SamplingConfig = SamplingConfig(),
                greedy=False, n_values=None):
        """The mean ``(B, H)`` and quantiles ``(B, Q, H)``, monotone in ``Q``, in
        original units (``sampling``, ``greedy`` and ``n_values`` do not apply:
        nothing is drawn, and the head forecasts all ``H`` steps at once)."""
        z, state = self(context, mask)
        mean = self.tokenizer.decode(z[:, 0].float(), state)
        zq = z[:, 2:].float().sort(dim=1).values  # no crossing quantiles
        quantiles = zq * state.scale.scale[:, :, None] + state.scale.loc[:, :, None]
        return NetworkForecast(mean=mean, quantiles=quantiles)
