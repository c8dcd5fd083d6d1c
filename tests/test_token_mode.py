"""LLMForecaster in token mode (digits, chunked digits, bins)."""

import numpy as np
import pytest
import torch
from sktime.datasets import load_airline

from sktime_llmforecast import LLMForecaster
from sktime_llmforecast.nn import forecast_paths
from sktime_llmforecast.nn.token import sample_token
from sktime_llmforecast.tokenizers import (
    BinTokenizer,
    ChunkedDigitTokenizer,
    DigitTokenizer,
    PatchTokenizer,
)
from tests.conftest import TINY_GPT2, TINY_LLAMA

BACKBONE = dict(TINY_GPT2, n_positions=512)


def _token_forecaster(tokenizer, **kw):
    params = dict(
        pretrained=None,
        backbone=BACKBONE,
        tokenizer=tokenizer,
        context_length=24,
        max_epochs=8,
        learning_rate=3e-3,
        random_state=0,
        device="cpu",
    )
    params.update(kw)
    return LLMForecaster(**params)


@pytest.mark.parametrize(
    "tokenizer",
    [ChunkedDigitTokenizer(k=3), BinTokenizer(), DigitTokenizer(precision=2)],
    ids=["chunked-k3", "bins", "digits"],
)
def test_token_mode_fits_and_predicts_airline(tokenizer):
    y = load_airline()
    f = _token_forecaster(tokenizer).fit(y[:-12], fh=np.arange(1, 13))
    pred = f.predict()
    assert (pred.index == y.index[-12:]).all()
    assert np.isfinite(pred.values).all()
    losses = f.history_["train_loss"]
    assert losses[-1] < losses[0]
    # new embedding table and vocabulary head are the trainable parameters
    net = f.network_
    assert net.interface.weight.shape == (tokenizer.vocab_size, 32)
    assert net.interface.phase.weight.shape == (tokenizer.tokens_per_value, 32)
    assert net.head.proj.out_features == tokenizer.vocab_size
    assert not any(p.requires_grad for p in net.backbone.parameters())


def test_cached_greedy_decoding_equals_full_recompute():
    y = load_airline()
    f = _token_forecaster(ChunkedDigitTokenizer(k=2), max_epochs=2)
    f.fit(y[:-6], fh=np.arange(1, 7))
    net = f.network_
    ctx = torch.tensor(y.values[-30:-6][None, :], dtype=torch.float64)
    mask = torch.ones_like(ctx, dtype=torch.bool)
    with torch.no_grad():
        cached = net.predict(ctx, mask, greedy=True).mean
        ids, att, state = net._encode_window(ctx, mask)
        w = net.tokenizer.tokens_per_value
        for step in range(6 * w):
            logits, _ = net(ids, att)
            logits = logits[:, -1].masked_fill(~net.allowed[step % w], float("-inf"))
            tok = logits.argmax(-1, keepdim=True)
            ids = torch.cat([ids, tok], 1)
            att = torch.cat([att, torch.ones_like(tok, dtype=torch.bool)], 1)
        full = net.tokenizer.decode(ids[:, -6 * w :], state)
    torch.testing.assert_close(cached, full)



def _backbone_batches(net):
    """Record (batch, tokens) of every backbone call of ``net``."""
    calls = []
    net.backbone.base_model.register_forward_pre_hook(
        lambda module, args, kwargs: calls.append(tuple(kwargs["inputs_embeds"].shape[:2])),
        with_kwargs=True,
    )
    return calls


def _chunked_network_and_two_windows(max_epochs):
    """A chunked (k=2) network fitted on AirPassengers for 6 steps, and two windows
    of 24 values ``(ctx, mask)`` to decode from."""
    y = load_airline()
    f = _token_forecaster(ChunkedDigitTokenizer(k=2), max_epochs=max_epochs)
    f.fit(y[:-6], fh=np.arange(1, 7))
    ctx = torch.tensor(np.stack([y.values[-30:-6], y.values[-40:-16]]), dtype=torch.float64)
    return f, ctx, torch.ones_like(ctx, dtype=torch.bool)


def test_sampling_reads_each_window_once_and_draws_the_same_paths():
    f, ctx, mask = _chunked_network_and_two_windows(max_epochs=2)
    net = f.network_
    calls = _backbone_batches(net)
    with torch.no_grad():
        samples = net.sample(ctx, mask, num_samples=5, seed=3)
    w, n_ctx = net.tokenizer.tokens_per_value, 24 * net.tokenizer.tokens_per_value
    # the two windows once, then one token for all 2 x 5 paths per step
    assert calls[0] == (2, n_ctx)
    assert calls[1:] == [(10, 1)] * (6 * w - 1)
    assert samples.shape == (2, 5, 6)
    # the same draws as reading every path's window anew (rows repeated)
    with torch.no_grad():
        ids, att, state = net._encode_window(ctx, mask)
        gen = torch.Generator().manual_seed(3)
        out = net._decode(ids.repeat_interleave(5, 0), att.repeat_interleave(5, 0),
                          lambda logits: sample_token(logits, 1.0, 1.0, gen))
        rep = type(state)(loc=state.loc.repeat_interleave(5, 0),
                          scale=state.scale.repeat_interleave(5, 0))
        anew = net.tokenizer.decode(out, rep).reshape(2, 5, 6)
    torch.testing.assert_close(samples, anew)
    assert samples.std(dim=1).gt(0).any()  # paths differ


def test_decoding_stops_at_the_values_asked_with_the_same_draws():
    """``n_values``: the first values of the whole head's paths, for fewer steps."""
    f, ctx, mask = _chunked_network_and_two_windows(max_epochs=1)
    net = f.network_
    calls = _backbone_batches(net)
    with torch.no_grad():
        whole = net.sample(ctx, mask, num_samples=5, seed=3)
        n_whole = len(calls)
        first = net.sample(ctx, mask, num_samples=5, seed=3, n_values=2)
        n_first = len(calls) - n_whole
        greedy = net.predict(ctx, mask, greedy=True, n_values=2).mean
    assert n_first == 2 * net.tokenizer.tokens_per_value  # the window, then 2 values
    torch.testing.assert_close(first, whole[:, :, :2])
    torch.testing.assert_close(greedy, net.greedy(ctx, mask)[:, :2])
    # forecast_paths asks a token network for no more than the steps it needs
    paths = forecast_paths(net, [load_airline().values[:-6]], 24, 3, "cpu")
    assert paths.samples.shape == (1, f.num_samples, 3)


def test_training_loss_reads_logits_of_the_forecast_tokens_only():
    """The loss computes the head on the forecast positions alone, and equals the
    cross-entropy over full-sequence logits masked to those positions."""
    from sktime_llmforecast.losses import TokenCrossEntropyLoss

    y = load_airline()
    f = _token_forecaster(ChunkedDigitTokenizer(k=3), max_epochs=1)
    f.fit(y[:-6], fh=np.arange(1, 7))
    net = f.network_
    vals = torch.tensor(y.values[:36].reshape(1, -1), dtype=torch.float64)
    ctx, tgt = vals[:, :24].repeat(3, 1), vals[:, 24 : 24 + net.config.horizon].repeat(3, 1)
    mask = torch.ones_like(ctx, dtype=torch.bool)
    mask[0, :5] = False  # a short history, left-padded
    loss = TokenCrossEntropyLoss()
    seen = []
    head = net.head.forward
    net.head.forward = lambda h: seen.append(h.shape[1]) or head(h)
    with torch.no_grad():
        new = net.loss_terms((ctx, mask, tgt), {"ce": loss})["ce"]
        ids, att, _ = net._encode_window(ctx, mask, tgt)
        full, _ = net(ids[:, :-1], att[:, :-1])
    w = net.tokenizer.tokens_per_value
    n_ctx = 24 * w
    assert seen[0] == net.config.horizon * w  # forecast tokens only
    is_target = torch.zeros(ids.shape[0], ids.shape[1] - 1, dtype=torch.bool)
    is_target[:, n_ctx - 1 :] = True
    old = loss(full, ids[:, 1:], mask=is_target)
    torch.testing.assert_close(new, old)

def test_token_mode_learns_constant_level():
    # a flat series at 500 with small noise: the decoded forecast must sit near it
    rng = np.random.default_rng(0)
    import pandas as pd

    y = pd.Series(500 + rng.normal(0, 1, 200))
    f = _token_forecaster(ChunkedDigitTokenizer(k=2), max_epochs=15, context_length=16)
    pred = f.fit(y, fh=[1, 2, 3]).predict()
    assert np.abs(pred.values - 500).max() < 10


def test_bidirectional_backbone_refused_for_tokens():
    bert = {
        "model_type": "bert",
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "vocab_size": 16,
    }
    f = _token_forecaster(ChunkedDigitTokenizer(k=3), backbone=bert)
    with pytest.raises(ValueError, match="causal"):
        f.fit(load_airline(), fh=[1, 2])


def test_too_long_token_sequence_names_the_fix():
    f = _token_forecaster(DigitTokenizer(), backbone=TINY_LLAMA, context_length=64)
    with pytest.raises(ValueError, match="positions"):
        f.fit(load_airline(), fh=[1, 2])


def test_micro_batches_give_the_whole_batch_gradient(monkeypatch):
    """A batch beyond MICRO_BATCH_TOKENS runs in parts with the same update as one pass
    (the loss switcher's learnable coupling included)."""
    import copy

    from sktime_llmforecast.losses import LossSwitcher
    from sktime_llmforecast.nn import training

    y = load_airline()
    f = _token_forecaster(ChunkedDigitTokenizer(k=3), max_epochs=1)
    f.fit(y[:-6], fh=np.arange(1, 7))
    horizon = f.network_.config.horizon
    vals = y.values.astype(float)
    starts = np.arange(0, 40, 4)
    arrays = (np.stack([vals[s : s + 24] for s in starts]), np.ones((len(starts), 24), bool),
              np.stack([vals[s + 24 : s + 24 + horizon] for s in starts]))
    w = f.network_.tokenizer.tokens_per_value
    updated = []
    for budget in (10**6, 3 * (24 + horizon) * w):  # one pass; parts of 3 windows
        monkeypatch.setattr(training, "MICRO_BATCH_TOKENS", budget)
        net = copy.deepcopy(f.network_)
        switcher = LossSwitcher(losses=["token_ce"], coupling="uncertainty")
        objective = switcher.fit([vals[:24]], token_output=True).make_objective(
            net.outputs, 24)
        params = net.trainable_parameters()
        coupling = [p for p in objective.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD([{"params": params}, {"params": coupling}], lr=0.1)
        n_parts = len(training.micro_batches(net, len(starts)))
        net.train()
        net.backbone.eval()  # as in training: no dropout in the frozen backbone
        value = training.train_step(net, arrays, "cpu", objective, optimizer, params, "test")
        updated.append((n_parts, value, [p.detach().clone() for p in params + coupling]))
    (one, v_one, p_one), (many, v_many, p_many) = updated
    assert one == 1 and many == 4
    assert v_many == pytest.approx(v_one, rel=1e-6)
    for a, b in zip(p_one, p_many):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    assert any(not torch.equal(a, p) for a, p in zip(p_one, f.network_.trainable_parameters()))


def test_one_window_per_target_covers_each_target_once_and_phases_cover_all():
    from sktime_llmforecast.nn import make_windows

    rng = np.random.default_rng(0)
    a = rng.normal(size=40)
    b = rng.normal(size=9)  # a short series: 3 windows, fewer than the horizon
    a[20] = np.nan  # missing values leave the run of windows unbroken (one target seen)
    train, _ = make_windows([a, b], context_length=6, horizon=4, validation_fraction=0.0)
    runs = np.split(train.starts, np.flatnonzero(np.diff(train.starts) != 1) + 1)
    seen = set()
    for phase in range(4):
        sub = train.one_per_target(phase)
        kept = set(sub.starts.tolist())
        seen |= kept
        for run in runs:
            mine = sorted(kept & set(run.tolist()))
            assert mine, "every run keeps a window"
            # kept windows of a run are `horizon` apart: their targets never overlap
            # and leave no gap, and at most horizon - 1 targets at each end are left
            assert np.all(np.diff(mine) == 4)
            assert mine[0] - run[0] < 4 and run[-1] - mine[-1] < 4
        # the windows are the same index views: batches read the same values
        np.testing.assert_array_equal(sub.batch([0])[0], train.batch(
            [int(np.flatnonzero(train.starts == sub.starts[0])[0])])[0])
    assert seen == set(train.starts.tolist())  # rotating phases visit every window
    assert len(train.one_per_target(0)) < len(train) / 3


def test_token_epochs_train_each_target_once_patch_epochs_every_window(monkeypatch):
    from sktime_llmforecast.nn import training

    y = load_airline()[:72]
    sizes = []
    real = training.train_step

    def counting(net, arrays, *a, **k):
        sizes.append((net.kind, len(arrays[0])))
        return real(net, arrays, *a, **k)

    monkeypatch.setattr(training, "train_step", counting)
    _token_forecaster(ChunkedDigitTokenizer(k=2), max_epochs=2, validation_fraction=0.0,
                      context_length=12).fit(y, fh=np.arange(1, 7))
    token = sum(n for kind, n in sizes if kind == "token")
    n_windows = 72 - 6 - 2 + 1  # window ends 2 .. 66
    # two epochs, phases 0 and 1: every 6th window of the one run
    assert token == len(range(0, n_windows, 6)) + len(range(1, n_windows, 6))
    # in as many optimisation steps as full epochs of batch 32 would take
    assert sum(kind == "token" for kind, _ in sizes) == 2 * int(np.ceil(n_windows / 32))
    sizes.clear()
    LLMForecaster(pretrained=None, backbone=BACKBONE, tokenizer=PatchTokenizer(patch_len=4, stride=4),
                  context_length=12, max_epochs=2, validation_fraction=0.0,
                  deseasonalize=False, random_state=0, device="cpu").fit(
        y, fh=np.arange(1, 7))
    assert sizes and {kind for kind, _ in sizes} == {"patch"}
    assert sum(n for _, n in sizes) == 2 * n_windows
