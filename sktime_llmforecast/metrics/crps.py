"""Sample-based CRPS (properscoring) as an sktime probabilistic metric."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sktime.performance_metrics.forecasting.probabilistic._classes import (
    _BaseDistrForecastingMetric,
)


class SampleCRPS(_BaseDistrForecastingMetric):
    """Continuous ranked probability score of a sample (ensemble) forecast.

    For every time point the forecast distribution is represented by samples
    ``x_1..x_S`` and scored against the truth ``y`` with
    ``properscoring.crps_ensemble``, i.e. ``mean|x_i - y| - 0.5 mean|x_i - x_j|``.
    An ``Empirical`` prediction (what ``LLMForecaster.predict_proba`` returns in
    its sampling modes) is scored on its own samples, exactly; any other
    distribution is scored on ``n_samples`` draws from it (seeded).

    Use it wherever sktime takes a probabilistic metric, e.g.
    ``evaluate(forecaster, cv, y, scoring=SampleCRPS())``.

    Parameters
    ----------
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
        How to aggregate over variables.
    n_samples : int, default=200
        Draws for non-empirical distributions.
    random_state : int, default=0
        Seed of those draws.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skpro.distributions import Empirical
    >>> from sktime_llmforecast.metrics import SampleCRPS
    >>> idx = pd.RangeIndex(2)
    >>> spl = pd.DataFrame(
    ...     {"y": [0.0, 1.0, 1.0, 2.0]},
    ...     index=pd.MultiIndex.from_product([[0, 1], idx]),
    ... )
    >>> dist = Empirical(spl, index=idx, columns=["y"])
    >>> y_true = pd.DataFrame({"y": [1.0, 1.0]}, index=idx)
    >>> float(round(SampleCRPS()(y_true, dist), 3))
    0.25
    """

    _tags = {
        "authors": ["sktime-llmforecast developers"],
        "python_dependencies": ["properscoring", "skpro"],
        "scitype:y_pred": "pred_proba",
        "lower_is_better": True,
        "capability:random_state": True,
        "property:randomness": "derandomized",
    }

    multivariate = False  # scored per variable (marginal CRPS)

    def __init__(self, multioutput="uniform_average", n_samples=200, random_state=0):
        self.n_samples = n_samples
        self.random_state = random_state
        super().__init__(multioutput=multioutput)

    def _samples(self, y_pred, index):
        """Array ``(len(index), S)`` of samples of a one-column distribution."""
        spl = getattr(y_pred, "spl", None)
        if spl is None:
            np.random.seed(self.random_state)  # skpro samples with numpy's RNG
            spl = y_pred.sample(self.n_samples)
        col = spl.iloc[:, 0]
        wide = col.unstack(level=0)  # rows: time (and instance), columns: samples
        return wide.reindex(index).to_numpy(dtype=float)

    def _evaluate_by_index(self, y_true, y_pred, multioutput, **kwargs):
        import properscoring

        ens = self._samples(y_pred, y_true.index)
        obs = y_true.iloc[:, 0].to_numpy(dtype=float)
        scores = properscoring.crps_ensemble(obs, ens)
        return pd.DataFrame({y_true.columns[0]: scores}, index=y_true.index)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings for the metric."""
        return [{}, {"n_samples": 50, "random_state": 1}]
