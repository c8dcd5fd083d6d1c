"""Attention that reads a shared prefix once for all the paths that continue it.

Sampling ``S`` paths from one window repeats the window's keys and values ``S``
times in a plain cache, and every decoding step then reads all ``S`` copies: for
LLMTime digits at context 64 (about 400 window tokens against at most 144 of the
paths' own) that reading was a third of the sampling time. A cache whose layers
share the window (``kv_cache.share_prefix``) keeps it once per row; this attention
scores each row's ``S`` paths (and the query heads of each key/value head) against
the prefix in one matrix product, scores each path against its own entries, and
joins the two softmax parts by their log-sum-exp. It computes the same attention
as scaled dot-product attention over the concatenated keys (up to rounding).

:func:`share_prefix` turns a filled cache into a shared one where the backbone's
attention is SDPA (the default) and its cache is one of growing layers. It also
sets the backbone's attention implementation to this function (registered with
transformers' ``AttentionInterface`` as ``ATTENTION_NAME``, with SDPA's mask),
which runs SDPA itself wherever no shared cache is active: a setting that changes
nothing else, so it is never undone, and concurrent threads decoding with one
backbone cannot undo each other's. The decoding steps over a shared cache run
inside :func:`prefix_attention`, which makes that cache the active one for the
calling thread (a ``ContextVar``).
"""

from __future__ import annotations

import contextlib
import contextvars

import torch

from sktime_llmforecast.nn.kv_cache import GrowingLayer

try:
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
except ImportError:  # pragma: no cover - transformers before the attention interfaces
    AttentionInterface = None

#: the name this attention is registered under in transformers
ATTENTION_NAME = "sktime_llmforecast_prefix"

_CACHE = contextvars.ContextVar("sktime_llmforecast_prefix_cache", default=None)


def shared_prefix_attention(module, query, key, value, attention_mask, dropout=0.0,
                            scaling=None, **kwargs):
    """Attention of ``query (R * S, Hq, q, D)`` over a row's shared prefix
    ``(R, Hkv, P, D)`` and each path's own ``key``/``value (R * S, Hkv, L, D)``.

    Falls back to SDPA where the layer shares nothing. Returns ``(output
    (R * S, q, Hq, D), None)`` as transformers' attention functions do.
    """
    cache = _CACHE.get()
    layer = None
    if cache is not None and getattr(module, "layer_idx", None) is not None:
        layer = cache.layers[module.layer_idx]
    if layer is None or getattr(layer, "prefix_keys", None) is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask,
                                      dropout=dropout, scaling=scaling, **kwargs)
    if dropout or kwargs.get("softcap") is not None:
        raise NotImplementedError("shared-prefix attention has no dropout or softcap")
    prefix_k, prefix_v = layer.prefix_keys, layer.prefix_values
    rows, heads_kv, n_prefix, dim = prefix_k.shape
    paths, heads, q_len = layer.repeats, query.shape[1], query.shape[2]
    group = heads // heads_kv
    scale = dim ** -0.5 if scaling is None else scaling
    # queries grouped by key/value head: (R*S, Hkv, G*q, D), head h = hkv * G + g
    own_q = query.reshape(rows * paths, heads_kv, group * q_len, dim)
    # every path of a row against the row's prefix: (R, Hkv, S*G*q, D)
    prefix_q = own_q.reshape(rows, paths, heads_kv, group * q_len, dim).transpose(1, 2)
    prefix_q = prefix_q.reshape(rows, heads_kv, paths * group * q_len, dim)
    prefix_s = torch.matmul(prefix_q, prefix_k.transpose(-1, -2)).float() * scale
    own_s = torch.matmul(own_q, key.transpose(-1, -2)).float() * scale
    if attention_mask is not None:
        keep = (attention_mask if attention_mask.dtype == torch.bool
                else attention_mask > torch.finfo(attention_mask.dtype).min / 2)
        keep = keep.expand(rows * paths, 1, q_len, keep.shape[-1])
        prefix_keep = keep[::paths, :, None, :, :n_prefix].expand(
            rows, 1, paths * group, q_len, n_prefix).reshape(rows, 1, -1, n_prefix)
        own_keep = keep[:, :, None, :, n_prefix:].expand(
            rows * paths, 1, group, q_len, key.shape[2]).reshape(rows * paths, 1, -1,
                                                                key.shape[2])
        prefix_s = prefix_s.masked_fill(~prefix_keep, float("-inf"))
        own_s = own_s.masked_fill(~own_keep, float("-inf"))
    prefix_out, prefix_max, prefix_sum = _partial(prefix_s, prefix_v)
    own_out, own_max, own_sum = _partial(own_s, value)

    def as_paths(t):  # (R, Hkv, S*G*q, x) -> (R*S, Hkv, G*q, x)
        t = t.reshape(rows, heads_kv, paths, group * q_len, t.shape[-1]).transpose(1, 2)
        return t.reshape(rows * paths, heads_kv, group * q_len, t.shape[-1])

    prefix_out, prefix_max, prefix_sum = map(as_paths, (prefix_out, prefix_max, prefix_sum))
    top = torch.maximum(prefix_max, own_max)
    a, b = torch.exp(prefix_max - top), torch.exp(own_max - top)
    out = (prefix_out * a + own_out * b) / (prefix_sum * a + own_sum * b)
    out = out.to(query.dtype).reshape(rows * paths, heads, q_len, dim)
    return out.transpose(1, 2).contiguous(), None


def _partial(scores, values):
    """``(exp(scores - max) @ values, max, sum of exp)`` over the last axis (a fully
    masked row gives zeros and a max of ``-inf``)."""
    top = scores.amax(-1, keepdim=True)
    weights = torch.exp(scores - torch.where(torch.isfinite(top), top, 0.0))
    out = torch.matmul(weights.to(values.dtype), values).float()
    return out, top, weights.sum(-1, keepdim=True)


if AttentionInterface is not None:
    AttentionInterface.register(ATTENTION_NAME, shared_prefix_attention)
    AttentionMaskInterface.register(ATTENTION_NAME, sdpa_mask)


def _attention_configs(model):
    """The configs ``model``'s attention layers read their implementation from."""
    return {id(m.config): m.config for m in model.modules()
            if hasattr(m, "layer_idx") and hasattr(m, "config")}


def share_prefix(model, cache, repeats):
    """Continue every row of ``cache`` ``repeats`` times, its entries kept once as a
    shared prefix (``GrowingLayer.share_prefix``), for decoding inside
    :func:`prefix_attention`; ``model``'s attention layers are set to
    :func:`shared_prefix_attention` (SDPA wherever nothing is shared).

    Returns False, and leaves ``cache`` and ``model`` as they are, where that does
    not apply: a cache of other layers, or a model whose attention layers are not
    SDPA ones (eager, flash or a custom attention would read the paths' own
    entries only).
    """
    layers = getattr(cache, "layers", None)
    configs = _attention_configs(model)
    if (GrowingLayer is None or AttentionInterface is None or not layers or not configs
            or any(c._attn_implementation not in ("sdpa", ATTENTION_NAME)
                   for c in configs.values())
            or not all(type(layer) is GrowingLayer and layer.is_initialized
                       for layer in layers)):
        return False
    for config in configs.values():
        if config._attn_implementation != ATTENTION_NAME:
            config._attn_implementation = ATTENTION_NAME
    for layer in layers:
        layer.share_prefix(repeats)
    return True


@contextlib.contextmanager
def prefix_attention(cache):
    """Make ``cache`` the calling thread's active cache inside the block, where
    :func:`shared_prefix_attention` finds the shared prefixes of its layers."""
    token = _CACHE.set(cache)
    try:
        yield
    finally:
        _CACHE.reset(token)
