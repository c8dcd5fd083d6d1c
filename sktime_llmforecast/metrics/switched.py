"""The LossSwitcher's choice of point losses, as one sktime metric."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sktime.performance_metrics.forecasting._base import BaseForecastingErrorMetric

from sktime_llmforecast.losses import (
    CATEGORY_LOSSES,
    loss_category,
    loss_names,
    make_loss,
    series_features,
)

_POINT = tuple(loss_names("point"))  # mse, mae, huber, log_cosh, mase, smape


def switched_point_losses(y_train):
    """The category of a training series and the point losses of its loss set.

    The same decision list as ``LossSwitcher``; distributional losses of the set
    are left out (a point forecast cannot be scored by them), and a set without
    point losses falls back to ``["mse"]``.

    Parameters
    ----------
    y_train : array-like, 1-D

    Returns
    -------
    category : str
    names : list of str
    features : dict
    """
    features = series_features([np.asarray(y_train, dtype=float)])
    category = loss_category(features)
    names = [n for n in CATEGORY_LOSSES[category] if n in _POINT] or ["mse"]
    return category, names, features


class SwitchedLoss(BaseForecastingErrorMetric):
    """The loss switcher as a metric: the data decides which errors count.

    From ``y_train`` it finds the category of each variable's series with
    ``LossSwitcher``'s decision list (intermittent, heavy-tailed, multi-scale, seasonal/trend,
    irregular; see ``docs/losses.md``) and scores the forecast with the point
    losses of that category, combined with ``weights`` (e.g. a fitted
    ``LLMForecaster``'s ``loss_weights_``; default equal weights). Squared,
    absolute, Huber and log-cosh errors are taken in units of ``y_train``'s
    standard deviation, the scaled error over ``y_train``'s in-sample seasonal
    naive error, sMAPE on the raw values, so the terms are comparable. A metric
    that ranks forecasters by what matters for the data at hand, usable in
    ``evaluate`` and ``ForecastingGridSearchCV``.

    Parameters
    ----------
    weights : dict or None, default=None
        ``{loss name: weight}``; names not in the chosen set are ignored, chosen
        names missing from it get weight 0 (None: 1 / number of chosen losses).
    huber_delta : float, default=1.0
        Huber threshold in standard deviations of ``y_train``.
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
    multilevel : {"uniform_average", "uniform_average_time", "raw_values"}, default="uniform_average"
    by_index : bool, default=False

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sktime_llmforecast.metrics import SwitchedLoss
    >>> t = np.arange(120)
    >>> y_train = pd.Series(100 + t + 10 * np.sin(2 * np.pi * t / 12))
    >>> y_true = pd.Series([221.0, 225.0], index=[120, 121])
    >>> y_pred = pd.Series([220.0, 226.0], index=[120, 121])
    >>> loss = SwitchedLoss()
    >>> round(float(loss(y_true, y_pred, y_train=y_train)), 4)
    0.0421
    """

    _tags = {
        "authors": ["sktime-llmforecast developers"],
        "requires-y-train": True,
        "requires-y-pred-benchmark": False,
        "lower_is_better": True,
    }

    def __init__(self, weights=None, huber_delta=1.0, multioutput="uniform_average",
                 multilevel="uniform_average", by_index=False):
        self.weights = weights
        self.huber_delta = huber_delta
        super().__init__(multioutput=multioutput, multilevel=multilevel, by_index=by_index)

    def _evaluate_by_index(self, y_true, y_pred, **kwargs):
        y_train = kwargs["y_train"]
        if isinstance(y_train, pd.Series):
            y_train = y_train.to_frame()
        train_all = y_train.to_numpy(dtype=float)
        yt_all, yp_all = y_true.to_numpy(dtype=float), y_pred.to_numpy(dtype=float)
        total = np.empty_like(yt_all)
        for j in range(yt_all.shape[1]):  # every variable on its own history
            train, yt, yp = train_all[:, j], yt_all[:, j], yp_all[:, j]
            _, names, features = switched_point_losses(train)
            if self.weights is None:
                weights = {n: 1.0 / len(names) for n in names}
            else:
                weights = {n: float(self.weights.get(n, 0.0)) for n in names}
            sd = max(train.std(), 1e-12)
            sp = features["season"] if len(train) > 2 * features["season"] else 1
            naive = max(np.abs(train[sp:] - train[:-sp]).mean(), 1e-12)
            err = (yp - yt) / sd
            zero = np.zeros_like(err)
            terms = {}
            for name in weights:  # each training loss's own elementwise function
                loss = make_loss(name, **({"delta": self.huber_delta} if name == "huber"
                                          else {}))
                if loss.units == "original":  # sMAPE: raw values
                    terms[name] = loss.values(yp, yt)
                elif loss.needs_scale:  # MASE: over the in-sample naive error
                    terms[name] = loss.values(yp, yt, scale=np.full_like(yt, naive))
                else:  # squared, absolute, Huber, log-cosh: in sd units
                    terms[name] = loss.values(err, zero)
            total[:, j] = sum(w * terms[n] for n, w in weights.items())
        raw = pd.DataFrame(total, index=y_true.index, columns=y_true.columns)
        raw = self._get_weighted_df(raw, **kwargs)
        return self._handle_multioutput(raw, self.multioutput)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings for the metric."""
        return [{}, {"weights": {"mse": 2.0, "mase": 0.5, "huber": 1.0}, "huber_delta": 0.5}]
