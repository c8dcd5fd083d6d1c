"""Several zero-shot forecasters of one adapter, decoded in one batch: the rolling-origin
check's zero-shot folds forecast as each forecaster alone would."""

import numpy as np
import pandas as pd
import pytest
from sktime.datasets import load_airline

from sktime_llmforecast import BinTokenizer, LLMForecaster, PatchTokenizer
from sktime_llmforecast.forecasting import _fit_check
from sktime_llmforecast.forecasting._fitted_paths import shared_network_predictions
from sktime_llmforecast.nn import TrainResult, empty_history
from tests.conftest import TINY_GPT2_1 as TINY
from tests.conftest import pretrain_tiny_adapters

TOKENIZERS = {"patch": (PatchTokenizer(patch_len=8, stride=4), 24),
              "bins": (BinTokenizer(n_bins=32), 16)}


@pytest.fixture(scope="module")
def adapters(tmp_path_factory):
    return pretrain_tiny_adapters(tmp_path_factory.mktemp("adapters"), TOKENIZERS, 4)


def _zero_shot(adapter, **kw):
    params = {"backbone": TINY, "n_layers": 1, "pretrained": str(adapter),
              "finetune_epochs": 0, "check_folds": 0, "validation_fraction": 0.0,
              "random_state": 0, "device": "cpu", **kw}
    return LLMForecaster(**params)


def _alone(f, X=None):
    """``f.predict`` in the inner layout the batch gives (a DataFrame)."""
    pred = f.predict(X=X)
    return pred.to_frame() if isinstance(pred, pd.Series) else pred


def _fitted(adapter, y, X, cuts, **kw):
    """One zero-shot forecaster per cutoff and representation, and its X ahead."""
    out = []
    for cut in cuts:
        for difference in (False, True):
            x_past = None if X is None else X.iloc[:cut]
            f = _zero_shot(adapter, difference=difference, **kw).fit(
                y.iloc[:cut], X=x_past, fh=[1, 2, 3, 4, 5])
            out.append((f, None if X is None else X.iloc[cut:cut + 5]))
    return out


@pytest.mark.parametrize("with_x", [False, True])
def test_patch_forecasts_decoded_together_equal_each_alone(adapters, with_x):
    y = load_airline()
    X = pd.DataFrame({"t": np.arange(len(y), dtype=float)}, index=y.index) if with_x else None
    fitted = _fitted(adapters["patch"], y, X, (100, 120, 139))
    together = shared_network_predictions([f for f, _ in fitted], [1, 2, 3, 4, 5],
                                          [x for _, x in fitted])
    for (f, x), pred in zip(fitted, together):
        pd.testing.assert_frame_equal(pred, _alone(f, x), rtol=1e-6)


def test_greedy_token_forecasts_decoded_together_equal_each_alone(adapters):
    y = load_airline()
    fitted = _fitted(adapters["bins"], y, None, (100, 139), point_forecast="greedy")
    together = shared_network_predictions([f for f, _ in fitted], [1, 2, 3, 4, 5],
                                          [None] * len(fitted))
    for (f, _), pred in zip(fitted, together):
        pd.testing.assert_frame_equal(pred, _alone(f), rtol=1e-6)


def test_sampled_token_forecasts_decoded_together_differ_only_by_the_draws(adapters):
    """One stream of random numbers for the batch: other draws of the same
    distribution, so each batch median lies inside the forecaster's own 90 % band."""
    y = load_airline()
    fitted = _fitted(adapters["bins"], y, None, (100, 139), num_samples=50)
    together = shared_network_predictions([f for f, _ in fitted], [1, 2, 3, 4, 5],
                                          [None] * len(fitted))
    for (f, _), pred in zip(fitted, together):
        alone = _alone(f)
        assert pred.index.equals(alone.index) and not pred.equals(alone)
        band = f.predict_quantiles(alpha=[0.05, 0.95]).to_numpy()
        assert ((band[:, :1] <= pred.to_numpy()) & (pred.to_numpy() <= band[:, 1:])).all()


def test_forecasters_of_different_networks_are_refused(adapters):
    y = load_airline()
    a = _zero_shot(adapters["patch"]).fit(y, fh=[1])
    b = _zero_shot(adapters["patch"], validation_fraction=0.2).fit(y, fh=[1])  # calibrated
    with pytest.raises(ValueError, match="one network"):
        shared_network_predictions([a, b], [1], [None, None])


def test_the_check_scores_zero_shot_folds_as_one_by_one_forecasts(adapters):
    """The check's zero-shot folds, decoded together, score as if decoded alone."""
    y = load_airline()
    candidates = {_fit_check.label(d, False): _zero_shot(adapters["patch"], difference=d)
                  for d in (False, True)}
    from_end = np.arange(len(y))[::-1]
    args = (candidates, y, None, from_end, [30, 20, 10], 5)
    together = _fit_check._fold_errors(*args, shared=True)
    alone = _fit_check._fold_errors(*args, shared=False)
    assert together.keys() == alone.keys() == {30, 20, 10}
    for back, fold in alone.items():
        assert together[back] == pytest.approx(fold, rel=1e-6)


def test_a_fine_tune_that_changes_nothing_is_a_tie_the_pretrained_model_wins(adapters):
    """The zero-shot folds are decoded in one batch, the fine-tuned ones alone: float
    rounding must not turn a tie into a fine-tune."""
    f = _zero_shot(adapters["patch"], finetune_epochs=2, learning_rate=1e-12,
                   check_folds=2, validation_fraction=0.2, difference=False)
    check = _fit_check.run_fit_check(f, load_airline(), None, 5, 2)
    zero, tuned = check.scores["values, zero-shot"], check.scores["values, fine-tuned"]
    assert tuned == pytest.approx(zero, rel=1e-6)
    assert not check.fine_tune


def test_a_fine_tune_that_kept_the_pretrained_weights_scores_as_zero_shot(adapters,
                                                                          monkeypatch):
    """No second decode where the fine-tune kept the adapter's weights: the score is
    the zero-shot model's at that fold (for sampled tokens, not other draws)."""
    predicts = []
    real = LLMForecaster._predict
    monkeypatch.setattr(LLMForecaster, "_predict",
                        lambda self, *a, **k: predicts.append(1) or real(self, *a, **k))
    # every fine-tune keeps the pretrained weights (as no epoch lowered the loss)
    monkeypatch.setattr(LLMForecaster, "_fine_tune",
                        lambda *args: TrainResult(history=empty_history()))
    f = _zero_shot(adapters["bins"], finetune_epochs=2, check_folds=2,
                   validation_fraction=0.2, difference=False)
    check = _fit_check.run_fit_check(f, load_airline(), None, 5, 2)
    assert check.scores["values, fine-tuned"] == check.scores["values, zero-shot"]
    assert not check.fine_tune and predicts == []
