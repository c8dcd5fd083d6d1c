"""Pretrain a forecaster's learnable parts on the synthetic corpus; write an adapter."""

from __future__ import annotations

import math
import platform
from dataclasses import replace

import numpy as np
import torch

from sktime_llmforecast.losses import LossSwitcher
from sktime_llmforecast.nn import build_network, run_batched, save_adapter
from sktime_llmforecast.pretraining.corpus import validation_windows
from sktime_llmforecast.pretraining.distributed import data_parallel_from_environment
from sktime_llmforecast.pretraining.synthetic import (
    GENERATOR_VERSION,
    SyntheticSeriesGenerator,
)
from sktime_llmforecast.pretraining.throughput import processor
from sktime_llmforecast.pretraining.trainer import PretrainConfig, pretrain_network
from sktime_llmforecast.tokenizers import (
    PatchTokenizer,
    TokenizerSwitcher,
    masked_standardize,
)

#: the pretraining objective: the mean head by MSE, the quantile head by quantile CRPS
PRETRAIN_LOSSES = ("mse", "crps_quantile")


def pretrain_adapter(forecaster, out, config=None, generator=None, checkpoint_dir=None,
                     resume=False, losses=PRETRAIN_LOSSES, data_parallel=None):
    """Pretrain ``forecaster``'s network on synthetic series and save the adapter.

    The backbone stays as ``forecaster.finetune`` says (frozen by default); the
    interface and head (and numeric embeddings for token tokenizers) train across
    the generator's series, every batch drawn fresh. The result loads with
    ``LLMForecaster(pretrained=out, ...)`` given the same architecture settings.

    Parameters
    ----------
    forecaster : LLMForecaster
        Gives the architecture (backbone, ``n_layers``, tokenizer, interface,
        ``context_length``, ``prediction_length``, quantile levels); its
        ``pretrained`` is ignored (pretraining starts from scratch) and
        ``tokenizer="auto"`` means ``PatchTokenizer()``. Not modified.
    out : str or Path
        Adapter stem: ``out.safetensors`` and ``out.json`` are written.
    config : PretrainConfig, optional
        Steps, time budget, optimiser, seed (default ``PretrainConfig()``).
    generator : SyntheticSeriesGenerator, optional
        The corpus (default ``SyntheticSeriesGenerator()``).
    checkpoint_dir : str or Path, optional
        Write resumable checkpoints here.
    resume : bool, default=False
        Continue from the checkpoint in ``checkpoint_dir``.
    losses : tuple of str, default=("mse", "crps_quantile")
        Training losses, coupled with fixed weights.
    data_parallel : DataParallel, optional
        This process's place in a data-parallel run; None reads it from the
        environment that ``torchrun`` or ``accelerate launch`` sets (no
        ``WORLD_SIZE``: one process). Each process trains on its shard of every
        batch (``batch_size`` must split evenly) on ``cuda:LOCAL_RANK`` or the CPU,
        and only the main process writes checkpoints and the adapter.

    Returns
    -------
    card : dict or None
        The adapter card (also written to ``out.json``); None on the other
        processes of a data-parallel run.

    Examples
    --------
    >>> import tempfile, os
    >>> from sktime_llmforecast import LLMForecaster
    >>> from sktime_llmforecast.pretraining import PretrainConfig, pretrain_adapter
    >>> tiny = {"model_type": "gpt2", "n_layer": 1, "n_embd": 32, "n_head": 2,
    ...         "vocab_size": 16, "bos_token_id": 0, "eos_token_id": 0}
    >>> f = LLMForecaster(backbone=tiny, pretrained=None, context_length=32)
    >>> out = os.path.join(tempfile.mkdtemp(), "tiny")
    >>> card = pretrain_adapter(f, out, PretrainConfig(steps=3, n_validation=16,
    ...                                                 progress=False))
    >>> card["pretraining"]["steps_run"]
    3
    """
    config = PretrainConfig() if config is None else config
    generator = SyntheticSeriesGenerator() if generator is None else generator
    config.check()
    generator._check()
    if forecaster.mode != "trained":
        raise ValueError("Only mode='trained' forecasters have weights to pretrain.")
    f = forecaster.clone().set_params(pretrained=None, random_state=int(config.seed),
                                      device=config.device)
    tok = f.tokenizer
    if isinstance(tok, TokenizerSwitcher):
        raise ValueError(
            "Pretraining needs one fixed tokenizer, not a TokenizerSwitcher; pass e.g. "
            "tokenizer=PatchTokenizer() ('auto' and None mean PatchTokenizer())."
        )
    if tok is None or (isinstance(tok, str) and tok == "auto"):
        f.set_params(tokenizer=PatchTokenizer())
    plan = f.plan()  # validated; horizon: prediction_length or context_length // 4
    dp = data_parallel_from_environment(plan.device) if data_parallel is None \
        else data_parallel
    dp.shard(config.batch_size)  # a batch that does not split evenly: ValueError
    device = dp.device(plan.device)  # "auto" -> "cuda" or "cpu"; cuda:LOCAL_RANK
    config = replace(config, device=device)
    horizon = plan.network.horizon
    net = build_network(plan.kind, plan.network, plan.tokenizer, plan.seed, device)
    val = validation_windows(generator, 64, net.config.context_length, horizon, config.seed)
    switcher = LossSwitcher(losses=list(losses), coupling="fixed").fit(
        list(val.context), token_output="tokens" in net.outputs
    )
    objective = switcher.make_objective(net.outputs, net.config.context_length)
    history = pretrain_network(net, objective, generator, config,
                               checkpoint_dir=checkpoint_dir, resume=resume,
                               data_parallel=dp)
    if not dp.is_main:
        return None
    last = {k[4:]: v[-1] for k, v in history.items() if k.startswith("val_") and v}
    pretraining = {
        "generator": {"class": type(generator).__name__, "version": GENERATOR_VERSION,
                      "params": generator.get_params(deep=False)},
        "seed": config.seed,
        "steps": config.steps,
        "steps_run": history["steps_run"],
        "stopped": history["stopped"],
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "weight_decay": config.weight_decay,
        "warmup_steps": config.warmup_steps,
        "losses": list(objective.names),
        "device": config.device,
        "seconds": round(float(history["seconds"]), 1),
        "machine": f"{platform.machine()} ({processor()}), "
                   f"{history['throughput']['threads']} torch threads"
                   + (f" per process, {dp.world_size} processes" if dp.active else ""),
        "torch": torch.__version__,
        "backbone_dtype": str(net.backbone_dtype).replace("torch.", ""),
        "throughput": history["throughput"],
    }
    mae = last.get("probe_mae")
    if mae is None:  # a token network: its greedy forecasts on the same windows
        mae = decoded_mae_standardised(
            net, validation_windows(generator, config.n_validation,
                                    net.config.context_length, horizon, config.seed),
            device)
    validation = {
        "windows": config.n_validation,
        "seed_stream": "validation stream of the pretraining seed",
        "loss": last.get("loss"),
        "mae_standardised": mae,
        **{name: value for name, value in last.items() if name not in ("loss", "probe_mae")},
        "history": {"step": history["step"], "train_loss": history["train_loss"],
                    "val_loss": history["val_loss"]},
    }
    return save_adapter(net, out, pretraining=pretraining, validation=validation)


def decoded_mae_standardised(net, windows, device="cpu"):
    """Mean absolute error of ``net``'s point forecasts on ``windows``, in units of
    each window's context standard deviation (``masked_standardize``'s scale).

    The yardstick a patch adapter's card records from its mean head
    (``validation.mae_standardised``), computed for a token network from its greedy
    decoding, so that every card states one comparable error.

    Parameters
    ----------
    net : BackboneNetwork
        A patch or token network.
    windows : ArrayWindows
        Context, mask and target of the validation windows.
    device : str, default="cpu"

    Returns
    -------
    float
        ``inf`` when a forecast is not finite.
    """
    context, mask, target = windows.context, windows.mask, windows.target
    net.eval()
    out = run_batched(lambda c, m: net.predict(c, m, greedy=True), context, mask, device)
    _, state = masked_standardize(torch.as_tensor(context), torch.as_tensor(mask))
    steps = min(out.mean.shape[1], target.shape[1])
    err = np.abs(out.mean[:, :steps] - target[:, :steps]) / state.scale.numpy()
    return float(err.mean()) if np.isfinite(err).all() else math.inf
