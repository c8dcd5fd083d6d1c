"""Point-forecast metrics that sktime does not ship (Huber, log-cosh)."""

from __future__ import annotations

import pandas as pd
from sktime.performance_metrics.forecasting._base import BaseForecastingErrorMetric

from sktime_llmforecast.losses import HuberLoss, LogCoshLoss


class MeanHuberError(BaseForecastingErrorMetric):
    """Mean Huber loss: squared for errors up to ``delta``, linear beyond.

    The metric form of the ``"huber"`` training loss (in the data's units here;
    the training loss uses standardised units). Between MSE (``delta`` large) and
    MAE (``delta`` small), robust to a few outlying errors.

    Parameters
    ----------
    delta : float, default=1.0
        Where the loss turns from quadratic to linear, in the data's units.
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
        How to aggregate over variables.
    multilevel : {"uniform_average", "uniform_average_time", "raw_values"}, default="uniform_average"
        How to aggregate over the levels of a hierarchy.
    by_index : bool, default=False
        Whether a direct call returns the loss per time point.

    Examples
    --------
    >>> import numpy as np
    >>> from sktime_llmforecast.metrics import MeanHuberError
    >>> y_true = np.array([1.0, 2.0, 3.0])
    >>> y_pred = np.array([1.5, 2.0, 6.0])
    >>> float(MeanHuberError(delta=1.0)(y_true, y_pred))
    0.875
    """

    _tags = {"authors": ["sktime-llmforecast developers"], "lower_is_better": True}

    def __init__(self, delta=1.0, multioutput="uniform_average",
                 multilevel="uniform_average", by_index=False):
        self.delta = delta
        super().__init__(multioutput=multioutput, multilevel=multilevel, by_index=by_index)

    def _evaluate_by_index(self, y_true, y_pred, **kwargs):
        if not self.delta > 0:
            raise ValueError(f"MeanHuberError delta must be > 0, got {self.delta!r}.")
        # the training loss's own elementwise function (the math exists once)
        raw = _elementwise(HuberLoss(delta=self.delta), y_true, y_pred)
        raw = self._get_weighted_df(raw, **kwargs)
        return self._handle_multioutput(raw, self.multioutput)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings for the metric."""
        return [{}, {"delta": 0.5}]


class MeanLogCoshError(BaseForecastingErrorMetric):
    """Mean log-cosh error, ``mean(log(cosh(y_pred - y_true)))``.

    The metric form of the ``"log_cosh"`` training loss: about half the squared
    error for small errors and the absolute error minus ``log 2`` for large ones.

    Parameters
    ----------
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
    multilevel : {"uniform_average", "uniform_average_time", "raw_values"}, default="uniform_average"
    by_index : bool, default=False

    Examples
    --------
    >>> import numpy as np
    >>> from sktime_llmforecast.metrics import MeanLogCoshError
    >>> round(float(MeanLogCoshError()(np.array([0.0, 0.0]), np.array([0.0, 1.0]))), 4)
    0.2169
    """

    _tags = {"authors": ["sktime-llmforecast developers"], "lower_is_better": True}

    def __init__(self, multioutput="uniform_average", multilevel="uniform_average",
                 by_index=False):
        super().__init__(multioutput=multioutput, multilevel=multilevel, by_index=by_index)

    def _evaluate_by_index(self, y_true, y_pred, **kwargs):
        raw = _elementwise(LogCoshLoss(), y_true, y_pred)
        raw = self._get_weighted_df(raw, **kwargs)
        return self._handle_multioutput(raw, self.multioutput)


def _elementwise(loss, y_true, y_pred):
    """``loss.values`` of every entry, as a frame shaped like ``y_true``."""
    values = loss.values(y_pred.to_numpy(dtype=float), y_true.to_numpy(dtype=float))
    return pd.DataFrame(values, index=y_true.index, columns=y_true.columns)
