"""Characterise training data and map it to a category of losses.

The rule is a short, documented decision list over a few robust features of the
training series (pooled over panel members and channels); see
``docs/losses.md`` for the table.
"""

from __future__ import annotations

import numpy as np

#: category -> the losses LossSwitcher couples for it (first match wins, in order)
CATEGORY_LOSSES = {
    "token": ["token_ce"],
    "intermittent": ["mae", "crps_quantile"],
    "heavy_tailed": ["huber", "log_cosh", "pinball"],
    "multi_scale": ["mase", "smape", "pinball"],
    "seasonal_trend": ["mse", "mase", "crps_quantile"],
    "irregular": ["mse", "gaussian_nll", "pinball"],
}

#: thresholds of the decision list
THRESHOLDS = {
    "zero_share": 0.3,
    "outlier_share": 0.02,
    "log10_scale_spread": 2.0,
    "seasonal_strength": 0.5,
    "trend_strength": 0.8,
}


def _acf(x, lag):
    x = x - x.mean()
    den = float((x * x).sum())
    if den <= 0 or lag >= len(x):
        return 0.0
    return float((x[lag:] * x[:-lag]).sum() / den)


def detect_season(x, max_period=400, min_acf=0.3):
    """Seasonal period of ``x``: the lag >= 2 with the largest autocorrelation of
    the first differences, if it exceeds ``min_acf`` (else 1)."""
    x = np.asarray(x, dtype=float)
    d = np.diff(x)
    top = min(max_period, len(d) // 3)
    if top < 2 or d.std() == 0:
        return 1
    acfs = [_acf(d, lag) for lag in range(2, top + 1)]
    best = int(np.argmax(acfs))
    return best + 2 if acfs[best] >= min_acf else 1


def _moving_average(x, window):
    """Centred moving average (2 x m for even m), NaN at the ends."""
    if window % 2 == 0:
        kernel = np.r_[0.5, np.ones(window - 1), 0.5] / window
    else:
        kernel = np.ones(window) / window
    out = np.full(len(x), np.nan)
    half = len(kernel) // 2
    if len(x) >= len(kernel):
        out[half : len(x) - half] = np.convolve(x, kernel, mode="valid")
    return out


def strengths(x, season):
    """Trend and seasonal strength (Wang, Smith & Hyndman 2006) from a moving-
    average decomposition: ``max(0, 1 - var(R) / var(C + R))`` per component C."""
    x = np.asarray(x, dtype=float)
    window = season if season > 1 else 5
    trend = _moving_average(x, window)
    ok = ~np.isnan(trend)
    if ok.sum() < 4:
        return 0.0, 0.0
    detr = x - trend
    seasonal = np.zeros_like(x)
    if season > 1:
        phase = np.arange(len(x)) % season
        for p in range(season):
            sel = ok & (phase == p)
            if sel.any():
                seasonal[phase == p] = detr[sel].mean()
    rem = (detr - seasonal)[ok]

    def _strength(comp):
        v = np.var(comp + rem)
        return float(max(0.0, 1.0 - np.var(rem) / v)) if v > 0 else 0.0

    return _strength(trend[ok]), (_strength(seasonal[ok]) if season > 1 else 0.0)


def series_features(series):
    """Features of the training data, pooled over a list of 1-D arrays.

    Returns
    -------
    dict
        ``n_series``; ``zero_share`` (share of exact zeros); ``outlier_share``
        (share of (seasonal) differences more than 4 robust standard deviations
        from their median); ``season`` (most common detected period);
        ``trend_strength`` and ``seasonal_strength`` (medians over series, in
        [0, 1]); ``log10_scale_spread`` (log10 of the largest over the smallest
        root-mean-square level of the panel members, 0 for one series).

    Examples
    --------
    >>> import numpy as np
    >>> from sktime_llmforecast.losses import series_features
    >>> t = np.arange(120)
    >>> f = series_features([10 + np.sin(2 * np.pi * t / 12)])
    >>> f["season"], f["seasonal_strength"] > 0.9
    (12, True)
    """
    arrays = [np.asarray(s, dtype=float) for s in series]
    arrays = [a[np.isfinite(a)] for a in arrays]
    arrays = [a for a in arrays if len(a)]
    if not arrays:
        raise ValueError("series_features needs at least one series with finite values.")
    pooled = np.concatenate(arrays)
    seasons = [detect_season(a) for a in arrays]
    season = int(np.bincount(seasons).argmax())
    outliers, n_diffs, trends, seas, levels = 0, 0, [], [], []
    for a, m in zip(arrays, seasons):
        lag = m if len(a) > 2 * m else 1
        d = a[lag:] - a[:-lag]
        if len(d) >= 4:
            mad = 1.4826 * np.median(np.abs(d - np.median(d)))
            mad = max(mad, 1e-6 * a.std())  # exact (noise-free) patterns: no outliers
            if mad > 0:
                outliers += int((np.abs(d - np.median(d)) > 4 * mad).sum())
            n_diffs += len(d)
        tr, se = strengths(a, m)
        trends.append(tr)
        seas.append(se)
        levels.append(np.sqrt(np.mean(a**2)))
    levels = np.maximum(np.asarray(levels), 1e-12)
    return {
        "n_series": len(arrays),
        "zero_share": float(np.mean(pooled == 0)),
        "outlier_share": float(outliers / n_diffs) if n_diffs else 0.0,
        "season": season,
        "trend_strength": float(np.median(trends)),
        "seasonal_strength": float(np.median(seas)),
        "log10_scale_spread": float(np.log10(levels.max() / levels.min())),
    }


def loss_category(features, token_output=False):
    """The category of the decision list for ``features`` (see ``CATEGORY_LOSSES``).

    Examples
    --------
    >>> from sktime_llmforecast.losses import loss_category
    >>> loss_category({"zero_share": 0.6})
    'intermittent'
    """
    t = THRESHOLDS
    if token_output:
        return "token"
    if features.get("zero_share", 0.0) >= t["zero_share"]:
        return "intermittent"
    if features.get("outlier_share", 0.0) >= t["outlier_share"]:
        return "heavy_tailed"
    if (
        features.get("n_series", 1) > 1
        and features.get("log10_scale_spread", 0.0) >= t["log10_scale_spread"]
    ):
        return "multi_scale"
    if (
        features.get("seasonal_strength", 0.0) >= t["seasonal_strength"]
        or features.get("trend_strength", 0.0) >= t["trend_strength"]
    ):
        return "seasonal_trend"
    return "irregular"
