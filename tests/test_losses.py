"""The loss menu, its coupling and the switcher; agreement with sktime's metrics."""

import numpy as np
import pandas as pd
import pytest
import torch
from sktime.performance_metrics.forecasting import (
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanAbsoluteScaledError,
    MeanSquaredError,
)
from sktime.performance_metrics.forecasting.probabilistic import CRPS, LogLoss, PinballLoss

from sktime_llmforecast.losses import (
    CATEGORY_LOSSES,
    LOSSES,
    CoupledLoss,
    LossSwitcher,
    loss_names,
    make_loss,
    sample_crps,
    sample_from_quantiles,
    seasonal_naive_scale,
    series_features,
)
from sktime_llmforecast.metrics import MeanHuberError, MeanLogCoshError, QuantileCRPS

RNG = np.random.default_rng(0)
Y = RNG.normal(5.0, 2.0, size=(3, 7))
F = Y + RNG.normal(0.0, 1.5, size=(3, 7))
LEVELS = np.array([0.1, 0.25, 0.5, 0.75, 0.9])
Q = np.sort(F[:, None, :] + np.array([-1.5, -0.7, 0.0, 0.7, 1.5])[None, :, None], axis=1)


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def _inputs(name):
    """A ``pred`` of the right shape for each output kind."""
    kind = LOSSES[name].output
    if kind == "point":
        return _t(F)
    if kind == "quantiles":
        return _t(Q)
    if kind == "gaussian":
        return torch.stack([_t(F), torch.zeros(3, 7, dtype=torch.float64)], 1)
    if kind == "samples":
        return _t(F[:, None, :] + RNG.normal(size=(3, 16, 7)))
    return torch.randn(3, 7, 11, dtype=torch.float64)


def _frame(a):
    return pd.DataFrame(a.T)  # time along rows, one column per window


def test_menu_has_at_least_ten_losses_of_every_kind():
    assert len(LOSSES) >= 10
    for kind in ("point", "quantiles", "gaussian", "samples", "tokens"):
        assert loss_names(kind)
    with pytest.raises(ValueError, match="Unknown loss 'bogus'"):
        make_loss("bogus")


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_is_finite_and_differentiable(name):
    pred = _inputs(name).requires_grad_(True)
    target = torch.randint(0, 11, (3, 7)) if name == "token_ce" else _t(Y)
    loss = make_loss(name)(
        pred, target, scale=torch.ones(3, 1, dtype=torch.float64), levels=_t(LEVELS)
    )
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_mask_excludes_entries():
    mask = torch.zeros(3, 7, dtype=torch.bool)
    mask[:, :3] = True
    full = make_loss("mae")(_t(F[:, :3]), _t(Y[:, :3]))
    masked = make_loss("mae")(_t(F), _t(Y), mask=mask)
    assert float(masked) == pytest.approx(float(full))


@pytest.mark.parametrize(
    "name, metric",
    [
        ("mse", MeanSquaredError(multioutput="raw_values")),
        ("mae", MeanAbsoluteError(multioutput="raw_values")),
        ("smape", MeanAbsolutePercentageError(symmetric=True, multioutput="raw_values")),
        ("huber", MeanHuberError(delta=1.0, multioutput="raw_values")),
        ("log_cosh", MeanLogCoshError(multioutput="raw_values")),
    ],
)
def test_point_losses_agree_with_the_sktime_metrics(name, metric):
    ours = float(make_loss(name)(_t(F), _t(Y)))
    theirs = float(np.mean(metric(_frame(Y), _frame(F))))
    assert ours == pytest.approx(theirs, rel=1e-7)  # sMAPE: eps guards differ


def test_scaled_error_agrees_with_sktime_mase():
    y_train = RNG.normal(0, 1, size=(3, 40)).cumsum(1)
    scale = seasonal_naive_scale(_t(y_train), torch.ones(3, 40, dtype=torch.bool), 4)
    ours = make_loss("mase", season=4)(_t(F), _t(Y), scale=scale)
    mase = MeanAbsoluteScaledError(sp=4, multioutput="raw_values")
    theirs = mase(_frame(Y), _frame(F), y_train=_frame(y_train)).mean()
    assert float(ours) == pytest.approx(theirs, rel=1e-9)


def _quantile_frame(q, levels):
    # q: (windows, Q, H) -> sktime quantile frame, one variable per window
    cols = pd.MultiIndex.from_tuples([(w, lv) for w in range(len(q)) for lv in levels])
    data = np.concatenate([q[w].T for w in range(len(q))], axis=1)
    return pd.DataFrame(data, columns=cols)


def test_pinball_agrees_with_sktime_pinball_loss():
    ours = make_loss("pinball")(_t(Q), _t(Y), levels=_t(LEVELS))
    theirs = PinballLoss()(_frame(Y), _quantile_frame(Q, LEVELS))
    assert float(ours) == pytest.approx(theirs, rel=1e-9)


def test_quantile_crps_loss_equals_metric_and_tends_to_exact_crps():
    from skpro.distributions import Normal

    ours = make_loss("crps_quantile")(_t(Q), _t(Y), levels=_t(LEVELS))
    metric = QuantileCRPS(alpha=None)(_frame(Y), _quantile_frame(Q, LEVELS))
    assert float(ours) == pytest.approx(metric, rel=1e-9)
    # dense levels of a normal forecast: close to sktime's exact CRPS
    from scipy.stats import norm

    levels = np.linspace(0.005, 0.995, 199)
    mu, sigma = F[0], 1.3
    q = mu[None, None, :] + sigma * norm.ppf(levels)[None, :, None]
    approx = QuantileCRPS(alpha=None)(_frame(Y[:1]), _quantile_frame(q, levels))
    idx = pd.RangeIndex(7)
    dist = Normal(mu=mu.reshape(-1, 1), sigma=sigma, index=idx, columns=[0])
    exact = CRPS()(pd.DataFrame({0: Y[0]}, index=idx), dist)
    assert approx == pytest.approx(exact, rel=0.02)


def test_sample_crps_agrees_with_properscoring():
    import properscoring

    x = F[:, None, :] + RNG.normal(size=(3, 16, 7))
    ours = sample_crps(_t(x), _t(Y)).numpy()
    theirs = properscoring.crps_ensemble(Y, np.moveaxis(x, 1, -1))
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_gaussian_nll_agrees_with_sktime_log_loss():
    from skpro.distributions import Normal

    sigma = np.exp(RNG.normal(0, 0.3, size=7))
    pred = torch.stack([_t(F[:1]), _t(np.log(sigma))[None]], 1)
    ours = make_loss("gaussian_nll")(pred, _t(Y[:1]))
    idx = pd.RangeIndex(7)
    dist = Normal(mu=F[0].reshape(-1, 1), sigma=sigma.reshape(-1, 1), index=idx, columns=[0])
    theirs = LogLoss()(pd.DataFrame({0: Y[0]}, index=idx), dist)
    assert float(ours) == pytest.approx(theirs, rel=1e-9)


def test_draws_from_quantiles_follow_them_and_carry_gradients():
    q = _t(Q[:1]).requires_grad_(True)
    gen = torch.Generator().manual_seed(0)
    draws = sample_from_quantiles(q, _t(LEVELS), 4000, generator=gen)
    assert draws.shape == (1, 4000, 7)
    x = draws[0, :, 0].detach().numpy()
    # the draws have the forecast quantiles as their quantiles (tails extended)
    for level, value in zip(LEVELS, Q[0, :, 0]):
        assert np.mean(x <= value) == pytest.approx(level, abs=0.03)
    draws.sum().backward()
    assert q.grad.abs().sum() > 0


def test_uncertainty_coupling_weights_move_stay_positive_and_balance_scales():
    c = CoupledLoss(["mse", "mae"], coupling="uncertainty")
    opt = torch.optim.Adam(c.parameters(), lr=0.05)
    for _ in range(1500):
        raw = {"mse": torch.tensor(100.0), "mae": torch.tensor(0.5)}
        opt.zero_grad()
        c(raw).backward()
        opt.step()
    w = c.weights()
    assert all(v > 0 for v in w.values())
    # Kendall et al.: weights settle near 1 / loss, so both terms pull equally
    assert w["mse"] * 100 == pytest.approx(w["mae"] * 0.5, rel=0.2)


def test_softmax_coupling_cannot_collapse():
    c = CoupledLoss(["mse", "mae", "huber"], coupling="softmax", regularization=1.0)
    opt = torch.optim.Adam(c.parameters(), lr=0.1)
    for _ in range(500):
        raw = {"mse": torch.tensor(3.0), "mae": torch.tensor(1.0), "huber": torch.tensor(0.2)}
        opt.zero_grad()
        c(raw).backward()
        opt.step()
    w = c.weights()
    assert sum(w.values()) == pytest.approx(3.0, rel=1e-6)
    assert w["huber"] > w["mae"] > w["mse"] > 0.05


def test_fixed_coupling_and_fallback_terms():
    c = CoupledLoss(["huber"], coupling="fixed", fallbacks={"pinball": ("quantiles",)})
    assert not any(p.requires_grad for p in c.parameters())
    assert c.aux == ["pinball"]
    raw = {"huber": torch.tensor(2.0), "pinball": torch.tensor(0.5)}
    assert float(c(raw)) == pytest.approx(2.5)
    assert c.yardstick(raw) == pytest.approx(1.25)
    covered = CoupledLoss(["huber", "crps_quantile"], fallbacks={"pinball": ("quantiles",)})
    assert covered.aux == []
    with pytest.raises(ValueError, match="coupling must be"):
        CoupledLoss(["mse"], coupling="bogus")


def test_fair_sample_crps_trains_calibrated_quantiles():
    torch.manual_seed(0)
    levels = torch.tensor([0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975])
    q = torch.zeros(1, 7, 1, requires_grad=True)
    opt = torch.optim.Adam([q], lr=0.02)
    loss = make_loss("crps_samples")
    for _ in range(1500):
        draws = sample_from_quantiles(q.expand(256, 7, 1), levels, 16)
        value = loss(draws, torch.randn(256, 1))
        opt.zero_grad()
        value.backward()
        opt.step()
    from scipy.stats import norm

    got = q.detach().sort(1).values.flatten().numpy()
    np.testing.assert_allclose(got, norm.ppf(levels.numpy()), atol=0.15)
    with pytest.raises(ValueError, match="at least 2 quantile_levels"):
        sample_from_quantiles(torch.zeros(1, 1, 3), torch.tensor([0.5]), 4)


def _intermittent(n=240, seed=0):
    rng = np.random.default_rng(seed)
    return rng.poisson(0.25, n) * rng.integers(1, 20, n).astype(float)


def _seasonal(n=240, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 50 + 0.3 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)


def test_category_rule_tells_intermittent_from_smooth_seasonal():
    a = LossSwitcher().fit([_intermittent()])
    b = LossSwitcher().fit([_seasonal()])
    assert a.loss_category_ == "intermittent" and b.loss_category_ == "seasonal_trend"
    assert a.losses_ != b.losses_
    assert b.data_features_["season"] == 12
    assert b.data_features_["seasonal_strength"] > 0.5


def test_category_rule_other_categories():
    rng = np.random.default_rng(1)
    spiky = rng.normal(0, 1, 300)
    spiky[rng.choice(300, 15, replace=False)] += 25
    assert LossSwitcher().fit([spiky]).loss_category_ == "heavy_tailed"
    noise = rng.normal(0, 1, 300)
    assert LossSwitcher().fit([noise]).loss_category_ == "irregular"
    panel = [rng.normal(0, 1, 200).cumsum() * 0.1 + 10, rng.normal(0, 1, 200) + 1e4]
    assert series_features(panel)["log10_scale_spread"] > 2
    assert LossSwitcher().fit(panel).loss_category_ == "multi_scale"
    assert LossSwitcher().fit([noise], token_output=True).losses_ == ["token_ce"]
    assert set(CATEGORY_LOSSES) == {
        "token", "intermittent", "heavy_tailed", "multi_scale", "seasonal_trend", "irregular"
    }


def test_switcher_objective_checks_outputs_and_adds_aux_losses():
    sw = LossSwitcher(losses=["huber"]).fit([_seasonal()])
    obj = sw.make_objective({"point", "quantiles", "gaussian", "samples"}, 64)
    assert obj.names == ["huber"] and obj.aux == ["pinball"]
    sw = LossSwitcher(losses=["crps_samples"]).fit([_seasonal()])
    obj = sw.make_objective({"point", "quantiles", "gaussian", "samples"}, 64)
    assert obj.aux == ["mse"]
    with pytest.raises(ValueError, match="Token tokenizers train with 'token_ce'"):
        sw.make_objective({"tokens"}, 64)
    with pytest.raises(ValueError, match="Unknown loss name"):
        LossSwitcher(losses=["mse", "nope"]).fit([_seasonal()])
    with pytest.raises(ValueError, match="schedule must be"):
        LossSwitcher(schedule="cosine").fit([_seasonal()])


def test_plateau_schedule_adds_losses_one_at_a_time():
    sw = LossSwitcher(losses=["mse", "mae", "pinball"], schedule="plateau", switch_patience=2)
    obj = sw.fit([_seasonal()]).make_objective({"point", "quantiles"}, 64)
    sched = sw.make_schedule(obj)
    assert obj.active == ["mse"]
    # the quantile head trains through the pinball fallback until pinball is active
    assert obj._fallbacks_for(obj.active) == ["pinball"] and obj.aux == []
    assert [sched.step(v) for v in (1.0, 0.9, 0.95, 0.95)] == [False, False, False, True]
    assert obj.active == ["mse", "mae"] and not sched.finished
    assert [sched.step(v) for v in (0.99, 0.99)] == [False, True]
    assert sched.finished and obj.active == obj.names
