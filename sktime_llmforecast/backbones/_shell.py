"""Estimator-owned views of a cached backbone: truncation and freezing.

A *shell* is a structural copy of a cached model whose frozen tensors are shared with
the cache (no memory is duplicated) and whose trainable tensors are private copies.
Two estimators built on the same cached backbone therefore never see each other's
training, and the cached model itself is never modified.
"""

from __future__ import annotations

import copy

FINETUNE_MODES = ("frozen", "layernorm", "full", "lora")
_POSITION_EMBEDDING_NAMES = ("wpe", "position_embeddings", "embed_positions")


def _is_norm_module(module) -> bool:
    return "norm" in type(module).__name__.lower()


def trainable_parameter_names(model, finetune: str) -> set:
    """Names of ``model``'s parameters that ``finetune`` trains.

    Parameters
    ----------
    model : torch.nn.Module
    finetune : {"frozen", "layernorm", "full", "lora"}
        ``"frozen"``: none; ``"layernorm"``: normalisation layers and learned
        position embeddings (One-Fits-All); ``"full"``: every parameter;
        ``"lora"``: none of the existing ones (the adapters are added later, see
        :func:`add_lora`).

    Returns
    -------
    set of str

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LayerNorm(2))
    >>> sorted(trainable_parameter_names(net, "layernorm"))
    ['1.bias', '1.weight']
    """
    if finetune not in FINETUNE_MODES:
        raise ValueError(
            f"finetune must be one of {FINETUNE_MODES}, got {finetune!r}."
        )
    if finetune in ("frozen", "lora"):
        return set()
    if finetune == "full":
        return {name for name, _ in model.named_parameters()}
    names = set()
    for mod_name, module in model.named_modules():
        last = mod_name.rsplit(".", 1)[-1]
        if _is_norm_module(module) or last in _POSITION_EMBEDDING_NAMES:
            prefix = f"{mod_name}." if mod_name else ""
            names.update(prefix + p for p, _ in module.named_parameters(recurse=False))
    return names


def find_block_list(base_model):
    """Return ``(attribute_path, ModuleList)`` of the transformer blocks.

    The block list is the ``torch.nn.ModuleList`` whose length equals the config's
    ``num_hidden_layers`` (``h`` in GPT-2, ``layers`` in LLaMA, ``encoder.layer`` in
    BERT).
    """
    import torch

    n_total = base_model.config.num_hidden_layers
    for name, module in base_model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n_total:
            return name, module
    raise ValueError(
        f"Could not find the list of {n_total} transformer blocks in "
        f"{type(base_model).__name__}; pass n_layers=None for this architecture."
    )


def make_backbone_shell(model, n_layers=None, finetune="frozen", lora_rank=8,
                        lora_alpha=16):
    """Build an estimator-owned view of a cached (frozen, shared) model.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        The cached model, as returned by :func:`load_backbone`. Not modified.
    n_layers : int or None, default=None
        Keep only the first ``n_layers`` transformer blocks (None keeps all; 0 keeps
        none, leaving embeddings and final norm: the "LLM removed" ablation of
        Tan et al. 2024).
    finetune : {"frozen", "layernorm", "full", "lora"}, default="frozen"
        Which backbone parameters become trainable (private copies); ``"lora"``
        adds trainable low-rank adapters to the attention projections instead
        (peft), the backbone's own weights stay frozen and shared.
    lora_rank, lora_alpha : int, float
        Rank and scaling of the LoRA adapters (``finetune="lora"`` only).

    Returns
    -------
    shell : transformers.PreTrainedModel
        Same class as ``model``; frozen tensors shared with ``model``, trainable
        tensors copied and with ``requires_grad=True``.

    Examples
    --------
    >>> from sktime_llmforecast.backbones import (
    ...     load_backbone, make_backbone_shell, resolve_backbone_spec)
    >>> cfg = {"model_type": "gpt2", "n_layer": 3, "n_embd": 32, "n_head": 2}
    >>> cached = load_backbone(resolve_backbone_spec(cfg))
    >>> shell = make_backbone_shell(cached, n_layers=1, finetune="layernorm")
    >>> len(shell.base_model.h), len(cached.base_model.h)
    (1, 3)
    """
    trainable = trainable_parameter_names(model, finetune)
    memo = {}
    for name, param in model.named_parameters():
        if name not in trainable:
            memo[id(param)] = param  # shared, never copied
    for _, buf in model.named_buffers():
        memo[id(buf)] = buf
    if n_layers is not None:
        _check_n_layers(model, n_layers)
        _, blocks = find_block_list(model.base_model)
        for block in blocks[n_layers:]:  # cut from the shell below: never copied
            memo[id(block)] = block
    shell = copy.deepcopy(model, memo)
    if n_layers is not None:  # before any flag is set: the cut blocks are the cache's
        _truncate(shell, n_layers)
    for name, param in shell.named_parameters():
        param.requires_grad_(name in trainable)
    if finetune == "lora":
        from sktime_llmforecast.backbones._lora import add_lora

        shell = add_lora(shell, lora_rank, lora_alpha)
    shell.eval()
    return shell


def _check_n_layers(model, n_layers):
    n_total = model.base_model.config.num_hidden_layers
    if not isinstance(n_layers, int) or isinstance(n_layers, bool) or n_layers < 0:
        raise ValueError(
            f"n_layers must be a non-negative int or None, got {n_layers!r}."
        )
    if n_layers > n_total:
        raise ValueError(
            f"n_layers={n_layers} exceeds the backbone's {n_total} layers; use at "
            f"most {n_total} or None."
        )


def _truncate(shell, n_layers):
    import torch

    base = shell.base_model
    path, blocks = find_block_list(base)
    parent = base.get_submodule(path.rsplit(".", 1)[0]) if "." in path else base
    setattr(parent, path.rsplit(".", 1)[-1], torch.nn.ModuleList(blocks[:n_layers]))
    config = shell.config
    config.num_hidden_layers = n_layers
    # a stored per-block list is cut too; a derived one (a property without a
    # setter, e.g. Mamba's) follows num_hidden_layers by itself
    derived = getattr(type(config), "layer_types", None)
    layer_types = getattr(config, "layer_types", None)
    if isinstance(layer_types, list) and not (
            isinstance(derived, property) and derived.fset is None):
        config.layer_types = layer_types[:n_layers]
