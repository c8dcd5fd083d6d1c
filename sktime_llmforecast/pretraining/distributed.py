"""Data-parallel pretraining over several processes with ``torch.distributed``.

Launch the pretraining command with ``torchrun`` or ``accelerate launch``: both start
one process per rank and set ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the
rendezvous address, which :func:`data_parallel_from_environment` reads. Every rank
draws the same step batch (a pure function of seed and step), trains on its own
contiguous ``batch_size / world_size`` windows, and the gradients are averaged
before the clipping and the AdamW step. Every rank therefore holds the same weights
after every step, and a run equals the one-process run with the same global batch up
to the order of float reductions. Backends: NCCL on GPUs, gloo on CPUs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DataParallel:
    """Where this process sits in a data-parallel run, and its collectives.

    Parameters
    ----------
    rank : int, default=0
        This process's rank among ``world_size``.
    world_size : int, default=1
        Processes in the run (1: a plain single-process run; nothing is exchanged).
    local_rank : int, default=0
        Rank on this machine (selects ``cuda:local_rank``).
    local_world_size : int, default=1
        Processes on this machine (they share its cores).

    Examples
    --------
    >>> from sktime_llmforecast.pretraining.distributed import DataParallel
    >>> single = DataParallel()
    >>> single.is_main, single.shard(32)
    (True, slice(0, 32, None))
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def is_main(self):
        """Whether this process writes checkpoints, the adapter and progress."""
        return self.rank == 0

    @property
    def active(self):
        """Whether there is more than one process."""
        return self.world_size > 1

    def shard(self, batch_size):
        """This rank's contiguous slice of a step batch of ``batch_size`` windows."""
        if batch_size % self.world_size:
            raise ValueError(
                f"batch_size={batch_size} cannot be split evenly over {self.world_size} "
                f"processes; pass a batch_size divisible by {self.world_size}, e.g. "
                f"--batch-size {self.world_size * max(1, batch_size // self.world_size)}."
            )
        per = batch_size // self.world_size
        return slice(self.rank * per, (self.rank + 1) * per)

    def device(self, device):
        """This rank's device: ``cuda:local_rank`` for ``"cuda"``, else ``device``."""
        if self.active and str(device) == "cuda":
            return f"cuda:{self.local_rank}"
        return device

    def cpu_threads(self, cores):
        """Intra-op threads per process when ``cores`` are shared by the processes
        of this machine (at least 1)."""
        return max(1, int(cores) // self.local_world_size)

    def mean_and_all_finite(self, value, finite):
        """``(mean of value over ranks, whether every rank's loss is finite)``; one
        collective, so a non-finite loss on any rank stops every rank at the same
        step instead of leaving the others waiting."""
        if not self.active:
            return float(value), bool(finite)
        t = torch.tensor([float(value) if finite else 0.0, 0.0 if finite else 1.0],
                         dtype=torch.float64, device=self._collective_device())
        dist.all_reduce(t)
        return float(t[0]) / self.world_size, bool(t[1] == 0)

    def average_gradients(self, params):
        """Replace every gradient by its mean over the ranks (one flat all-reduce)."""
        if not self.active:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1).to(torch.float32) for g in grads])
        flat = flat.to(self._collective_device())
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset:offset + n].view_as(g).to(g.device, g.dtype))
            offset += n

    def broadcast_parameters(self, params):
        """Copy the main process's values of ``params`` to every rank (so the ranks
        start from the same weights whatever their initialisation)."""
        if not self.active:
            return
        for p in params:
            buf = p.data.to(self._collective_device())
            dist.broadcast(buf, src=0)
            p.data.copy_(buf.to(p.device))

    def any(self, flag):
        """Whether ``flag`` is true on any rank (e.g. one rank ran out of time)."""
        if not self.active:
            return bool(flag)
        t = torch.tensor([1.0 if flag else 0.0], device=self._collective_device())
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t[0] > 0)

    def barrier(self):
        """Wait for every rank."""
        if self.active:
            dist.barrier()

    def _collective_device(self):
        if dist.get_backend() == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")


def data_parallel_from_environment(device="cpu"):
    """The :class:`DataParallel` of this process, from the launcher's environment.

    Without ``WORLD_SIZE`` (or with 1) this is a single-process run. Otherwise the
    default process group is initialised from the environment (``env://``) if it is
    not yet: NCCL for ``device="cuda"``, gloo for the CPU; on CUDA this process uses
    ``cuda:LOCAL_RANK``.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DataParallel()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    cuda = str(device).startswith("cuda")
    if not dist.is_available():  # pragma: no cover - torch builds without distributed
        raise RuntimeError(
            f"WORLD_SIZE={world} asks for {world} processes, but this torch build has no "
            "torch.distributed; run one process (unset WORLD_SIZE)."
        )
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return DataParallel(rank=rank, world_size=world, local_rank=local_rank,
                        local_world_size=local_world)


def shard_arrays(arrays, part):
    """The rows ``part`` (a slice) of every array of ``(context, mask, target)``."""
    return tuple(np.asarray(a)[part] for a in arrays)
