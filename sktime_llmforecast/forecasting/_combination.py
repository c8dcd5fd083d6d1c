"""Forecasting with several fitted forecasters as one, with equal weight: the mean
of their point forecasts and the mixture of their predictive distributions.

``tokenizer="auto"`` combines the primary adapter with its partners
(``_adapter_search``). Every function takes the members' outputs in one layout
(the same rows and columns, as forecasters fitted on the same data give).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: the levels every member's quantiles are read at to build the mixture (with the
#: levels asked for): those the combination was measured with
#: (``benchmarks/combination_members.py``)
MIXTURE_LEVELS = tuple(sorted({0.025, 0.975} | {round(0.05 * i, 2) for i in range(1, 20)}))


def partner_forecaster(forecaster, plan, difference):
    """An unfitted copy of ``forecaster`` that fits ``plan``'s adapter zero-shot,
    reading values or first differences as ``difference`` says (the representation
    the primary adapter's check chose), with no rolling-origin check of its own."""
    return forecaster.clone().set_params(tokenizer=plan.tokenizer.clone(), max_epochs=0,
                                         finetune_epochs=0, difference=bool(difference),
                                         check_folds=0)


def fitted_partners(forecaster, plans, y, X, fh):
    """``[(adapter name, fitted partner)]`` of the partners' ``plans`` beside the
    fitted ``forecaster``, each reading the representation (values or differences)
    ``forecaster``'s check chose (its ``difference_``)."""
    return [(p.adapter.path.stem,
             partner_forecaster(forecaster, p, forecaster.difference_).fit(y, X=X, fh=fh))
            for p in plans]


def mean_forecast(frames):
    """The mean of the members' point forecasts."""
    return sum(frames) / len(frames)


def mixture_levels(alpha):
    """The levels to read every member at for the mixture's quantiles at ``alpha``."""
    return sorted(set(MIXTURE_LEVELS) | {float(a) for a in alpha})


def mixture_quantiles(frames, levels, alpha):
    """Quantiles at ``alpha`` of the equal-weight mixture of the members' forecast
    distributions, each given by its quantile frame at ``levels`` (sktime's
    ``predict_quantiles`` layout: columns ``(variable, level)``).

    Each member's distribution function is taken as linear between its quantiles,
    0 below its lowest and 1 above its highest; the mixture's is their mean, and its
    quantiles are read off it by linear interpolation.
    """
    levels = np.asarray(levels, dtype=float)
    variables = frames[0].columns.get_level_values(0).unique()
    out = {}
    for var in variables:
        stack = np.stack([f[var][list(levels)].to_numpy(dtype=float) for f in frames],
                         axis=1)  # (rows, members, levels)
        q = np.array([mixture_at(row, levels, alpha) for row in stack])
        for j, a in enumerate(alpha):
            out[(var, a)] = q[:, j]
    frame = pd.DataFrame(out, index=frames[0].index)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def mixture_at(quantiles, levels, alpha, weights=None):
    """Quantiles at ``alpha`` of the mixture of the members' ``quantiles``
    (``(members, levels)``) of one forecast step, with equal weight or ``weights``
    (summing to 1)."""
    grid = np.sort(quantiles.ravel())
    cdfs = [np.interp(grid, np.sort(q), levels, left=0.0, right=1.0) for q in quantiles]
    cdf = (np.mean(cdfs, axis=0) if weights is None
           else sum(w * c for w, c in zip(weights, cdfs)))
    # strictly increasing for the inverse: flat stretches take their first point
    cdf = np.maximum.accumulate(cdf) + np.arange(len(cdf)) * 1e-12
    return np.interp(np.asarray(alpha, dtype=float), cdf, grid)


def mixture_variance(points, variances):
    """The variance of the equal-weight mixture: the mean of the members'
    variances plus the spread of their means (``points``) around the mixture's."""
    mean = mean_forecast(points)
    return sum(v + (p - mean) ** 2 for p, v in zip(points, variances)) / len(points)


def mixture_distribution(names, distributions):
    """skpro's equal-weight ``Mixture`` of the members' distributions."""
    from skpro.distributions import Mixture

    first = distributions[0]
    return Mixture(distributions=list(zip(names, distributions)), index=first.index,
                   columns=first.columns)


# ------------------------------------------------- a forecaster and its members
# ``own``: the forecaster's own output; ``members``: its ``combined_forecasters_``
# (``(name, fitted forecaster)``); each function returns ``own`` unchanged when
# there are none.


def combined_point(own, members, fh, X):
    """The mean of ``own`` and the members' point forecasts."""
    if not members:
        return own
    return mean_forecast([own] + [m.predict(fh, X) for _, m in members])


def combined_quantiles(own_at, members, fh, X, alpha):
    """The mixture's quantiles at ``alpha``; ``own_at(levels)``: the forecaster's
    own quantiles at ``levels``."""
    if not members:
        return own_at(alpha)
    levels = mixture_levels(alpha)
    frames = [own_at(levels)] + [m.predict_quantiles(fh, X, alpha=levels)
                                 for _, m in members]
    return mixture_quantiles(frames, levels, list(alpha))


def combined_variance(own_point, own, members, fh, X):
    """The mixture's variance; ``own_point()``: the forecaster's own point
    forecast (its mean in the mixture)."""
    if not members:
        return own
    points = [own_point()] + [m.predict(fh, X) for _, m in members]
    return mixture_variance(points, [own] + [m.predict_var(fh, X) for _, m in members])


def combined_distribution(own, members, fh, X, marginal=True):
    """skpro's ``Mixture`` of ``own`` and the members' distributions."""
    if not members:
        return own
    names = ["own"] + [n for n, _ in members]
    return mixture_distribution(names, [own] + [m.predict_proba(fh, X, marginal=marginal)
                                                for _, m in members])
