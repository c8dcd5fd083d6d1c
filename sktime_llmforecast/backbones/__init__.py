"""Backbones: load, cache, truncate and freeze pretrained transformer models."""

from sktime_llmforecast.backbones._embedded import (
    EMBEDDED_NAME,
    embedded_available,
    embedded_gguf_path,
)
from sktime_llmforecast.backbones._loader import (
    BackboneSpec,
    cached_backbone_specs,
    clear_backbone_cache,
    load_backbone,
    load_text_tokenizer,
    resolve_backbone_spec,
    set_backbone_cache_size,
)
from sktime_llmforecast.backbones._shell import (
    FINETUNE_MODES,
    make_backbone_shell,
    trainable_parameter_names,
)

__all__ = [
    "EMBEDDED_NAME",
    "FINETUNE_MODES",
    "BackboneSpec",
    "cached_backbone_specs",
    "clear_backbone_cache",
    "embedded_available",
    "embedded_gguf_path",
    "load_backbone",
    "load_text_tokenizer",
    "make_backbone_shell",
    "resolve_backbone_spec",
    "set_backbone_cache_size",
    "trainable_parameter_names",
]
