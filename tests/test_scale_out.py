"""Scale-out backtesting: ``evaluate`` over many series with the dask and joblib
backends gives the same numbers as the serial run."""

import numpy as np
import pandas as pd
import pytest
from sktime.forecasting.model_evaluation import evaluate
from sktime.split import ExpandingWindowSplitter
from sktime.utils._testing.hierarchical import _make_hierarchical

from sktime_llmforecast import LLMForecaster, PatchTokenizer
from sktime_llmforecast.metrics import QuantileCRPS
from tests.conftest import TINY_GPT2


def _panel():
    # 12 series of 48 monthly values each
    return _make_hierarchical(hierarchy_levels=(3, 4), min_timepoints=48, max_timepoints=48,
                              random_state=0, all_positive=True)


def _run(backend):
    f = LLMForecaster(backbone=TINY_GPT2, pretrained=None,
                      tokenizer=PatchTokenizer(patch_len=6, stride=3),
                      context_length=18, max_epochs=2, random_state=0, device="cpu")
    cv = ExpandingWindowSplitter(fh=[1, 2, 3], initial_window=36, step_length=4)
    out = evaluate(f, cv, _panel(), scoring=[QuantileCRPS()], backend=backend,
                   error_score="raise")
    out = out.drop(columns=[c for c in out.columns if c.endswith("_time")])
    return out.astype({"cutoff": str})  # dask returns it as a pandas string column


@pytest.mark.parametrize("backend", ["dask", "joblib", "threading"])
def test_parallel_backends_match_the_serial_run(backend):
    serial = _run(None)
    assert len(serial) == 3 and np.isfinite(serial.filter(like="test_").to_numpy()).all()
    if backend == "joblib":
        parallel = _run("loky")  # joblib's process backend
    else:
        parallel = _run(backend)
    pd.testing.assert_frame_equal(parallel.reset_index(drop=True),
                                  serial.reset_index(drop=True))
