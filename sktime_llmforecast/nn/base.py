"""The network contract, and the backbone part every network shares.

Every network kind (patch, token, zero-shot) is a :class:`BackboneNetwork` with the
same methods:

* ``loss_terms(batch, losses) -> {name: scalar}``: the training losses of one
  :class:`Batch` of windows;
* ``predict(context, mask, sampling, greedy) -> NetworkForecast``: one block of
  ``horizon`` steps in original units: a mean, quantiles and/or samples.

``nn.registry`` maps a configuration to its class; callers never branch on the
kind. Tensors only: no pandas in here. Pickling keeps the trained tensors (safetensors bytes)
and the backbone *reference* (its spec), never the frozen backbone weights; unpickling
rebuilds the network and takes the backbone from the per-process cache (or loads it
from disk: the embedded GGUF file, or a config; never a download).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from safetensors.torch import load, save

from sktime_llmforecast.backbones import load_backbone, load_text_tokenizer, make_backbone_shell
from sktime_llmforecast.nn.config import NetworkConfig, SamplingConfig


class Batch(NamedTuple):
    """One batch of training windows as tensors.

    ``context (B, L)`` float64, ``mask (B, L)`` bool (False at padding) and
    ``target (B, H)`` float64.
    """

    context: torch.Tensor
    mask: torch.Tensor
    target: torch.Tensor


@dataclass
class NetworkForecast:
    """What one ``predict`` pass gives, in original units (None: not produced).

    Attributes
    ----------
    mean : tensor or array, shape (B, H), or None
        The mean head (patch) or greedy decoding (token, zero-shot).
    quantiles : tensor or array, shape (B, Q, H), or None
        The quantile head at ``config.quantile_levels``, monotone in ``Q`` (patch).
    samples : tensor or array, shape (B, S, H), or None
        Sampled paths (token, zero-shot).
    counts : dict or None
        Zero-shot repairs, ``{"repaired": int, "dropped": int}`` (None: the
        network repairs nothing).
    """

    mean: object = None
    quantiles: object = None
    samples: object = None
    counts: dict = None

    def to_numpy(self):
        """The same forecast with float64 numpy arrays."""
        def conv(t):
            return None if t is None else t.double().cpu().numpy()

        counts = None if self.counts is None else dict(self.counts)
        return NetworkForecast(conv(self.mean), conv(self.quantiles), conv(self.samples),
                               counts)

    @staticmethod
    def concat(parts):
        """Row-wise concatenation of numpy forecasts (counts are summed)."""
        def cat(name):
            arrays = [getattr(p, name) for p in parts]
            return None if arrays[0] is None else np.concatenate(arrays, axis=0)

        counts = None
        if parts[0].counts is not None:
            counts = {k: sum(p.counts[k] for p in parts) for k in ("repaired", "dropped")}
        return NetworkForecast(cat("mean"), cat("quantiles"), cat("samples"), counts)


#: causal decoders whose positions are rotary only (no absolute position table)
CAUSAL_ROTARY_MODEL_TYPES = frozenset({"llama", "mistral", "qwen2", "qwen3"})


def causal_rotary(config):
    """Whether a backbone config is a causal decoder with rotary positions only."""
    return getattr(config, "model_type", None) in CAUSAL_ROTARY_MODEL_TYPES


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
    tok = load_text_tokenizer(spec)
    if tok is None:
        return [b % vocab_size for b in text.encode("utf-8")]
    return list(tok(text, add_special_tokens=False).input_ids)


class BackboneNetwork(nn.Module):
    """The network contract, with the backbone shell, its state and pickling.

    Subclasses set ``kind`` and ``outputs`` (the output kinds losses may read:
    ``"point"``, ``"quantiles"``, ``"gaussian"``, ``"samples"``, ``"tokens"``),
    build their interface and head, and implement :meth:`loss_terms` and
    :meth:`predict`.
    """

    kind = None
    outputs = frozenset()
    #: whether :meth:`head_input` and ``loss_terms(..., head_input=)`` exist, so that
    #: training the head alone can compute the head's input once per window
    caches_head_input = False
    #: whether training predicts every target value from the true values before it
    #: (teacher forcing), so that windows sharing a target teach nearly the same
    #: thing and an epoch needs each target once (``WindowSet.one_per_target``)
    teacher_forced = False

    def loss_terms(self, batch: Batch, losses):  # pragma: no cover - abstract
        """Each loss of ``losses`` (``{name: ForecastLoss}``) on ``batch``.

        Returns ``{name: scalar tensor}``.
        """
        raise NotImplementedError

    def predict(self, context, mask, sampling: SamplingConfig = SamplingConfig(),
                greedy=False, n_values=None):  # pragma: no cover - abstract
        """Forecast ``horizon`` steps after each row of ``context (B, L)``.

        ``greedy=True`` asks for a deterministic ``mean``; otherwise sampling
        networks draw ``sampling.num_samples`` paths. ``n_values`` (None, or more
        than ``horizon``: ``horizon``): the steps the caller needs; a network
        that decodes value by value (token networks) stops there, the others
        forecast their whole head. Returns a :class:`NetworkForecast` of tensors.
        """
        raise NotImplementedError

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

    @property
    def backbone_dtype(self):
        """Storage dtype of the backbone's weights (float32 when it holds none)."""
        return next(self.backbone.parameters(), torch.empty(0)).dtype

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

    def _shared_padding(self, attention, with_gradients=False):
        """Leading token columns of ``attention (B, T)`` that are padding in every
        row and may be left out of a forward pass (0: run them all).

        A causal backbone with rotary positions (Llama and kin) gives the later
        tokens the same hidden states without them: no token attends to padding,
        and rotary attention depends on relative positions only. Not with a prompt
        prefix (its distance to the series would change), and only without
        gradients (prediction, validation scores, calibration) unless
        ``with_gradients``: a caller that reads no hidden state of the padding
        itself gets the same gradients too. A short series in a long context then
        costs its own tokens rather than the whole context.
        """
        if (torch.is_grad_enabled() and not with_gradients) or self.n_prompt_tokens \
                or not causal_rotary(self.backbone.config):
            return 0
        padded = (~attention.bool()).all(dim=0)
        lead = int(torch.cumprod(padded.long(), dim=0).sum())
        return lead if lead < attention.shape[1] else 0

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
            inputs_embeds=emb.to(self.backbone_dtype),
            attention_mask=attention_mask.long(),
            **kwargs,
        )
        return out

    # -------------------------------------------------------------- parameters
    @property
    def head_only_trainable(self):
        """Whether every parameter that trains belongs to the head (the interface
        and the backbone frozen), so the head's input depends on the data alone."""
        names = [n for n, p in self.named_parameters() if p.requires_grad]
        return bool(names) and all(n.startswith("head.") for n in names)

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


