"""What a pretraining run gets out of the machine: tokens/s and achieved GFLOP/s
beside the machine's matmul peak."""

from __future__ import annotations

import contextlib
import os
import platform
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from sktime_llmforecast.nn import batch_loss_terms


def available_cores():
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def processor():
    """The processor as the card records it: its model name (Linux's /proc/cpuinfo,
    else the platform's word) and the instruction set torch's CPU kernels use (e.g.
    ``AVX2``, ``AVX512``). Float results, and so the adapter's bits, can differ
    between kernels, so the card names both."""
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:  # pragma: no cover - not Linux
        pass
    model = model or platform.processor() or platform.machine()
    return f"{model}, {torch.backends.cpu.get_cpu_capability()}"


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
