"""Which runtime errors mean the device ran out of memory."""

from __future__ import annotations

import torch

#: phrases of the allocators' out-of-memory messages that come as a plain
#: ``RuntimeError``: CPU ("can't allocate memory"), MPS and some CUDA paths
#: ("out of memory"), cuBLAS workspaces ("CUBLAS_STATUS_ALLOC_FAILED")
_OUT_OF_MEMORY_PHRASES = ("can't allocate memory", "out of memory", "cublas_status_alloc_failed")


def is_out_of_memory(exc):
    """Whether ``exc`` says a device (CUDA, CPU or MPS) ran out of memory.

    ``torch.cuda.OutOfMemoryError`` (``torch.OutOfMemoryError`` from torch 2.5 is
    the same class) exists on every supported torch, on CPU-only builds too.

    Examples
    --------
    >>> from sktime_llmforecast.nn import is_out_of_memory
    >>> is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory"))
    True
    >>> is_out_of_memory(ValueError("too many tokens for the backbone"))
    False
    """
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(p in text for p in _OUT_OF_MEMORY_PHRASES)
