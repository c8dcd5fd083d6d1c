"""CRPS approximated from quantile forecasts, as an sktime probabilistic metric."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sktime.performance_metrics.forecasting.probabilistic._classes import (
    _BaseProbaForecastingErrorMetric,
)

#: default levels: 0.05, 0.10, ..., 0.95
DEFAULT_LEVELS = tuple(round(0.05 * i, 2) for i in range(1, 20))


def midpoint_level_weights(levels):
    """Midpoint-rule weights of sorted levels for integrating over (0, 1).

    Each level stands for the interval between the midpoints to its neighbours,
    the outermost ones for the rest of the way to 0 and 1; the weights sum to 1.
    """
    lv = np.asarray(levels, dtype=float)
    edges = np.r_[0.0, (lv[1:] + lv[:-1]) / 2, 1.0]
    return np.diff(edges)


class QuantileCRPS(_BaseProbaForecastingErrorMetric):
    """CRPS from quantile forecasts: ``2 * integral of the pinball loss over levels``.

    Scores ``predict_quantiles`` output in the units of the data, comparable with
    the CRPS of distributions (sktime's ``CRPS``) and of samples
    (``SampleCRPS``). The integral is a midpoint-rule sum over the predicted
    levels, so it tends to the exact CRPS as the levels get denser (19 levels by
    default). sktime's ``PinballLoss`` averages the levels with equal weight
    instead: about half of this score, with less weight on the tails.

    Parameters
    ----------
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
        How to aggregate over variables.
    score_average : bool, default=True
        Kept for sktime's interface; the score is one number per variable.
    alpha : tuple of float, default=(0.05, 0.10, ..., 0.95)
        The levels ``evaluate`` asks the forecaster for; a direct call uses the
        levels present in ``y_pred`` when ``alpha`` is None.

    Examples
    --------
    >>> import pandas as pd
    >>> from sktime_llmforecast.metrics import QuantileCRPS
    >>> y_true = pd.DataFrame({"y": [1.0, 2.0]})
    >>> y_pred = pd.DataFrame({("y", 0.25): [0.0, 2.0], ("y", 0.75): [2.0, 2.0]})
    >>> float(QuantileCRPS(alpha=None)(y_true, y_pred))
    0.25
    """

    _tags = {
        "authors": ["sktime-llmforecast developers"],
        "scitype:y_pred": "pred_quantiles",
        "lower_is_better": True,
    }

    def __init__(self, multioutput="uniform_average", score_average=True,
                 alpha=DEFAULT_LEVELS):
        self.alpha = alpha
        self._alpha = None if alpha is None else sorted(self._check_alpha(list(alpha)))
        super().__init__(multioutput=multioutput, score_average=score_average)

    def _evaluate_by_index(self, y_true, y_pred, multioutput, **kwargs):
        yt = np.asarray(y_true, dtype=float)
        yt = yt.reshape(len(yt), -1)
        names = list(getattr(y_true, "columns", []))
        cols = {}
        for j, var in enumerate(y_pred.columns.get_level_values(0).unique()):
            j = names.index(var) if var in names else j  # match by name when named
            sub = y_pred[var]
            levels = np.sort(np.asarray(sub.columns, dtype=float))
            if self._alpha is not None:
                missing = sorted(set(self._alpha) - set(levels))
                if missing:
                    raise ValueError(
                        f"QuantileCRPS needs the levels {missing} in y_pred; predict "
                        "them or set alpha=None to use the predicted levels."
                    )
                levels = np.asarray(self._alpha, dtype=float)
            q = np.column_stack([sub[lv].to_numpy(dtype=float) for lv in levels])
            y = yt[:, j : j + 1]
            diff = y - q
            pin = np.maximum(levels * diff, (levels - 1) * diff)
            cols[(var, "crps")] = 2.0 * pin @ midpoint_level_weights(levels)
        out = pd.DataFrame(cols, index=getattr(y_true, "index", None))
        out.columns = pd.MultiIndex.from_tuples(out.columns)
        return out

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings for the metric."""
        return [{}, {"alpha": (0.1, 0.5, 0.9)}]
