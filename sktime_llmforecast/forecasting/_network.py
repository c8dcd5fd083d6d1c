"""The torch module that composes tokenizer -> interface -> backbone -> head.

Tensors only: no pandas in here. Pickling keeps the trained tensors (safetensors bytes)
and the backbone *reference* (its spec), never the frozen backbone weights; unpickling
rebuilds the network and takes the backbone from the per-process cache (or loads it
from disk: the embedded GGUF file, or a config; never a download).
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
    lora_rank: int = 8
    lora_alpha: float = 16.0
    interface: str = "linear"
    context_length: int = 64
    horizon: int = 12
    head_dropout: float = 0.0
    quantile_levels: tuple = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)
    n_queries: int = 16
    prompt: str | None = None
    n_demonstrations: int = 0


def max_positions(config):
    """The backbone's context size in tokens, or None when it has no fixed one."""
    for name in ("max_position_embeddings", "n_positions", "n_ctx"):
        val = getattr(config, name, None)
        if isinstance(val, int) and val > 0:
            return val
    return None


def prompt_token_ids(text, spec, vocab_size):
    """Token ids of a text prompt in the backbone's own vocabulary.

    The backbone's text tokenizer where it has one; for randomly initialised
    config backbones (no tokenizer) the UTF-8 bytes modulo ``vocab_size``.
    """
    from sktime_llmforecast.backbones import load_text_tokenizer

    tok = load_text_tokenizer(spec)
    if tok is None:
        return [b % vocab_size for b in text.encode("utf-8")]
    return list(tok(text, add_special_tokens=False).input_ids)


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
        self.backbone = self._build_backbone()
        ids = []
        if config.prompt:
            ids = prompt_token_ids(config.prompt, config.spec, self.backbone.config.vocab_size)
        self.register_buffer("prompt_ids", torch.tensor(ids, dtype=torch.long), persistent=False)

    def _build_backbone(self):
        c = self.config
        model = load_backbone(c.spec)
        n_layers = c.n_layers
        if n_layers is not None:  # "at most n_layers": small backbones keep all
            n_layers = min(n_layers, model.config.num_hidden_layers)
        return make_backbone_shell(model, n_layers, c.finetune, c.lora_rank, c.lora_alpha)

    @property
    def d_model(self):
        """Hidden size of the backbone."""
        return self.backbone.config.hidden_size

    def _backbone_dtype(self):
        return next(self.backbone.parameters()).dtype

    @property
    def n_prompt_tokens(self):
        """Tokens of the text prompt placed before the series tokens (0: none)."""
        return int(self.prompt_ids.numel())

    def _with_prompt(self, emb, attention_mask):
        """Prepend the prompt's embeddings (the backbone's own, frozen) and mask.

        Time-LLM's prompt-as-prefix: ``(B, T, D)`` becomes ``(B, T_p + T, D)``.
        """
        if not self.n_prompt_tokens:
            return emb, attention_mask
        table = self.backbone.get_input_embeddings()
        prefix = table(self.prompt_ids).to(emb.dtype)[None].expand(len(emb), -1, -1)
        ones = torch.ones(len(emb), self.n_prompt_tokens, dtype=attention_mask.dtype,
                          device=attention_mask.device)
        return torch.cat([prefix, emb], 1), torch.cat([ones, attention_mask], 1)

    def _check_positions(self, n_tokens, fix):
        limit = max_positions(self.backbone.config)
        need = n_tokens + self.n_prompt_tokens
        if limit is not None and need > limit:
            prompt = f" (with {self.n_prompt_tokens} prompt tokens)" if self.n_prompt_tokens else ""
            raise ValueError(
                f"The backbone sees {need} tokens{prompt}, beyond its {limit} "
                f"positions; {fix}"
            )

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
        return [p for p in self.parameters() if p.requires_grad]

    def trainable_state(self):
        """Detached copies of the trainable tensors, keyed by parameter name."""
        return {
            n: p.detach().clone() for n, p in self.named_parameters() if p.requires_grad
        }

    def load_trainable_state(self, state):
        """Copy tensors from :meth:`trainable_state` back in place."""
        params = dict(self.named_parameters())
        with torch.no_grad():
            for name, tensor in state.items():
                params[name].copy_(tensor)

    # -------------------------------------------------------------- pickling
    def saved_weights(self):
        """The weights that pickling stores, as safetensors bytes.

        Everything in the state dict except the frozen backbone weights (those
        are rebuilt from the backbone spec): interface, head, persistent buffers,
        and whatever of the backbone trains (norms, LoRA adapters, or all of it).
        """
        from safetensors.torch import save

        frozen = {  # tied weights (e.g. lm_head = embeddings) under every name
            p.data_ptr()
            for _, p in self.backbone.named_parameters(remove_duplicate=False)
            if not p.requires_grad
        }
        out, seen = {}, set()
        for name, tensor in self.state_dict().items():
            if name.startswith("backbone.") and tensor.data_ptr() in frozen:
                continue
            if tensor.data_ptr() in seen and tensor.numel():  # tied weights: once
                continue
            seen.add(tensor.data_ptr())
            out[name] = tensor.detach().cpu().contiguous()
        return save(out)

    def load_saved_weights(self, blob):
        """Load :meth:`saved_weights` output; every stored tensor must fit."""
        from safetensors.torch import load

        state = load(blob)
        result = self.load_state_dict(state, strict=False)
        if result.unexpected_keys:
            raise ValueError(
                "The saved weights do not fit this network (unexpected "
                f"{result.unexpected_keys[:5]}); was it saved with another version?"
            )

    def __reduce_ex__(self, protocol):
        # architecture from (class, config, tokenizer); backbone from its spec (the
        # per-process cache, never a download); trained tensors in safetensors
        return (
            _rebuild_network,
            (type(self), self.config, self.tokenizer, self.saved_weights(), self.training),
        )


def _rebuild_network(cls, config, tokenizer, blob, training):
    """Unpickle a network: rebuild, then load its saved weights (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        net = cls(config, tokenizer)
    net.load_saved_weights(blob)
    return net.train(training)


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
        patches, state = self.tokenizer.encode(context, mask)  # (B, P, patch_len)
        patches = patches.to(self.head.proj.weight.dtype)
        if self.resample:  # (B, n_queries, D) whatever P
            emb = self.interface(patches, state.patch_mask)
            attention = torch.ones(emb.shape[:2], dtype=torch.bool, device=emb.device)
        else:
            emb = self.interface(patches)  # (B, P, D)
            attention = state.patch_mask
        emb, attention = self._with_prompt(emb, attention)
        out = self._run_backbone(emb, attention)
        hidden = out.last_hidden_state[:, -self.n_tokens :].to(emb.dtype)  # series tokens
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
