"""Training loop: AdamW over the trainable tensors, early stopping on validation loss."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch



@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (every field has a default)."""

    max_epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 5
    seed: int = 0
    device: str = "cpu"
    verbose: bool = False


def autocast_context(device):
    """bf16 autocast on CUDA, nothing on CPU (CPU autocast changes results)."""
    if torch.device(device).type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _to_tensors(batch, device):
    ctx, mask, tgt = batch
    return (
        torch.as_tensor(ctx, dtype=torch.float64, device=device),
        torch.as_tensor(mask, dtype=torch.bool, device=device),
        torch.as_tensor(tgt, dtype=torch.float64, device=device),
    )


def _window_loss(net, batch, device):
    ctx, mask, tgt = _to_tensors(batch, device)
    with autocast_context(device):
        return net.window_loss(ctx, mask, tgt).float()


def evaluate_loss(net, windows, batch_size, device):
    """Mean loss over all windows of ``windows`` (no gradient, eval mode)."""
    net.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for lo in range(0, len(windows), batch_size):
            idx = np.arange(lo, min(lo + batch_size, len(windows)))
            loss = _window_loss(net, windows.batch(idx), device)
            total += loss.item() * len(idx)
            count += len(idx)
    return total / max(count, 1)


def train_network(net, train, val, config: TrainConfig):
    """Train ``net`` in place; restore the weights of the best epoch.

    Parameters
    ----------
    net : BackboneNetwork
    train : WindowSet
    val : WindowSet or None
        Early stopping uses the validation loss when given, else the training loss.
    config : TrainConfig

    Returns
    -------
    history : dict
        ``train_loss`` and ``val_loss`` (lists, one entry per epoch), ``best_epoch``
        (0-based, -1 when no epoch ran) and ``epochs_run``.
    """
    history = {"train_loss": [], "val_loss": [], "best_epoch": -1, "epochs_run": 0}
    params = net.trainable_parameters()
    if config.max_epochs == 0 or not params:
        return history
    optimizer = torch.optim.AdamW(
        params, lr=config.learning_rate, weight_decay=config.weight_decay
    )
    generator = np.random.default_rng(config.seed)
    best, best_state, bad_epochs = math.inf, None, 0
    epochs = range(config.max_epochs)
    if config.verbose:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="LLMForecaster fit", unit="epoch")
    for epoch in epochs:
        net.train()
        net.backbone.eval()  # frozen backbone: dropout off, like at predict time
        order = generator.permutation(len(train))
        total = 0.0
        for lo in range(0, len(order), config.batch_size):
            idx = order[lo : lo + config.batch_size]
            loss = _window_loss(net, train.batch(idx), config.device)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"Training loss became {float(loss)} in epoch {epoch}; lower "
                    "learning_rate or check the input for extreme values."
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            total += loss.item() * len(idx)
        train_loss = total / len(order)
        val_loss = (
            evaluate_loss(net, val, config.batch_size, config.device)
            if val is not None
            else train_loss
        )
        history["train_loss"].append(train_loss)
        history["val_loss"].append(val_loss)
        history["epochs_run"] = epoch + 1
        if config.verbose:
            epochs.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
        if val_loss < best - 1e-7:
            best, best_state, bad_epochs = val_loss, net.trainable_state(), 0
            history["best_epoch"] = epoch
        else:
            bad_epochs += 1
            if bad_epochs >= config.patience:
                break
    if best_state is not None:
        net.load_trainable_state(best_state)
    net.eval()
    return history


def run_batched(fn, context, mask, device, batch_size=256):
    """Apply ``fn(context, mask)`` over row batches of numpy inputs (no gradient).

    Parameters
    ----------
    fn : callable
        Takes float64 ``(b, L)`` and bool ``(b, L)`` tensors, returns a tensor whose
        first dimension is ``b``.
    context : np.ndarray, shape (S, L)
    mask : np.ndarray of bool, shape (S, L)

    Returns
    -------
    np.ndarray
        The outputs of all batches, concatenated along the first axis.
    """
    outs = []
    with torch.no_grad():
        for lo in range(0, len(context), batch_size):
            ctx = torch.as_tensor(
                context[lo : lo + batch_size], dtype=torch.float64, device=device
            )
            m = torch.as_tensor(mask[lo : lo + batch_size], device=device)
            with autocast_context(device):
                outs.append(fn(ctx, m).double().cpu().numpy())
    return np.concatenate(outs, axis=0)


def predict_network(net, context, mask, device, batch_size=256):
    """Point forecasts ``(S, H)`` in original units for a batch of contexts."""
    net.eval()
    return run_batched(net.forecast, context, mask, device, batch_size)
