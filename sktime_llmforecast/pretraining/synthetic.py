"""Synthetic series for pretraining: composable trend, seasonal, noise and event parts.

In the spirit of Chronos' KernelSynth and TSMixup, but with explicit components, so
that every kind of series is reachable and the default corpus holds no real data
(no benchmark series can leak into pretraining). Every draw is seeded; a batch of a
few hundred series takes milliseconds. The parameter ranges are documented in
docs/pretraining.md.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter
from skbase.base import BaseObject

from sktime_llmforecast.pretraining.families import FAMILIES, mixup

#: "1": the components only; "2": every family mixed equally (``family_weights="all"``)
GENERATOR_VERSION = "2"

#: every component the generator can draw (``info`` of :meth:`sample` names them)
COMPONENTS = (
    "trend:linear",
    "trend:damped",
    "trend:exponential",
    "trend:piecewise",
    "season:additive",
    "season:multiplicative",
    "noise:iid",
    "noise:ar",
    "noise:arma",
    "random_walk",
    "level_shift",
    "spikes",
    "intermittent",
    "counts",
)
_COMMON_PERIODS = (4, 5, 6, 7, 12, 24, 52)
#: the families ``family_weights`` can mix: the components above, TSMixup-style
#: mixtures, and those of ``pretraining.families``
FAMILY_NAMES = ("components", "mixup", *FAMILIES)


class SyntheticSeriesGenerator(BaseObject):
    """Random series built from trends, seasonalities, noise, walks and events.

    A series is ``scale * (offset + x)`` where ``x`` is a standardised sum (or, in
    the multiplicative form, product) of the drawn components; intermittent and
    count series are drawn from a positive rate built the same way.

    Parameters
    ----------
    p_trend : float, default=0.7
        Probability of a trend: linear, damped, exponential or piecewise linear
        (equally likely).
    p_season : float, default=0.7
        Probability of seasonality; then 1 to ``max_seasonalities`` seasonal
        components, each with a period from (4, 5, 6, 7, 12, 24, 52) or uniform
        in [3, length / 2], and 1 to 3 harmonics.
    max_seasonalities : int, default=3
    p_multiplicative : float, default=0.3
        Probability that the seasonality scales a positive level (multiplicative)
        rather than adding to it.
    p_random_walk : float, default=0.3
        Probability of an added Gaussian random walk.
    p_level_shift : float, default=0.15
        Probability of 1 or 2 level shifts at random times.
    p_spikes : float, default=0.1
        Probability of isolated spikes (1 to 3 % of the values).
    p_intermittent : float, default=0.07
        Probability that the series is intermittent demand: mostly zeros, random
        positive sizes where demand occurs.
    p_counts : float, default=0.07
        Probability that the series is Poisson counts of a positive rate.
    noise_range : tuple of float, default=(0.02, 0.5)
        Log-uniform range of the noise standard deviation relative to the signal;
        the noise is i.i.d., AR(1)/AR(2) or ARMA(1, 1) (equally likely).
    log10_scale_range : tuple of float, default=(-3.0, 6.0)
        Uniform range of ``log10(scale)``.
    family_weights : "all", dict or None, default="all"
        Relative weights of the series families (names in ``FAMILY_NAMES``):
        ``"components"`` (the parts above), ``"mixup"`` (convex mixtures of 2 or 3
        series of the other families), ``"kernel_synth"``, ``"quasi_periodic"``,
        ``"regime_switch"``, ``"heteroscedastic"`` (``pretraining.families``).
        ``"all"`` mixes every family equally (the corpus of ``GENERATOR_VERSION``
        "2", which the shipped adapter was pretrained on); a dict such as
        ``{"components": 2, "kernel_synth": 1}`` weighs them; None draws the
        components only, with no family draw (the version "1" corpus). Every
        family's series is scaled and offset like a component series; ``info``
        names its family (``"family:..."``) and parts.

    Examples
    --------
    >>> from sktime_llmforecast.pretraining import SyntheticSeriesGenerator
    >>> gen = SyntheticSeriesGenerator()
    >>> values, info = gen.sample(n=4, length=50, seed=0)
    >>> values.shape
    (4, 50)
    >>> sorted(info[0])  # doctest: +ELLIPSIS
    [...]
    """

    def __init__(
        self,
        p_trend=0.7,
        p_season=0.7,
        max_seasonalities=3,
        p_multiplicative=0.3,
        p_random_walk=0.3,
        p_level_shift=0.15,
        p_spikes=0.1,
        p_intermittent=0.07,
        p_counts=0.07,
        noise_range=(0.02, 0.5),
        log10_scale_range=(-3.0, 6.0),
        family_weights="all",
    ):
        self.p_trend = p_trend
        self.p_season = p_season
        self.max_seasonalities = max_seasonalities
        self.p_multiplicative = p_multiplicative
        self.p_random_walk = p_random_walk
        self.p_level_shift = p_level_shift
        self.p_spikes = p_spikes
        self.p_intermittent = p_intermittent
        self.p_counts = p_counts
        self.noise_range = noise_range
        self.log10_scale_range = log10_scale_range
        self.family_weights = family_weights
        super().__init__()

    def _check(self):
        probs = ("p_trend", "p_season", "p_multiplicative", "p_random_walk",
                 "p_level_shift", "p_spikes", "p_intermittent", "p_counts")
        for name in probs:
            val = getattr(self, name)
            if not 0 <= val <= 1:
                raise ValueError(f"{name} must be a probability in [0, 1], got {val!r}.")
        if self.p_intermittent + self.p_counts > 1:
            raise ValueError("p_intermittent + p_counts must be at most 1.")
        m = self.max_seasonalities
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
            raise ValueError(
                f"max_seasonalities must be a positive int, got {self.max_seasonalities!r}."
            )
        for name in ("noise_range", "log10_scale_range"):
            lo, hi = getattr(self, name)
            if not lo <= hi:
                raise ValueError(f"{name} must be (low, high) with low <= high.")
        if self.noise_range[0] <= 0:
            raise ValueError("noise_range must be positive.")
        self._family_probabilities()

    def _family_probabilities(self):
        """``(names, probabilities)`` of ``family_weights`` (None: components only;
        ``"all"``: every family equally)."""
        weights = self.family_weights
        if weights is None:
            return ("components",), np.ones(1)
        if isinstance(weights, str) and weights == "all":
            weights = dict.fromkeys(FAMILY_NAMES, 1)
        if not isinstance(weights, dict) or not weights:
            raise TypeError(
                "family_weights must be 'all', None or a non-empty dict of family name "
                f"to weight, e.g. {{'components': 1, 'kernel_synth': 1}}; got {weights!r}."
            )
        unknown = sorted(set(weights) - set(FAMILY_NAMES))
        if unknown:
            raise ValueError(f"Unknown families {unknown}; choose from {FAMILY_NAMES}.")
        names = tuple(weights)
        w = np.array([float(weights[k]) for k in names])
        if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError(f"family_weights must be non-negative with a positive sum, got {weights!r}.")
        if set(k for k, v in zip(names, w) if v > 0) == {"mixup"}:
            raise ValueError("mixup mixes the other families: give one of them a weight too.")
        return names, w / w.sum()

    def sample(self, n, length, seed=None):
        """Draw ``n`` series of ``length`` values.

        Parameters
        ----------
        n, length : int
            Number of series and values per series (``length >= 8``).
        seed : int, sequence of int or numpy Generator, optional
            The same seed gives the same series.

        Returns
        -------
        values : np.ndarray, shape (n, length)
            Finite float64 values.
        info : list of set of str
            The components of each series (names from ``COMPONENTS``).
        """
        self._check()
        if int(length) < 8:
            raise ValueError(f"length must be at least 8, got {length!r}.")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        out = np.empty((int(n), int(length)))
        info = []
        for i in range(int(n)):
            out[i], parts = self._one(rng, int(length))
            info.append(parts)
        return out, info

    # ------------------------------------------------------------------ parts
    def _one(self, rng, n):
        if self.family_weights is None:  # version "1": no family draw at all
            return self._components(rng, n)
        names, p = self._family_probabilities()
        name = names[rng.choice(len(names), p=p)]
        if name == "mixup":
            x, parts = mixup(rng, n, self._unmixed)
        elif name == "components":
            x, parts = self._components(rng, n)
            return x, parts | {"family:components"}
        else:
            x, parts = FAMILIES[name](rng, n)
        return self._scaled(rng, x), parts

    def _unmixed(self, rng, n):
        """A series of a family other than mixup, by the families' weights."""
        names, p = self._family_probabilities()
        keep = [i for i, k in enumerate(names) if k != "mixup"]
        q = p[keep] / p[keep].sum()
        name = names[keep[rng.choice(len(keep), p=q)]]
        return self._components(rng, n) if name == "components" else FAMILIES[name](rng, n)

    def _scaled(self, rng, x):
        scale = 10 ** rng.uniform(*self.log10_scale_range)
        offset = rng.choice([0.0, rng.normal(0, 3), rng.uniform(5, 50)])
        return scale * (offset + x)

    def _components(self, rng, n):
        t = np.arange(n, dtype=float)
        parts = set()
        kind = rng.random()
        if kind < self.p_intermittent:
            return self._intermittent(rng, t, parts), parts
        if kind < self.p_intermittent + self.p_counts:
            return self._counts(rng, t, parts), parts
        x = self._trend(rng, t, parts)
        season = self._season(rng, t, parts)
        if season is not None:
            if rng.random() < self.p_multiplicative:
                parts.add("season:multiplicative")
                level = 1.0 + _standardise(x) * rng.uniform(0.05, 0.3)
                x = level * (1.0 + rng.uniform(0.1, 0.5) * season)
            else:
                parts.add("season:additive")
                x = x + rng.uniform(0.3, 2.0) * season
        if rng.random() < self.p_random_walk:
            parts.add("random_walk")
            x = x + rng.uniform(0.2, 1.5) * _standardise(np.cumsum(rng.normal(size=n)))
        x = _standardise(x) if x.std() > 0 else x
        x = x + self._noise(rng, n, parts)
        if rng.random() < self.p_level_shift:
            parts.add("level_shift")
            for _ in range(rng.integers(1, 3)):
                at = rng.integers(n // 5, n)
                x[at:] += rng.normal(0, 1.5)
        if rng.random() < self.p_spikes:
            parts.add("spikes")
            k = max(1, int(rng.uniform(0.01, 0.03) * n))
            at = rng.choice(n, size=k, replace=False)
            x[at] += rng.choice([-1, 1], size=k) * rng.uniform(3, 8, size=k)
        return self._scaled(rng, x), parts

    def _trend(self, rng, t, parts):
        n = len(t)
        if rng.random() >= self.p_trend:
            return np.zeros(n)
        kind = rng.integers(4)
        u = t / n
        if kind == 0:
            parts.add("trend:linear")
            return rng.normal(0, 2) * u
        if kind == 1:
            parts.add("trend:damped")
            phi = rng.uniform(0.8, 0.99)
            return rng.normal(0, 2) * (1 - phi ** t) / (1 - phi) / n * 10
        if kind == 2:
            parts.add("trend:exponential")
            return np.exp(rng.uniform(-2, 3) * u)
        parts.add("trend:piecewise")
        knots = np.sort(rng.uniform(0, 1, size=rng.integers(1, 4)))
        slopes = rng.normal(0, 2, size=len(knots) + 1)
        y = slopes[0] * u
        for k, s in zip(knots, np.diff(slopes)):
            y = y + s * np.clip(u - k, 0, None)
        return y

    def _season(self, rng, t, parts):
        n = len(t)
        if rng.random() >= self.p_season:
            return None
        total = np.zeros(n)
        for _ in range(rng.integers(1, int(self.max_seasonalities) + 1)):
            if rng.random() < 0.7:
                period = float(rng.choice(_COMMON_PERIODS))
            else:
                period = rng.uniform(3, max(4.0, n / 2))
            amp = rng.uniform(0.3, 1.0)
            for h in range(1, rng.integers(1, 4) + 1):
                phase = rng.uniform(0, 2 * np.pi)
                total += amp / h * np.sin(2 * np.pi * h * t / period + phase)
        return total / max(total.std(), 1e-12)

    def _noise(self, rng, n, parts):
        sd = np.exp(rng.uniform(np.log(self.noise_range[0]), np.log(self.noise_range[1])))
        eps = rng.normal(0, 1, size=n)
        kind = rng.integers(3)
        if kind == 0:
            parts.add("noise:iid")
            e = eps
        elif kind == 1:
            parts.add("noise:ar")
            if rng.random() < 0.5:
                a = [1, -rng.uniform(-0.9, 0.95)]
            else:  # stationary AR(2) from two roots inside the unit circle
                r1, r2 = rng.uniform(-0.9, 0.9, size=2)
                a = [1, -(r1 + r2), r1 * r2]
            e = lfilter([1], a, eps)
        else:
            parts.add("noise:arma")
            e = lfilter([1, rng.uniform(-0.8, 0.8)], [1, -rng.uniform(-0.9, 0.9)], eps)
        return sd * e / max(e.std(), 1e-12)

    def _rate(self, rng, t):
        """A positive, seasonal, trending rate (inner helper of the count kinds)."""
        log_rate = 0.5 * _standardise(self._trend(rng, t, set()) + rng.normal(0, 1e-9, len(t)))
        season = self._season(rng, t, set())
        if season is not None:
            log_rate = log_rate + rng.uniform(0.1, 0.8) * season
        return np.exp(log_rate)

    def _intermittent(self, rng, t, parts):
        parts.add("intermittent")
        p = rng.uniform(0.05, 0.5)
        occurs = rng.random(len(t)) < p
        size = rng.gamma(rng.uniform(1, 5), 1.0, size=len(t)) * self._rate(rng, t)
        scale = 10 ** rng.uniform(0, 3)
        return np.where(occurs, np.ceil(scale * size), 0.0)

    def _counts(self, rng, t, parts):
        parts.add("counts")
        mean = 10 ** rng.uniform(-0.5, 3)
        return rng.poisson(mean * self._rate(rng, t)).astype(float)


def _standardise(x):
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else x - x.mean()
