"""Training windows drawn on the fly from the synthetic generator.

Every step's batch is a pure function of ``(seed, step)``, so a run resumed from a
checkpoint sees exactly the batches an uninterrupted run would have seen. The
generator's linear algebra (the Gaussian-process Cholesky factors) runs on a fixed
number of BLAS threads, because OpenBLAS's results change in the last bits with its
thread count, which by default is the machine's core count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from sktime_llmforecast.tokenizers import masked_standardize

_VALIDATION_STREAM = 1_000_003  # validation windows come from their own seed stream
#: BLAS threads of the generator on every machine: the corpus's bits must not depend
#: on the core count (2: the thread count every shipped adapter's corpus was drawn with)
CORPUS_BLAS_THREADS = 2


@dataclass(frozen=True)
class ArrayWindows:
    """A fixed set of ``(context, mask, target)`` windows with a ``batch(idx)`` view.

    Shapes ``(W, L)``, ``(W, L)`` and ``(W, H)``; the same interface as the
    training loop's ``WindowSet``.
    """

    context: np.ndarray
    mask: np.ndarray
    target: np.ndarray

    def __len__(self):
        return len(self.context)

    def batch(self, idx):
        """Return ``(context, mask, target)`` for windows ``idx``."""
        return self.context[idx], self.mask[idx], self.target[idx]


def synthetic_windows(generator, n, context_length, horizon, seed, p_short=0.3,
                      min_observed=8, max_target_z=50.0):
    """Draw ``n`` windows: a synthetic series cut into context and target.

    With probability ``p_short`` a window's history is shortened to a random
    length of at least ``min_observed`` values, left-padded with zeros and masked,
    as short user series are (the forecaster masks the same way).

    Parameters
    ----------
    generator : SyntheticSeriesGenerator
    n, context_length, horizon : int
    seed : int or sequence of int
    p_short : float, default=0.3
    min_observed : int, default=8
    max_target_z : float, default=50.0
        Windows whose target leaves the context's mean by more than this many
        context standard deviations are drawn again (a near-constant context
        followed by a jump: no model can forecast it, and its squared error
        would swamp a batch).

    Returns
    -------
    ArrayWindows
    """
    rng = np.random.default_rng(seed)
    parts, have = [], 0
    with threadpool_limits(limits=CORPUS_BLAS_THREADS, user_api="blas"):
        for _ in range(100):
            ctx, mask, tgt = _draw(generator, n, context_length, horizon, rng, p_short,
                                   min_observed)
            ok = _target_z(ctx, mask, tgt) <= max_target_z
            parts.append((ctx[ok], mask[ok], tgt[ok]))
            have += int(ok.sum())
            if have >= n:
                break
        else:  # pragma: no cover - needs a generator that almost never yields a window
            raise RuntimeError("The generator keeps producing unforecastable windows.")
    ctx, mask, tgt = (np.concatenate(a)[:n] for a in zip(*parts))
    return ArrayWindows(ctx, mask, tgt)


def _draw(generator, n, context_length, horizon, rng, p_short, min_observed):
    values, _ = generator.sample(n, context_length + horizon, seed=rng)
    ctx = values[:, :context_length].copy()
    tgt = values[:, context_length:].copy()
    mask = np.ones_like(ctx, dtype=bool)
    lo = min(int(min_observed), context_length)
    keep = rng.integers(lo, context_length + 1, size=n)
    short = rng.random(n) < p_short
    for i in np.flatnonzero(short):
        mask[i, : context_length - keep[i]] = False
    ctx[~mask] = 0.0
    return ctx, mask, tgt


def _target_z(ctx, mask, tgt):
    """Largest ``|target - mean| / scale`` per window, with the forecaster's scaling."""
    _, state = masked_standardize(torch.as_tensor(ctx), torch.as_tensor(mask))
    z = (tgt - state.loc.numpy()) / state.scale.numpy()
    return np.abs(z).max(axis=1)


def step_batch(generator, step, batch_size, context_length, horizon, seed):
    """The training batch of ``step`` (a pure function of ``seed`` and ``step``)."""
    return synthetic_windows(
        generator, batch_size, context_length, horizon, seed=(int(seed), int(step))
    )


def validation_windows(generator, n, context_length, horizon, seed):
    """Fixed validation windows, from a seed stream the training batches never use."""
    return synthetic_windows(
        generator, n, context_length, horizon, seed=(int(seed), _VALIDATION_STREAM)
    )
