"""LoRA adapters (through peft) on a backbone shell."""

from __future__ import annotations

#: attention projections that get adapters, per architecture (peft's defaults)
_FAN_IN_FAN_OUT = {"gpt2"}  # GPT-2 stores its projections as Conv1D (in, out)


def lora_target_modules(model):
    """Names of the modules that get LoRA adapters in ``model``.

    The query and value projections of every attention block, as in Hu et al.
    (2021) and peft's defaults per ``model_type`` (``c_attn`` for GPT-2,
    ``q_proj``/``v_proj`` for LLaMA-style models, ``query``/``value`` for BERT).

    Examples
    --------
    >>> from sktime_llmforecast.backbones import load_backbone, resolve_backbone_spec
    >>> cfg = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
    ...        "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 16}
    >>> lora_target_modules(load_backbone(resolve_backbone_spec(cfg)))
    ['q_proj', 'v_proj']
    """
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as MAP

    model_type = getattr(model.config, "model_type", "")
    if model_type not in MAP:
        raise ValueError(
            f"finetune='lora' does not know which modules to adapt in a "
            f"{model_type!r} backbone; use finetune='layernorm' or 'full'."
        )
    return sorted(MAP[model_type])


def add_lora(shell, rank=8, alpha=16, dropout=0.0):
    """Inject LoRA adapters into ``shell`` in place; only they train.

    Parameters
    ----------
    shell : transformers.PreTrainedModel
        An estimator-owned shell (its modules are private, its frozen tensors
        shared with the cache, which therefore never sees the adapters).
    rank : int, default=8
        Rank ``r`` of each adapter.
    alpha : float, default=16
        Scaling numerator: the update is ``(alpha / r) B A x``.
    dropout : float, default=0.0

    Returns
    -------
    shell
        With ``lora_A``/``lora_B`` parameters (``requires_grad=True``), every
        other parameter frozen. ``B`` starts at zero, so the shell computes
        exactly what the frozen backbone computes until it trains.
    """
    from peft import LoraConfig, inject_adapter_in_model

    if not (isinstance(rank, int) and rank >= 1):
        raise ValueError(f"lora_rank must be a positive int, got {rank!r}.")
    if not alpha > 0:
        raise ValueError(f"lora_alpha must be > 0, got {alpha!r}.")
    if shell.config.num_hidden_layers == 0:
        raise ValueError(
            "finetune='lora' adapts the transformer blocks, but n_layers=0 keeps "
            "none; use n_layers >= 1 or finetune='frozen'."
        )
    targets = lora_target_modules(shell)
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=targets,
        bias="none",
        fan_in_fan_out=shell.config.model_type in _FAN_IN_FAN_OUT,
    )
    shell = inject_adapter_in_model(config, shell)
    for name, param in shell.named_parameters():
        param.requires_grad_("lora_" in name)
    return shell
