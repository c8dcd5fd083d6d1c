"""Families of synthetic series beyond the composable components.

Each family is a function ``(rng, n) -> (x, parts)``: ``x`` a standardised float
array of ``n`` values, ``parts`` the set of names it drew (``family:...`` first).
``SyntheticSeriesGenerator`` scales them like its component series. The ideas follow
the synthetic corpora of Chronos (KernelSynth: Gaussian-process draws from random
compositions of a kernel bank; TSMixup: convex mixtures of series) plus the shapes
classical benchmarks hold and the component series lack: quasi-periodic cycles whose
length and height vary (sunspot-like), regime switches and heteroscedastic noise.
Ranges are documented in docs/pretraining.md.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

#: periods (in steps) of the periodic kernels, as the component seasonalities use
KERNEL_PERIODS = (4, 5, 6, 7, 12, 24, 52)
#: the most kernels one KernelSynth draw composes
MAX_KERNELS = 5
#: jitter added to the covariance diagonal for a stable Cholesky factor
_JITTER = 1e-6


def _standardise(x):
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else x - x.mean()


# ------------------------------------------------------------------ KernelSynth
def _kernel(rng, t, parts):
    """One kernel of the bank on times ``t`` (in steps), as a covariance matrix."""
    d = t[:, None] - t[None, :]
    n = len(t)
    kind = rng.integers(6)
    if kind == 0:
        parts.add("kernel:periodic")
        period = float(rng.choice(KERNEL_PERIODS)) if rng.random() < 0.8 \
            else rng.uniform(3, max(4.0, n / 2))
        length = rng.uniform(0.5, 2.0)
        return np.exp(-2 * np.sin(np.pi * np.abs(d) / period) ** 2 / length**2)
    u = t / n
    if kind == 1:
        parts.add("kernel:linear")
        c = rng.uniform(-0.5, 1.0)
        return (u[:, None] - c) * (u[None, :] - c) + rng.uniform(0.0, 0.5)
    if kind == 2:
        parts.add("kernel:rbf")
        length = np.exp(rng.uniform(np.log(0.02), np.log(0.5)))
        return np.exp(-((u[:, None] - u[None, :]) ** 2) / (2 * length**2))
    if kind == 3:
        parts.add("kernel:rational_quadratic")
        length = np.exp(rng.uniform(np.log(0.02), np.log(0.5)))
        alpha = rng.uniform(0.5, 5.0)
        return (1 + (u[:, None] - u[None, :]) ** 2 / (2 * alpha * length**2)) ** -alpha
    if kind == 4:
        parts.add("kernel:white")
        return np.eye(n) * rng.uniform(0.01, 0.3)
    parts.add("kernel:constant")
    return np.full((n, n), rng.uniform(0.1, 1.0))


def kernel_synth(rng, n):
    """A Gaussian-process draw whose kernel is a random sum/product of 1 to
    ``MAX_KERNELS`` kernels from the bank (periodic, linear, RBF, rational
    quadratic, white noise, constant)."""
    parts = {"family:kernel_synth"}
    t = np.arange(n, dtype=float)
    cov = _kernel(rng, t, parts)
    for _ in range(rng.integers(0, MAX_KERNELS)):
        other = _kernel(rng, t, parts)
        cov = cov + other if rng.random() < 0.5 else cov * other
    cov = cov + _JITTER * np.eye(n) * max(np.abs(np.diag(cov)).max(), 1.0)
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:  # numerically indefinite: use its PSD part
        w, v = np.linalg.eigh(cov)
        chol = v * np.sqrt(np.clip(w, 0, None))
    return _standardise(chol @ rng.normal(size=n)), parts


# ---------------------------------------------------------------- quasi-periodic
def _ar2_cycle(rng, n, parts):
    """AR(2) with complex roots: cycles of random length and height around a
    period in [6, n/3]; the damping ``r`` keeps at least 30 % of a cycle's
    amplitude over one period (``r**period >= 0.3``, ``r`` at most 0.995)."""
    parts.add("quasi:ar2")
    period = rng.uniform(6, max(7.0, n / 3))
    r = rng.uniform(max(0.9, 0.3 ** (1 / period)), 0.995)
    a = [1, -2 * r * np.cos(2 * np.pi / period), r**2]
    burn = int(5 * period)
    return lfilter([1], a, rng.normal(size=n + burn))[burn:]


def _drifting_period(rng, n, periods_n):
    """Phase of a cycle whose period drifts (log-period random walk)."""
    base = rng.uniform(6, max(7.0, n / 3))
    drift = np.cumsum(rng.normal(0, rng.uniform(0.005, 0.05), size=periods_n))
    period = base * np.exp(drift - drift.mean())
    return np.cumsum(2 * np.pi / period) + rng.uniform(0, 2 * np.pi)


def _drifting_sinusoid(rng, n, parts):
    """A sinusoid whose period and amplitude both drift."""
    parts.add("quasi:drifting_sinusoid")
    phase = _drifting_period(rng, n, n)
    amp = np.exp(np.cumsum(rng.normal(0, rng.uniform(0.005, 0.05), size=n)))
    return amp * np.sin(phase)


def _asymmetric_cycles(rng, n, parts):
    """Positive cycles with a fast rise and a slow fall (or the reverse), each of
    its own length and height: the shape of sunspot numbers."""
    parts.add("quasi:asymmetric")
    phase = _drifting_period(rng, n, n) / (2 * np.pi)
    cycle, frac = np.floor(phase).astype(int), phase % 1.0
    rise = rng.uniform(0.2, 0.45)
    if rng.random() < 0.3:
        rise = 1 - rise
    shape = np.where(frac < rise, frac / rise, (1 - frac) / (1 - rise)) ** rng.uniform(1, 2.5)
    heights = rng.lognormal(0, rng.uniform(0.1, 0.6), size=cycle.max() - cycle.min() + 1)
    return heights[cycle - cycle.min()] * shape


def quasi_periodic(rng, n):
    """Cycles of varying length and height: AR(2) with complex roots, a sinusoid
    whose period and amplitude drift, or asymmetric rise/fall cycles; with noise."""
    parts = {"family:quasi_periodic"}
    kind = rng.integers(3)
    maker = (_ar2_cycle, _drifting_sinusoid, _asymmetric_cycles)[kind]
    x = _standardise(maker(rng, n, parts))
    return _standardise(x + rng.uniform(0.02, 0.3) * rng.normal(size=n)), parts


# ----------------------------------------------------------------- regime switch
def regime_switch(rng, n):
    """A Markov chain over 2 or 3 regimes, each with its own level, slope, AR(1)
    coefficient and noise level; regimes last 1/(1 - stay) steps on average, with
    ``stay`` in [0.9, 0.99]."""
    parts = {"family:regime_switch"}
    k = int(rng.integers(2, 4))
    stay = rng.uniform(0.9, 0.99)
    level, slope = rng.normal(0, 2, size=k), rng.normal(0, 0.05, size=k)
    phi, sd = rng.uniform(-0.5, 0.95, size=k), rng.uniform(0.1, 1.0, size=k)
    state, x, prev = int(rng.integers(k)), np.empty(n), 0.0
    for i in range(n):
        if rng.random() > stay:
            state = int(rng.integers(k))
        prev = phi[state] * prev + sd[state] * rng.normal()
        x[i] = level[state] + slope[state] * i + prev
    return _standardise(x), parts


# ---------------------------------------------------------------- heteroscedastic
def heteroscedastic(rng, n):
    """A smooth signal (trend plus seasonality) with noise whose spread changes:
    GARCH(1,1), a slowly varying envelope, or proportional to the level."""
    parts = {"family:heteroscedastic"}
    t = np.arange(n, dtype=float)
    period = float(rng.choice(KERNEL_PERIODS))
    signal = rng.normal(0, 1) * t / n + rng.uniform(0, 1) * np.sin(2 * np.pi * t / period)
    eps = rng.normal(size=n)
    kind = rng.integers(3)
    if kind == 0:
        parts.add("volatility:garch")
        a = rng.uniform(0.1, 0.3)
        b = rng.uniform(0.6, 0.95 - a)  # a + b < 1: a stationary variance
        omega, var, e = 1 - a - b, 1.0, np.empty(n)
        for i in range(n):
            e[i] = np.sqrt(var) * eps[i]
            var = omega + a * e[i] ** 2 + b * var
    elif kind == 1:
        parts.add("volatility:envelope")
        envelope = np.exp(rng.uniform(0.5, 1.5) * np.sin(2 * np.pi * t / rng.uniform(n / 4, n)
                                                         + rng.uniform(0, 2 * np.pi)))
        e = envelope * eps
    else:
        parts.add("volatility:level")
        level = np.exp(rng.uniform(0.5, 2.0) * t / n)
        signal = signal + level
        e = level * eps
    noise = rng.uniform(0.3, 1.0) * e / max(e.std(), 1e-12)
    return _standardise(_standardise(signal) + noise), parts


#: name -> function of every family (``"components"`` and ``"mixup"`` are drawn by
#: the generator itself)
FAMILIES = {
    "kernel_synth": kernel_synth,
    "quasi_periodic": quasi_periodic,
    "regime_switch": regime_switch,
    "heteroscedastic": heteroscedastic,
}


def mixup(rng, n, draw):
    """TSMixup: a convex combination (Dirichlet weights) of 2 or 3 standardised
    series from ``draw(rng, n) -> (x, parts)``."""
    parts = {"family:mixup"}
    k = int(rng.integers(2, 4))
    weights = rng.dirichlet(np.full(k, 1.5))
    total = np.zeros(n)
    for w in weights:
        x, drawn = draw(rng, n)
        parts |= {p for p in drawn if not p.startswith("family:")}
        total += w * _standardise(x)
    return _standardise(total), parts
