"""Training: one optimisation step, the epoch loop with early stopping, and the
seeded blocks that make a fit reproducible (also in threads)."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from sktime_llmforecast.losses import MAELoss
from sktime_llmforecast.nn.base import Batch, NetworkForecast
from sktime_llmforecast.nn.config import TrainConfig
from sktime_llmforecast.nn.windows import make_windows

# torch's global RNG is shared by the threads of a process: seeded blocks (network
# construction, training) hold this lock, so fits running in threads (e.g.
# ``evaluate(..., backend="dask")``) give the same numbers as a serial run
_SEEDED = threading.RLock()


def autocast_context(device):
    """bf16 autocast on CUDA, nothing on CPU (CPU autocast changes results)."""
    if torch.device(device).type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def rng_devices(device):
    """CUDA devices whose RNG a seeded block must save and restore (the user's
    CUDA random state is left as it was); none on the CPU."""
    return [torch.cuda.current_device()] if torch.device(device).type == "cuda" else []


@contextlib.contextmanager
def seeded(seed, device):
    """Run the block with torch's RNG seeded by ``seed``, then restore it.

    Holds a process-wide lock, so seeded blocks in threads do not interleave;
    the caller's CPU (and CUDA) random state is left as it was.
    """
    with _SEEDED, torch.random.fork_rng(devices=rng_devices(device)):
        torch.manual_seed(int(seed))
        yield


def as_batch(arrays, device):
    """A :class:`Batch` of tensors on ``device`` from numpy ``(context, mask, target)``."""
    ctx, mask, tgt = arrays
    return Batch(
        torch.as_tensor(ctx, dtype=torch.float64, device=device),
        torch.as_tensor(mask, dtype=torch.bool, device=device),
        torch.as_tensor(tgt, dtype=torch.float64, device=device),
    )


def batch_loss_terms(net, arrays, device, losses, head_input=None):
    """``net.loss_terms`` on numpy windows ``(context, mask, target)``, as float32
    scalars (bf16 autocast on CUDA); ``head_input``: the windows' cached
    :func:`head_inputs` rows, when the head alone trains."""
    batch = as_batch(arrays, device)
    with autocast_context(device):
        if head_input is None:
            raw = net.loss_terms(batch, losses)
        else:
            raw = net.loss_terms(batch, losses, head_input=head_input)
    return {k: v.float() for k, v in raw.items()}


#: the most memory the cached head inputs of one training run may take
HEAD_INPUT_CACHE_BYTES = 2**30

#: the most backbone tokens one forward and backward pass of a token network holds:
#: a larger batch runs in micro-batches (value-wise tokenizers write 2-8 tokens per
#: value, and the frozen blocks' activations, kept for the backward pass into the
#: embeddings, grow with the tokens)
MICRO_BATCH_TOKENS = 1024


def micro_batches(net, n_windows):
    """Index arrays splitting a batch of ``n_windows`` windows so that each part runs
    at most ``MICRO_BATCH_TOKENS`` backbone tokens (one part for patch networks)."""
    if net.kind != "token":
        return [np.arange(n_windows)]
    size = max(1, MICRO_BATCH_TOKENS // (net.n_tokens + net.n_prompt_tokens))
    return [np.arange(lo, min(lo + size, n_windows)) for lo in range(0, n_windows, size)]


def train_step(net, arrays, device, objective, optimizer, params, where, head_input=None,
               data_parallel=None):
    """One :func:`optimisation_step` on numpy windows ``arrays``; returns the yardstick.

    A token network's batch beyond ``MICRO_BATCH_TOKENS`` runs in micro-batches with
    the same gradient as the whole batch: each part back-propagates its share of the
    objective, and the gradients add up. That is exact because every loss term is
    a mean over equally many forecast tokens per window (the batch's term is the
    parts' size-weighted mean) and the objective (``CoupledLoss``) is affine in the
    terms (a weighted sum, plus terms of the coupling weights alone). Memory is
    that of one part; time barely changes.
    """
    parts = micro_batches(net, len(arrays[0]))
    if len(parts) == 1:
        raw = batch_loss_terms(net, arrays, device, objective.losses, head_input)
        return optimisation_step(objective, raw, optimizer, params, where, data_parallel)
    optimizer.zero_grad(set_to_none=True)
    terms = []
    for idx in parts:
        share = len(idx) / len(arrays[0])
        raw = batch_loss_terms(net, tuple(a[idx] for a in arrays), device, objective.losses)
        (share * objective(raw)).backward()
        terms.append({k: share * v.detach() for k, v in raw.items()})
    raw = {k: sum(t[k] for t in terms) for k in terms[0]}
    return optimisation_step(objective, raw, optimizer, params, where, data_parallel,
                             accumulated=True)


def head_inputs(net, windows, batch_size, device):
    """The head's input (``net.head_input``) for every window of ``windows``,
    computed once without gradients, or None where it cannot be cached: the
    network has no such split, something before the head trains, or the cache would
    exceed ``HEAD_INPUT_CACHE_BYTES``.

    Training the head alone then runs the backbone once per window instead of once
    per window and epoch, and gives the same losses as running it every time.
    """
    if windows is None or not net.caches_head_input or not net.head_only_trainable:
        return None
    per_window = net.n_tokens * net.d_model * 4  # float32
    if len(windows) * per_window > HEAD_INPUT_CACHE_BYTES:
        return None
    was_training = net.training
    net.eval()
    parts = []
    with torch.no_grad(), autocast_context(device):
        for lo in range(0, len(windows), batch_size):
            idx = np.arange(lo, min(lo + batch_size, len(windows)))
            batch = as_batch(windows.batch(idx), device)
            hidden, _ = net.head_input(batch.context, batch.mask)
            parts.append(hidden.float())
    net.train(was_training)
    return torch.cat(parts)


@contextlib.contextmanager
def frozen_interface(net, freeze=True):
    """Keep ``net.interface`` out of training inside the block (``freeze``), then
    make its parameters trainable again as they were."""
    params = [p for p in net.interface.parameters() if p.requires_grad] if freeze else []
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def probe_losses(net, objective):
    """The objective's losses plus an MAE probe where the network has a point output.

    The probe (``"probe_mae"``, standardised units) is a yardstick common to every
    loss choice, recorded as ``val_mae`` for comparisons across losses.
    """
    losses = dict(objective.losses.items())
    if "point" in net.outputs:
        losses["probe_mae"] = MAELoss()
    return losses


def optimisation_step(objective, raw, optimizer, params, where, data_parallel=None,
                      accumulated=False):
    """One AdamW step on ``objective(raw)`` (gradients clipped at norm 1).

    Returns the objective's yardstick of ``raw``; a non-finite loss raises a
    ``FloatingPointError`` that says ``where`` it happened. ``data_parallel``
    (``pretraining.distributed.DataParallel``, optional): each process holds its own
    shard of the batch; the gradients are averaged over the processes before the
    clipping, the returned yardstick is their mean, and a non-finite loss on any
    process stops them all. ``accumulated`` (see :func:`train_step`): the gradients
    of ``objective(raw)`` are already in the parameters (``raw`` holds the batch's
    values only).
    """
    loss = objective(raw)
    finite = bool(torch.isfinite(loss))
    yardstick = objective.yardstick(raw) if finite else float("nan")
    if data_parallel is not None:
        yardstick, finite = data_parallel.mean_and_all_finite(yardstick, finite)
    if not finite:
        value = float(loss) if not torch.isfinite(loss) else "non-finite on another process"
        raise FloatingPointError(
            f"Training loss became {value} {where}; lower the learning rate or "
            "check the input for extreme values."
        )
    if not accumulated:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
    if data_parallel is not None:
        data_parallel.average_gradients(params)
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    return yardstick


def evaluate_losses(net, windows, batch_size, device, losses, cached=None):
    """Mean of every loss in ``losses`` over all windows (no gradient, eval mode);
    ``cached``: the windows' :func:`head_inputs`."""
    net.eval()
    totals, count = {}, 0
    with torch.no_grad():
        for lo in range(0, len(windows), batch_size):
            idx = np.arange(lo, min(lo + batch_size, len(windows)))
            raw = batch_loss_terms(net, windows.batch(idx), device, losses,
                                   None if cached is None else cached[idx])
            for k, v in raw.items():
                totals[k] = totals.get(k, 0.0) + v.item() * len(idx)
            count += len(idx)
    return {k: v / max(count, 1) for k, v in totals.items()}


def epoch_windows(net, train, batch_size, epoch):
    """The windows of one epoch and its batch size.

    Every window, in batches of ``batch_size``, except for teacher-forced networks:
    there the ``horizon`` windows that share a target teach nearly the same lesson,
    so an epoch trains each target once (``WindowSet.one_per_target``, the phase
    rotating with ``epoch``) in as many optimisation steps as a full epoch would
    take, each on proportionally fewer windows. The epoch then costs about
    ``1 / horizon`` of a full one and trains as many steps (measured in
    docs/benchmarks.md, "Token-mode epochs").
    """
    if not net.teacher_forced:
        return train, batch_size
    sub = train.one_per_target(epoch)
    n_steps = math.ceil(len(train) / batch_size)
    return sub, math.ceil(len(sub) / n_steps)


def empty_history():
    """The training history of a network that did not train (no epochs)."""
    return {
        "train_loss": [],
        "val_loss": [],
        "val_mae": [],
        "loss_weights": [],
        "active_losses": [],
        "switch_epochs": [],
        "epoch_seconds": [],
        "best_epoch": -1,
        "epochs_run": 0,
        "initial_val_loss": None,
        "initial_val_mae": None,
    }


def train_network(net, train, val, config: TrainConfig, objective, schedule=None,
                  weight_lr=0.05):
    """Train ``net`` (and the coupling weights of ``objective``) in place.

    The weights of the best epoch, judged by the objective's yardstick (the
    unweighted mean of its losses) on the validation windows, are restored.

    Parameters
    ----------
    net : BackboneNetwork
    train : WindowSet
    val : WindowSet or None
        Early stopping uses the validation loss when given, else the training loss.
    config : TrainConfig
    objective : CoupledLoss
        The training objective; its coupling weights train with ``weight_lr``.
    schedule : PlateauSchedule or None
        Adds losses to the objective on validation plateaus; early stopping waits
        until every loss is active.
    weight_lr : float
        Learning rate of the coupling weights.

    Returns
    -------
    history : dict
        Per epoch: ``train_loss`` and ``val_loss`` (yardsticks), ``val_mae``
        (standardised MAE of the point output; empty for token networks),
        ``loss_weights`` (``{name: weight}``) and ``active_losses``; plus
        ``switch_epochs``, ``best_epoch`` (0-based; -1 when no epoch ran, or when
        ``keep_initial`` kept the starting weights),
        ``epochs_run`` and ``epoch_seconds`` (cumulative wall time); with
        ``keep_initial``, ``initial_val_loss`` and ``initial_val_mae``: the
        starting weights' yardstick and point MAE, which an epoch must beat
        (else None).
    """
    with frozen_interface(net, freeze=not config.train_interface):
        return _train_network(net, train, val, config, objective, schedule, weight_lr)


def _train_network(net, train, val, config, objective, schedule, weight_lr):
    history = empty_history()
    params = net.trainable_parameters()
    if config.max_epochs == 0 or not params:
        return history
    objective = objective.to(config.device)
    groups = [{"params": params}]
    coupling = [p for p in objective.parameters() if p.requires_grad]
    if coupling:
        groups.append({"params": coupling, "lr": weight_lr, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(
        groups, lr=config.learning_rate, weight_decay=config.weight_decay
    )
    probes = probe_losses(net, objective)
    generator = np.random.default_rng(config.seed)
    # the head alone trains: the backbone runs once per window, not once per epoch
    train_cache = head_inputs(net, train, config.batch_size, config.device)
    val_cache = None if train_cache is None else head_inputs(
        net, val, config.batch_size, config.device)
    if net.teacher_forced and val is not None:  # every validation target once
        val = val.one_per_target(0)
    best, best_state, bad_epochs = math.inf, None, 0
    if config.keep_initial:  # pretrained start: training must improve on it
        # the windows early stopping judges by
        ref, ref_cache = (val, val_cache) if val is not None else (train, train_cache)
        raw_ref = evaluate_losses(net, ref, config.batch_size, config.device, probes,
                                  ref_cache)
        best, best_state = objective.yardstick(raw_ref), net.trainable_state()
        history["initial_val_loss"] = best
        history["initial_val_mae"] = raw_ref.get("probe_mae")
    started = time.perf_counter()
    epochs = range(config.max_epochs)
    if config.verbose:
        epochs = tqdm(epochs, desc="LLMForecaster fit", unit="epoch")
    for epoch in epochs:
        net.train()
        net.backbone.eval()  # frozen backbone: dropout off, like at predict time
        history["active_losses"].append(list(objective.active))
        epoch_train, size = epoch_windows(net, train, config.batch_size, epoch)
        order = generator.permutation(len(epoch_train))
        total = 0.0
        for lo in range(0, len(order), size):
            idx = order[lo : lo + size]
            total += train_step(net, epoch_train.batch(idx), config.device, objective,
                                optimizer, params, f"in epoch {epoch}",
                                None if train_cache is None else train_cache[idx]) * len(idx)
        train_loss = total / len(order)
        if val is not None:
            raw_val = evaluate_losses(net, val, config.batch_size, config.device, probes,
                                      val_cache)
            val_loss = objective.yardstick(raw_val)
            if "probe_mae" in raw_val:
                history["val_mae"].append(raw_val["probe_mae"])
        else:
            val_loss = train_loss
        history["train_loss"].append(train_loss)
        history["val_loss"].append(val_loss)
        history["loss_weights"].append(objective.weights())
        history["epoch_seconds"].append(time.perf_counter() - started)
        history["epochs_run"] = epoch + 1
        if config.verbose:
            epochs.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
        if val_loss < best - 1e-7:
            best, best_state, bad_epochs = val_loss, net.trainable_state(), 0
            history["best_epoch"] = epoch
        else:
            bad_epochs += 1
        if schedule is not None and schedule.step(val_loss):
            history["switch_epochs"].append(epoch)
            bad_epochs = 0
        elif bad_epochs >= config.patience and (schedule is None or schedule.finished):
            break
    if best_state is not None:
        net.load_trainable_state(best_state)
    net.eval()
    return history


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_on_series` hands back (the network trains in place).

    Attributes
    ----------
    history : dict
        :func:`train_network`'s per-epoch history.
    loss_category : str
        The data category the loss switcher chose (``"user"``: explicit losses).
    losses : list of str
        The coupled training losses.
    data_features : dict
        What the switcher measured on the training series.
    loss_weights : dict
        The coupling weights of the restored (best) epoch.
    loss_weights_history : list of dict
        The coupling weights after every epoch.
    """

    history: dict
    loss_category: str = None
    losses: list = field(default_factory=list)
    data_features: dict = field(default_factory=dict)
    loss_weights: dict = field(default_factory=dict)
    loss_weights_history: list = field(default_factory=list)


def training_horizon(net, config: TrainConfig):
    """Steps the training targets cover: ``config.horizon``, at most the head's."""
    if config.horizon is None:
        return net.config.horizon
    return min(int(config.horizon), net.config.horizon)


def train_on_series(net, series, config: TrainConfig, loss_switcher):
    """Train ``net`` in place on windows of ``series`` with the switcher's losses.

    Parameters
    ----------
    net : BackboneNetwork
    series : list of np.ndarray
        Finite 1-D series (one per panel member and column).
    config : TrainConfig
        ``max_epochs=0`` trains nothing (the losses are still chosen).
    loss_switcher : LossSwitcher
        Not fitted; a fitted copy chooses and couples the losses.

    Returns
    -------
    TrainResult
    """
    switcher = loss_switcher.clone().fit(series, token_output="tokens" in net.outputs)
    objective = switcher.make_objective(net.outputs, net.config.context_length)
    if "crps_samples" in objective.names and len(net.config.quantile_levels) < 2:
        raise ValueError(
            "loss 'crps_samples' draws samples from the quantile head and needs "
            "at least 2 quantile_levels; add levels or use 'crps_quantile'."
        )
    if config.max_epochs == 0:  # nothing to train (e.g. zero-shot from a pretrained model)
        train = val = None
    else:
        train, val = make_windows(series, net.config.context_length,
                                  training_horizon(net, config), config.validation_fraction)
    initial_weights = objective.weights()
    with seeded(config.seed, config.device):
        history = train_network(net, train, val, config, objective,
                                schedule=switcher.make_schedule(objective),
                                weight_lr=float(switcher.weight_lr))
    best = history["best_epoch"]  # the restored weights are those of this epoch
    return TrainResult(
        history=history,
        loss_category=switcher.loss_category_,
        losses=list(switcher.losses_),
        data_features=dict(switcher.data_features_),
        loss_weights=dict(history["loss_weights"][best]) if best >= 0 else initial_weights,
        loss_weights_history=list(history["loss_weights"]),
    )


def run_batched(fn, context, mask, device, batch_size=256):
    """Apply ``fn(context, mask)`` over row batches of numpy inputs (no gradient).

    Parameters
    ----------
    fn : callable
        Takes float64 ``(b, L)`` and bool ``(b, L)`` tensors, returns a
        ``NetworkForecast`` of tensors whose first dimension is ``b``.
    context : np.ndarray, shape (S, L)
    mask : np.ndarray of bool, shape (S, L)

    Returns
    -------
    NetworkForecast
        The forecasts of all batches as numpy arrays, concatenated along rows.
    """
    outs = []
    with torch.no_grad():
        for lo in range(0, len(context), batch_size):
            ctx = torch.tensor(  # a copy: the stored contexts may be read-only
                context[lo : lo + batch_size], dtype=torch.float64, device=device
            )
            m = torch.tensor(mask[lo : lo + batch_size], device=device)
            with autocast_context(device):
                outs.append(fn(ctx, m).to_numpy())
    return NetworkForecast.concat(outs)


def predict_network(net, context, mask, device, batch_size=256):
    """Deterministic point forecasts ``(S, H)`` in original units (the mean head, or
    greedy decoding) for a batch of contexts."""
    net.eval()
    return run_batched(lambda c, m: net.predict(c, m, greedy=True), context, mask,
                       device, batch_size).mean
