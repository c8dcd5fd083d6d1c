"""Step-based pretraining loop with resumable checkpoints and a time budget."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from sktime_llmforecast.nn import (
    check_float,
    check_int,
    checkpoint_identity,
    evaluate_losses,
    load_checkpoint,
    probe_losses,
    rng_devices,
    save_checkpoint,
    train_step,
)
from sktime_llmforecast.pretraining.corpus import step_batch, validation_windows
from sktime_llmforecast.pretraining.distributed import DataParallel, shard_arrays
from sktime_llmforecast.pretraining.throughput import (
    available_cores,
    backbone_tokens,
    matmul_peak_gflops,
    step_flops,
    torch_threads,
)

# settings that must agree between a checkpoint and the run that resumes it (steps
# too: the learning-rate schedule is laid out over them)
_RESUME_KEYS = ("steps", "batch_size", "learning_rate", "weight_decay", "warmup_steps",
                "seed", "n_validation")


@dataclass(frozen=True)
class PretrainConfig:
    """Budget and optimisation settings of a pretraining run.

    Parameters
    ----------
    steps : int, default=10000
        Optimiser steps (the learning-rate schedule is laid out over them).
    max_minutes : float or None, default=None
        Stop earlier once this much wall time has passed (the card records the
        steps actually run).
    batch_size : int, default=32
        Windows per step, each drawn fresh from the generator.
    learning_rate : float, default=1e-3
        Peak AdamW learning rate: linear warm-up, then cosine decay to 10 %.
    weight_decay : float, default=1e-4
    warmup_steps : int, default=50
    seed : int, default=0
        Seeds the corpus (batch of step ``s`` is drawn from ``(seed, s)``) and the
        initialisation.
    n_validation : int, default=256
        Fixed synthetic validation windows (their own seed stream).
    eval_every : int, default=500
        Steps between validation passes (and the last step).
    checkpoint_every : int, default=100
        Steps between checkpoints (and the last step), when a folder is given.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"`` (bf16 autocast) or ``"auto"`` (``pretrain_adapter``
        resolves it to CUDA when available).
    threads : int or None, default=None
        Intra-op torch threads of the run (None: every core the process may use).
        Results are reproducible bit for bit for the same thread count.
    progress : bool, default=True
        Show a tqdm progress bar.

    Examples
    --------
    >>> from sktime_llmforecast.pretraining import PretrainConfig
    >>> config = PretrainConfig(steps=200, max_minutes=5, seed=1)  # checked when made
    >>> config.batch_size, config.warmup_steps
    (32, 50)
    """

    steps: int = 10000
    max_minutes: float | None = None
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    seed: int = 0
    n_validation: int = 256
    eval_every: int = 500
    checkpoint_every: int = 100
    device: str = "cpu"
    threads: int | None = None
    progress: bool = True

    def __post_init__(self):
        self.check()

    def check(self):
        """Raise ``ValueError`` (out of range) or ``TypeError`` (wrong type) for
        settings that cannot run (also run when made)."""
        for name in ("steps", "batch_size", "n_validation", "eval_every", "checkpoint_every"):
            check_int(name, getattr(self, name))
        check_int("warmup_steps", self.warmup_steps, minimum=0)
        check_int("seed", self.seed, minimum=0)
        if self.threads is not None:
            check_int("threads", self.threads)
        check_float("learning_rate", self.learning_rate)
        check_float("weight_decay", self.weight_decay)
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}.")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}.")
        if self.max_minutes is not None:
            check_float("max_minutes", self.max_minutes)
            if not self.max_minutes > 0:
                raise ValueError(f"max_minutes must be > 0 or None, got {self.max_minutes!r}.")
        dev = str(self.device)
        if not (dev in ("cpu", "cuda", "auto") or dev.startswith("cuda:")):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {self.device!r}.")


def learning_rate_factor(step, steps, warmup):
    """Linear warm-up over ``warmup`` steps, then cosine decay to 10 % at ``steps``."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def pretrain_network(net, objective, generator, config: PretrainConfig,
                     checkpoint_dir=None, resume=False, data_parallel=None):
    """Train ``net``'s trainable tensors on synthetic windows, in place.

    Parameters
    ----------
    net : BackboneNetwork
        Its ``config`` gives context length and horizon.
    objective : CoupledLoss
        The training loss (its ``yardstick`` is the validation loss).
    generator : SyntheticSeriesGenerator
    config : PretrainConfig
    checkpoint_dir : str or Path, optional
        Where checkpoints go: ``trainable.safetensors`` (the trained tensors),
        ``optimizer.pt`` and ``state.json`` (step, history, settings), written
        atomically every ``checkpoint_every`` steps.
    resume : bool, default=False
        Continue from the checkpoint in ``checkpoint_dir``: the settings, the
        network's architecture and the generator must be those of the checkpoint
        (a ``ValueError`` names what differs), and the result equals an
        uninterrupted run. A run stopped by ``max_minutes`` resumes the same way.
    data_parallel : DataParallel, optional
        This process's place in a data-parallel run (``distributed.py``): it trains
        on its shard of every step batch, gradients are averaged over the
        processes, and only the main process validates, writes checkpoints and
        shows progress. ``net`` must start from the same weights on every process.
        None: a single process.

    The global torch RNG and thread count are left as they were (each step seeds
    a forked RNG).

    Returns
    -------
    history : dict
        ``step``, ``train_loss`` (mean over the steps since the last validation),
        ``val_loss`` and the validation losses by name (``val_<name>``; ``val_probe_mae``
        is the MAE of the point forecast in standardised units), ``seconds``
        (wall time of this and earlier resumed runs), ``steps_run``, ``stopped``
        (``"steps"`` or ``"time"``), ``throughput`` (see :func:`run_throughput`).
        On processes other than the main one of a data-parallel run the validation
        entries stay empty and ``throughput`` is None.
    """
    config.check()
    dp = DataParallel() if data_parallel is None else data_parallel
    if config.device == "auto":
        config = replace(config, device="cuda" if torch.cuda.is_available() else "cpu")
    threads = dp.cpu_threads(available_cores()) if config.threads is None else config.threads
    with torch.random.fork_rng(devices=rng_devices(config.device)), torch_threads(threads):
        history = _pretrain(net, objective, generator, config, checkpoint_dir, resume, dp)
        history["throughput"] = None
        if dp.is_main:
            history["throughput"] = run_throughput(net, objective, generator, config,
                                                   history, processes=dp.world_size)
    return history


def run_throughput(net, objective, generator, config, history, processes=1):
    """Tokens/s and achieved GFLOP/s of a run, beside the machine's matmul peak.

    ``flops_per_step`` is counted on one batch (forward and backward, matrix
    products and attention); the rates divide by the run's whole wall time
    (``history["seconds"]``: data generation and validation included), so they are
    what the run got, not the best a step can do. With several ``processes``
    (data-parallel) the rates are those of the whole run, and the matmul peak is one
    process's, on its own threads.
    """
    ctx_len, horizon = net.config.context_length, net.config.horizon
    batch = step_batch(generator, 0, config.batch_size, ctx_len, horizon, config.seed)
    flops = step_flops(net, objective, batch.batch(np.arange(len(batch))), config.device)
    net.eval()
    steps, seconds = history["steps_run"], max(history["seconds"], 1e-9)
    tokens = steps * config.batch_size * backbone_tokens(net)
    dtype = net.backbone_dtype
    out = {
        "processes": int(processes),
        "threads": torch.get_num_threads(),
        "tokens_per_window": backbone_tokens(net),
        "tokens_per_second": round(tokens / seconds, 1),
        "flops_per_step": flops,
        "gflops_per_second": round(flops * steps / seconds / 1e9, 2),
    }
    if torch.device(config.device).type == "cpu":
        out["matmul_peak_gflops_per_second"] = round(matmul_peak_gflops(dtype), 1)
        out["matmul_dtype"] = str(dtype).replace("torch.", "")
    return out


def _pretrain(net, objective, generator, config, checkpoint_dir, resume, dp):
    part = dp.shard(config.batch_size)  # a batch that does not split evenly: ValueError
    device = config.device
    ctx_len, horizon = net.config.context_length, net.config.horizon
    params = net.trainable_parameters()
    if not params:
        raise ValueError("The network has no trainable parameters to pretrain.")
    objective = objective.to(device)
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    history = {"step": [], "train_loss": [], "val_loss": [], "seconds": 0.0,
               "steps_run": 0, "stopped": "steps"}
    start_step, running, n_running = 0, 0.0, 0
    folder = Path(checkpoint_dir).expanduser() if checkpoint_dir is not None else None
    settings = {k: v for k, v in asdict(config).items() if k in _RESUME_KEYS}
    identity = checkpoint_identity(net, generator, settings)
    if resume:
        if folder is None:
            raise ValueError("resume=True needs checkpoint_dir.")
        start_step, history, running, n_running = load_checkpoint(
            folder, net, optimizer, config.device, identity
        )
        history["stopped"] = "steps"
    dp.broadcast_parameters(params)
    val = validation_windows(generator, config.n_validation, ctx_len, horizon, config.seed)
    probes = probe_losses(net, objective)
    seconds_before = history["seconds"]
    started = time.perf_counter()
    steps = range(start_step, config.steps)
    bar = None
    if config.progress and dp.is_main:
        bar = tqdm(total=config.steps, initial=start_step, desc="pretrain", unit="step")
    for step in steps:
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * learning_rate_factor(
                step, config.steps, config.warmup_steps
            )
        net.train()
        net.backbone.eval()
        torch.manual_seed(config.seed * 1_000_003 + step)  # any sampling loss: per step
        batch = step_batch(generator, step, config.batch_size, ctx_len, horizon, config.seed)
        arrays = batch.batch(np.arange(len(batch)))
        if dp.active:
            arrays = shard_arrays(arrays, part)
        running += train_step(net, arrays, device, objective, optimizer, params,
                              f"at pretraining step {step}",
                              data_parallel=dp if dp.active else None)
        n_running += 1
        last = step + 1 == config.steps
        elapsed = seconds_before + time.perf_counter() - started
        out_of_time = (config.max_minutes is not None
                       and dp.any(elapsed >= 60 * config.max_minutes))
        if dp.is_main and ((step + 1) % config.eval_every == 0 or last or out_of_time):
            scores = evaluate_losses(net, val, 256, device, probes)
            history["step"].append(step + 1)
            history["train_loss"].append(running / n_running)
            history["val_loss"].append(objective.yardstick(scores))
            for name, value in scores.items():
                history.setdefault(f"val_{name}", []).append(value)
            running, n_running = 0.0, 0
            if bar is not None:
                bar.set_postfix(val=f"{history['val_loss'][-1]:.4f}")
        history["steps_run"] = step + 1
        history["seconds"] = elapsed
        if folder is not None and dp.is_main and (
                (step + 1) % config.checkpoint_every == 0 or last or out_of_time):
            save_checkpoint(folder, net, optimizer, identity, history, running, n_running)
        if bar is not None:
            bar.update(1)
        if out_of_time:
            history["stopped"] = "time"
            break
    if bar is not None:
        bar.close()
    net.eval()
    return history


