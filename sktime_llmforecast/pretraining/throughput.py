"""What a pretraining run gets out of the machine: tokens/s and achieved GFLOP/s
beside the machine's matmul peak."""

from __future__ import annotations

import contextlib
import os
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from sktime_llmforecast.nn import batch_loss_terms


def available_cores():
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


@contextlib.contextmanager
def torch_threads(n):
    """Run the block with ``n`` intra-op torch threads (None: unchanged), then restore."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def backbone_tokens(net):
    """Tokens the backbone reads per training window (series tokens plus prompt)."""
    return int(net.n_tokens) + int(net.n_prompt_tokens)


def step_flops(net, objective, arrays, device):
    """FLOPs of one training step's forward and backward pass on ``arrays``
    (numpy ``(context, mask, target)``), counted by torch's ``FlopCounterMode``
    (matrix products and attention; element-wise work is not counted). Gradients
    are cleared again and torch's RNG is left as it was."""
    with torch.random.fork_rng(devices=[]), FlopCounterMode(display=False) as counter:
        raw = batch_loss_terms(net, arrays, device, objective.losses)
        objective(raw).backward()
    for p in net.trainable_parameters():
        p.grad = None
    for p in objective.parameters():
        p.grad = None
    return int(counter.get_total_flops())


def matmul_peak_gflops(dtype=torch.float32, size=2048, repeats=5):
    """GFLOP/s of a ``size``-square matrix product with the current threads (the
    best of ``repeats``), the yardstick for a run's achieved GFLOP/s."""
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9
