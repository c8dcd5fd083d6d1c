"""tokenizer="auto" with pretrained="default": successive halving over the shipped
adapters (zero-shot rung, then the best two fine-tuned), the primary (patch) adapter
kept unless another beats it by ``CHALLENGE_MARGIN``, and combined with those within
``COMBINE_MARGIN`` of it."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from sktime.datasets import load_airline

from sktime_llmforecast import (
    BinTokenizer,
    ChunkedDigitTokenizer,
    LLMForecaster,
    PatchTokenizer,
)
from sktime_llmforecast.forecasting import _adapter_search
from sktime_llmforecast.forecasting import plan as plan_module
from tests.conftest import TINY_GPT2_1 as TINY
from tests.conftest import pretrain_tiny_adapters

ARCHS = {  # stem -> (tokenizer, context_length): the token adapters read shorter contexts
    "tiny-patch": (PatchTokenizer(patch_len=8, stride=4), 24),
    "tiny-patch4": (PatchTokenizer(patch_len=4, stride=4), 24),
    "tiny-bins": (BinTokenizer(n_bins=32), 16),
    "tiny-chunked": (ChunkedDigitTokenizer(k=2), 16),
}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """Three tiny adapters of the same backbone, as if shipped (stem -> path)."""
    return pretrain_tiny_adapters(tmp_path_factory.mktemp("shipped"), ARCHS, 6)


@pytest.fixture
def ship(monkeypatch, shipped):
    """``ship(*names)``: make those adapters the package's shipped ones."""
    def _ship(*names):
        monkeypatch.setattr(plan_module, "shipped_adapters",
                            lambda: sorted(shipped[n] for n in names))
    return _ship


def _auto(**kw):
    params = dict(backbone=TINY, n_layers=1, tokenizer="auto", pretrained="default",
                  max_epochs=2, random_state=0, device="cpu")
    params.update(kw)
    return LLMForecaster(**params)


def _scored(score):
    """A scripted rung score: ``score`` on one window."""
    return _adapter_search.RungScore(score, 1, np.array([score]))


@pytest.fixture
def margin(monkeypatch):
    """``margin(m, combine=0)``: set the challenge margin (a large one: any adapter
    challenges) and the combination's (0: the adapter kept forecasts alone)."""
    def _margin(m, combine=0.0):
        monkeypatch.setattr(_adapter_search, "CHALLENGE_MARGIN", m)
        monkeypatch.setattr(_adapter_search, "COMBINE_MARGIN", combine)
    return _margin


def test_auto_scores_every_adapter_zero_shot_and_fine_tunes_the_best_two(ship, margin):
    ship("tiny-patch", "tiny-bins", "tiny-chunked")
    margin(1e9)  # every adapter challenges the primary one
    y = load_airline()
    f = _auto().fit(y, fh=[1, 2, 3])
    scores = f.tokenizer_scores_
    zero_shot = scores[scores["round"] == 0].set_index("adapter")
    assert set(zero_shot.index) == {"tiny-patch", "tiny-bins", "tiny-chunked"}
    assert np.isfinite(zero_shot["score"]).all() and (zero_shot["error"] == "").all()
    # nobody can be ruled out against so high a bar: all score every window
    assert zero_shot["windows"].nunique() == 1 and zero_shot["windows"].iloc[0] > 1
    tuned = scores[scores["round"] == 1].set_index("adapter")
    # the two best zero-shot adapters, and only they, are fine-tuned
    assert set(tuned.index) == set(zero_shot["score"].nsmallest(2).index)
    winner = tuned["score"].idxmin()
    assert f.adapter_card_["network"]["tokenizer"]["class"] == \
        type(f.network_.tokenizer).__name__ == type(f.selected_tokenizer_).__name__
    assert type(f.selected_tokenizer_).__name__ == type(ARCHS[winner][0]).__name__
    assert np.isfinite(f.predict().values).all()


@pytest.mark.parametrize("zero_shot, tuned, finalists, winner", [
    # no challenger within the margin (0.85 > 0.8 * 1.0): the primary, no fine-tune
    ({"patch": 1.0, "bins": 0.85, "chunked": 0.9}, {}, set(), "patch"),
    # chunked challenges; it and the primary are the best two; its fine-tuned score
    # (0.5) is not below 0.8 times the primary's (0.6): the primary is kept
    ({"patch": 1.0, "bins": 0.85, "chunked": 0.5}, {"patch": 0.6, "chunked": 0.5},
     {"patch", "chunked"}, "patch"),
    ({"patch": 1.0, "bins": 0.85, "chunked": 0.5}, {"patch": 0.6, "chunked": 0.4},
     {"patch", "chunked"}, "chunked"),
    # both token adapters challenge: they are the best two; the better one wins
    ({"patch": 1.0, "bins": 0.7, "chunked": 0.5}, {"bins": 0.3, "chunked": 0.5},
     {"bins", "chunked"}, "bins"),
])
def test_another_adapter_must_beat_the_primary_one_by_the_margin(
        ship, margin, monkeypatch, zero_shot, tuned, finalists, winner):
    ship("tiny-patch", "tiny-bins", "tiny-chunked")
    margin(0.8)
    names = {PatchTokenizer: "patch", BinTokenizer: "bins", ChunkedDigitTokenizer: "chunked"}
    seen = set()

    def scripted(net, *args):
        name = names[type(net.tokenizer)]
        if name in seen:  # the second score of an adapter: after its fine-tune
            return _scored(tuned[name])
        seen.add(name)
        return _scored(zero_shot[name])

    monkeypatch.setattr(_adapter_search, "rung_score", scripted)
    f = _auto().fit(load_airline(), fh=[1, 2, 3])
    scores = f.tokenizer_scores_
    assert set(scores.query("round == 1")["adapter"]) == {f"tiny-{n}" for n in finalists}
    assert names[type(f.network_.tokenizer)] == winner
    assert names[type(f.selected_tokenizer_)] == winner
    # the kept adapter is fitted as if it were fixed: its rolling-origin check ran
    assert f.check_scores_ is not None


@pytest.mark.parametrize("n", [1, 2, 5, 16])
def test_a_raced_score_challenges_exactly_when_its_mean_over_every_window_would(
        monkeypatch, n):
    """Raced against the primary adapter's score, a challenger is decoded the
    primary's hardest windows first and stops after the first batch whose errors
    sum to the bar times all windows; its score is below the bar exactly when its
    mean over every window would be, and is that mean when every window ran."""
    rng = np.random.default_rng(n)
    margin = _adapter_search.racing_margin()
    for _ in range(40):
        errors, own = rng.gamma(2.0, 0.5, size=n), rng.gamma(2.0, 0.5, size=n)
        primary = _adapter_search.RungScore(float(own.mean()), n, own)
        bar = margin * primary.score
        batches = _adapter_search.racing_batches(own)
        order, cuts = np.concatenate(batches), np.cumsum([len(b) for b in batches])
        assert sorted(order.tolist()) == list(range(n))
        assert own[order].tolist() == sorted(own.tolist(), reverse=True)
        decoded = []

        def fake_errors(net, context, mask, target, scale, device):
            decoded.extend(context.tolist())  # the window ids, as if decoded
            return errors[context]

        monkeypatch.setattr(_adapter_search, "window_errors", fake_errors)
        ids = np.arange(n)
        score = _adapter_search.rung_score(None, (ids, ids, ids, ids), "cpu", primary)
        assert (score.score < bar) == (errors.mean() < bar)
        reached = np.nonzero(np.cumsum(errors[order])[cuts - 1] >= bar * n)[0]
        stop = cuts[reached[0]] if len(reached) else n
        assert score.windows == len(decoded) == stop
        assert decoded == order[:stop].tolist()
        scored = order[:stop]
        np.testing.assert_array_equal(score.errors[scored], errors[scored])
        assert np.isnan(score.errors).sum() == n - stop
        expected = (errors.mean() if stop == n
                    else primary.score * errors[scored].sum() / own[scored].sum())
        assert score.score == pytest.approx(expected)
        # without a rival, or against one that failed: every window, in one batch
        for rival in (None, _adapter_search.RungScore(np.inf, 0, np.array([]))):
            decoded.clear()
            full = _adapter_search.rung_score(None, (ids, ids, ids, ids), "cpu", rival)
            assert decoded == list(range(n)) and full.windows == n
            assert full.score == pytest.approx(errors.mean())


def test_an_adapter_that_cannot_challenge_stops_decoding_after_half_the_windows(
        ship, margin, monkeypatch):
    ship("tiny-patch", "tiny-bins", "tiny-chunked")
    margin(1e-9)  # a bar no adapter can come below
    decoded, errors = [], _adapter_search.window_errors

    def counted(net, context, *args):
        decoded.append((type(net.tokenizer).__name__, len(context)))
        return errors(net, context, *args)

    monkeypatch.setattr(_adapter_search, "window_errors", counted)
    f = _auto().fit(load_airline(), fh=[1, 2, 3])
    zero = f.tokenizer_scores_.set_index("adapter")
    n = zero.loc["tiny-patch", "windows"]
    assert n > 2 and set(f.tokenizer_scores_["round"]) == {0}
    for stem, name in (("tiny-bins", "BinTokenizer"),
                       ("tiny-chunked", "ChunkedDigitTokenizer")):
        assert zero.loc[stem, "windows"] == (n + 1) // 2
        assert sum(k for t, k in decoded if t == name) == (n + 1) // 2
        assert np.isfinite(zero.loc[stem, "score"])
    assert isinstance(f.network_.tokenizer, PatchTokenizer)


def _bins_win(monkeypatch):
    """Make the scaled-bin adapter score best in both rungs."""
    monkeypatch.setattr(_adapter_search, "rung_score",
                        lambda net, *a: _scored(
                            0.5 if isinstance(net.tokenizer, BinTokenizer) else 1.0))


@pytest.mark.parametrize("challenge", [0.0, 1e9])
def test_the_winner_is_the_forecaster_its_adapter_gives_when_fixed(
        ship, margin, monkeypatch, challenge):
    """Whichever adapter wins is fitted as if it were fixed, its rolling-origin
    check included (a token winner keeps the network its rung fine-tuned when the
    check fine-tunes it on the same representation)."""
    ship("tiny-patch", "tiny-bins")
    margin(challenge)
    _bins_win(monkeypatch)
    y = load_airline()
    f = _auto().fit(y, fh=[1, 2, 3])
    if challenge == 0.0:
        assert isinstance(f.network_.tokenizer, PatchTokenizer)
        assert set(f.tokenizer_scores_["round"]) == {0}
        g = _auto(tokenizer=None).fit(y, fh=[1, 2, 3])
    else:
        assert isinstance(f.network_.tokenizer, BinTokenizer)
        g = _auto(tokenizer=BinTokenizer(n_bins=32)).fit(y, fh=[1, 2, 3])
    assert f.check_scores_ == g.check_scores_ and f.check_scores_ is not None
    np.testing.assert_allclose(f.predict().values, g.predict().values, rtol=1e-6)
    assert f.history_["epochs_run"] == g.history_["epochs_run"]
    assert f.difference_ == g.difference_


@pytest.mark.parametrize("undone", ["finetune_epochs", "difference"])
def test_a_check_that_undoes_the_rungs_fine_tune_starts_the_winner_again(
        ship, margin, monkeypatch, undone):
    """The challenger's rung fine-tuned it on values; where the check keeps the
    pretrained weights or reads differences, that network is not the one fit gives,
    so the winner starts again from its adapter."""
    from sktime_llmforecast.forecasting import llm
    real = llm.checked_plan

    def check_choosing(forecaster, plan, *args):
        plan, scores = real(forecaster, plan, *args)
        if scores is not None:  # as if the check had chosen otherwise
            plan = replace(plan, **{undone: 0 if undone == "finetune_epochs" else True})
        return plan, scores

    monkeypatch.setattr(llm, "checked_plan", check_choosing)
    ship("tiny-patch", "tiny-bins")
    margin(1e9)
    _bins_win(monkeypatch)
    y = load_airline()
    f = _auto(difference=False).fit(y, fh=[1, 2, 3])
    g = _auto(difference=False, tokenizer=BinTokenizer(n_bins=32)).fit(y, fh=[1, 2, 3])
    assert isinstance(f.network_.tokenizer, BinTokenizer)
    if undone == "finetune_epochs":
        assert f.history_["epochs_run"] == 0
    assert f.difference_ == (undone == "difference")
    assert f.history_["epochs_run"] == g.history_["epochs_run"]
    np.testing.assert_allclose(f.predict().values, g.predict().values, rtol=1e-6)


def test_a_fixed_or_none_tokenizer_takes_the_patch_adapter_without_a_search(ship):
    ship("tiny-bins", "tiny-patch")
    y = load_airline()
    for tokenizer in (None, PatchTokenizer(patch_len=8, stride=4)):
        f = _auto(tokenizer=tokenizer).fit(y, fh=[1, 2, 3])
        assert isinstance(f.network_.tokenizer, PatchTokenizer)
        assert not hasattr(f, "tokenizer_scores_")
    # pretrain continues the primary (patch) adapter
    panel = pd.concat({"a": y, "b": y * 2}, names=["id", "t"]).to_frame("v")
    assert isinstance(_auto(max_epochs=1).pretrain(panel).pretrained_network_.tokenizer,
                      PatchTokenizer)


def test_missing_values_leave_the_token_adapters_out(ship):
    ship("tiny-patch", "tiny-patch4", "tiny-bins", "tiny-chunked")
    y = load_airline().copy()
    y.iloc[[120, 130, 131, 140]] = np.nan  # inside the scored validation windows
    f = _auto().fit(y, fh=[1, 2, 3])
    assert set(f.tokenizer_scores_["adapter"]) == {"tiny-patch", "tiny-patch4"}
    assert np.isfinite(f.tokenizer_scores_["score"]).all()
    assert isinstance(f.network_.tokenizer, PatchTokenizer)
    assert np.isfinite(f.predict().values).all()


def test_token_adapters_alone_cannot_read_missing_values(ship):
    ship("tiny-bins", "tiny-chunked")
    y = load_airline().copy()
    y.iloc[130] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        _auto().fit(y, fh=[1, 2, 3])


def test_a_series_too_short_to_score_takes_the_primary_adapter(ship):
    ship("tiny-patch", "tiny-bins")
    y = load_airline().iloc[:8]
    f = _auto().fit(y, fh=[1, 2, 3, 4])
    # nothing to choose: no rung ran, and the attributes say what was kept
    assert f.tokenizer_scores_.empty
    assert "windows" in f.tokenizer_scores_.columns
    assert f.selected_tokenizer_.get_params() == f.network_.tokenizer.get_params()
    assert isinstance(f.network_.tokenizer, PatchTokenizer)
    assert np.isfinite(f.predict().values).all()


def test_missing_values_with_only_the_primary_adapter_left_say_so(ship):
    ship("tiny-patch", "tiny-bins")
    y = load_airline().copy()
    y.iloc[130] = np.nan  # the token adapter cannot read it: nothing to choose
    f = _auto().fit(y, fh=[1, 2, 3])
    assert f.tokenizer_scores_.empty
    assert isinstance(f.selected_tokenizer_, PatchTokenizer)
    assert isinstance(f.network_.tokenizer, PatchTokenizer)


def test_a_fixed_tokenizer_takes_its_shipped_adapter(ship, shipped):
    ship("tiny-patch", "tiny-bins")
    f = _auto(tokenizer=BinTokenizer(n_bins=32)).fit(load_airline(), fh=[1, 2, 3])
    assert isinstance(f.network_.tokenizer, BinTokenizer)
    assert f.adapter_card_["network"]["context_length"] == 16
    assert not hasattr(f, "tokenizer_scores_")


def test_the_search_is_deterministic_with_head_dropout(ship):
    """The rungs score in eval mode: dropout neither changes nor reseeds them."""
    ship("tiny-patch", "tiny-patch4")
    y = load_airline()
    a = _auto(head_dropout=0.5).fit(y, fh=[1, 2, 3])
    b = _auto(head_dropout=0.5).fit(y, fh=[1, 2, 3])
    pd.testing.assert_frame_equal(a.tokenizer_scores_, b.tokenizer_scores_)
    np.testing.assert_array_equal(a.predict().values, b.predict().values)


def test_settings_an_adapter_contradicts_leave_it_out(ship):
    ship("tiny-patch", "tiny-bins")
    f = _auto(context_length=16)  # only the bin adapter reads 16 values
    plan = f.plan(fh=[1, 2, 3])
    assert plan.adapter_candidates == ()
    assert isinstance(plan.tokenizer, BinTokenizer)


def test_a_token_adapter_serves_any_quantile_levels(ship):
    """A token network samples its quantiles at any level: it has no head to match."""
    levels = (0.1, 0.5, 0.9)
    ship("tiny-patch", "tiny-bins")
    f = _auto(quantile_levels=levels, num_samples=8)
    plan = f.plan(fh=[1, 2, 3])
    assert isinstance(plan.tokenizer, BinTokenizer)  # the patch head has other levels
    f.fit(load_airline(), fh=[1, 2, 3])
    assert f.adapter_card_["network"]["tokenizer"]["class"] == "BinTokenizer"
    q = f.predict_quantiles(alpha=list(levels))
    assert list(q.columns.get_level_values(-1)) == list(levels)
    assert (np.diff(q.values, axis=1) >= 0).all()


def test_running_out_of_memory_while_fine_tuning_a_finalist_stops_the_fit(
        ship, margin, monkeypatch):
    """Out of memory is not a score: ``inf`` would quietly pick the other finalist."""
    ship("tiny-patch", "tiny-bins")
    margin(1e9)  # both are finalists
    calls, score = [], _adapter_search.rung_score

    def oom_after_the_zero_shot_rung(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:  # the two zero-shot scores pass; the finalist's fails
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return score(*args, **kwargs)

    monkeypatch.setattr(_adapter_search, "rung_score", oom_after_the_zero_shot_rung)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        _auto().fit(load_airline(), fh=[1, 2, 3])
    assert len(calls) == 3
