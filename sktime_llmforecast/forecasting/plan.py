"""From ``LLMForecaster``'s flat hyper-parameters to one frozen, validated plan.

:func:`resolve_plan` is the only place the parameters are interpreted: once per
``fit`` (and ``pretrain``), before anything is loaded. Every later stage reads the
plan: which network kind, tokenizer, architecture, training settings, losses,
adapter and sampling to use. Pretraining asks the forecaster for the same plan
(``LLMForecaster.plan``).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, replace

import numpy as np
import torch

from sktime_llmforecast.backbones import resolve_backbone_spec
from sktime_llmforecast.forecasting._seasonal import MODELS as SEASONAL_MODELS
from sktime_llmforecast.losses import LossSwitcher
from sktime_llmforecast.nn import (
    NetworkConfig,
    SamplingConfig,
    TrainConfig,
    architecture_mismatch,
    card_network_kind,
    check_bool,
    check_int,
    check_network,
    network_kind,
    network_record,
    read_card,
    shipped_adapters,
    tokenizer_from_record,
)
from sktime_llmforecast.tokenizers import DigitTokenizer, PatchTokenizer, TokenizerSwitcher

DEVICES = ("auto", "cpu", "cuda")
MODES = ("trained", "zero-shot")
#: ``context_length=None`` without an adapter (from scratch, zero-shot)
DEFAULT_CONTEXT_LENGTH = 64
#: ``quantile_levels=None`` without an adapter
DEFAULT_QUANTILE_LEVELS = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)
# parameters whose None means "the adapter's" (else the default above)
_FROM_ADAPTER = ("context_length", "quantile_levels", "head_width")


@dataclass(frozen=True)
class AdapterSource:
    """A pretrained adapter the fit starts from: its card, path and how it was named."""

    card: dict
    path: object
    label: str


@dataclass(frozen=True)
class FitPlan:
    """Everything a ``fit`` does, resolved from the forecaster's parameters.

    Attributes
    ----------
    kind : str or None
        ``"patch"``, ``"token"`` or ``"zero-shot"``; None while ``search`` has
        still to choose the tokenizer.
    tokenizer : BaseNumericTokenizer or None
        The fixed tokenizer (None: chosen by ``search``).
    search : TokenizerSwitcher or None
        The tokenizer search to run in ``fit`` (None: the tokenizer is fixed).
    network : NetworkConfig
        The architecture (its ``horizon`` resolved from ``fh``, the adapter or
        ``prediction_length``).
    train : TrainConfig
        Training from scratch (``max_epochs``) or of ``pretrain``.
    finetune_epochs : int
        Epochs of a fit that starts from a pretrained network.
    loss_switcher : LossSwitcher or None
        Chooses and couples the training losses (None: nothing trains, zero-shot).
    adapter : AdapterSource or None
        The pretrained adapter to start from.
    sampling : SamplingConfig
    point_forecast : str
    history_length : int
        Values of history a forecast reads (context plus demonstrations).
    deseasonalize : str or None
        "auto", "multiplicative" or "additive": the seasonal adjustment around the
        network (each series only where the seasonality test passes); None: none.
    sp : int or None
        The seasonal period (None: read from the data's frequency in ``fit``).
    difference : bool
        Whether the network reads first differences of the adjusted series.
    choose_difference : bool
        ``difference="auto"``: the rolling-origin check may set ``difference``.
    adapter_candidates : tuple of FitPlan
        With ``pretrained="default"`` and ``tokenizer="auto"``: one plan per shipped
        adapter for the backbone and ``n_layers`` when there are several (``fit``
        chooses among them, :func:`select_adapter`); empty otherwise. ``adapter``
        is then the primary one (the patch adapter), which ``pretrain`` takes.
    """

    kind: str | None
    tokenizer: object
    search: object
    network: NetworkConfig
    train: TrainConfig
    finetune_epochs: int
    loss_switcher: object
    adapter: AdapterSource | None
    sampling: SamplingConfig
    point_forecast: str
    history_length: int
    deseasonalize: str | None = "auto"
    sp: int | None = None
    difference: bool = False
    choose_difference: bool = False
    adapter_candidates: tuple = ()

    @property
    def device(self):
        """``"cpu"`` or ``"cuda"`` (the training device)."""
        return self.train.device

    @property
    def seed(self):
        """The seed of initialisation, batch order and sampling."""
        return self.train.seed

    def with_tokenizer(self, tokenizer):
        """The plan with a fixed ``tokenizer`` (after a search, or an adapter's)."""
        kind = network_kind(tokenizer)
        return replace(self, kind=kind, tokenizer=tokenizer, search=None)


def resolve_device(device):
    """``"cpu"`` or ``"cuda"`` for the forecaster's ``device`` parameter."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}.")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "device='cuda' was requested but no CUDA GPU is available; use "
            "device='auto' or device='cpu'."
        )
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def seed_of(random_state):
    """The torch/numpy seed, an int in ``[0, 2**32)``, of a ``random_state``.

    None gives 0 and an int (numpy ints too) is the seed itself. A numpy
    ``RandomState`` or ``Generator`` gives the first draw of a deep copy: the
    caller's object is never advanced, so it seeds every fit alike.
    """
    if random_state is None:
        return 0
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        rng = copy.deepcopy(random_state)
        draw = rng.randint if isinstance(rng, np.random.RandomState) else rng.integers
        return int(draw(2**32, dtype=np.uint32))
    if not isinstance(random_state, (int, np.integer)) or isinstance(random_state, bool):
        raise TypeError(
            "random_state must be None, an int, a numpy RandomState or a numpy "
            f"Generator, got {type(random_state).__name__} {random_state!r}; pass "
            "e.g. random_state=0."
        )
    if not 0 <= random_state < 2**32:
        raise ValueError(
            f"random_state must be an int in [0, 2**32 - 1] (numpy's seeds), got "
            f"{random_state!r}; pass e.g. random_state=0."
        )
    return int(random_state)


def default_horizon(params):
    """Steps the head predicts without ``fh``: ``prediction_length`` or a quarter
    of the context."""
    if params["prediction_length"] is not None:
        return int(params["prediction_length"])
    return max(1, _context_length(params) // 4)


def _context_length(params):
    """``context_length``, or the default without an adapter when None."""
    value = params["context_length"]
    return DEFAULT_CONTEXT_LENGTH if value is None else int(value)


def resolve_plan(params, horizon=None):
    """Validate ``LLMForecaster`` parameters and resolve them into a :class:`FitPlan`.

    Parameters
    ----------
    params : dict
        ``LLMForecaster.get_params(deep=False)``.
    horizon : int or None
        The largest step of ``fh`` in ``fit`` (None: :func:`default_horizon`);
        ignored when an adapter fixes the horizon.

    Raises
    ------
    ValueError, TypeError
        Naming the setting and the fix. Nothing is loaded before they are raised
        (adapter cards are read, weights are not).
    """
    p = params
    device = resolve_device(p["device"])
    if p["mode"] not in MODES:
        raise ValueError(f"mode must be 'trained' or 'zero-shot', got {p['mode']!r}.")
    zero_shot = p["mode"] == "zero-shot"
    _check_numbers(p)
    seed = seed_of(p["random_state"])
    if p["n_demonstrations"] and not zero_shot:
        raise ValueError(
            "n_demonstrations applies to mode='zero-shot' (in-context examples); "
            "set it to 0 for trained models."
        )
    loss = loss_switcher_of(p["loss"])
    if zero_shot:  # nothing trains
        loss = None
    fixed, search = _tokenizer_choice(p["tokenizer"], zero_shot, p["pretrained"] is not None)
    adapter = _adapter_source(p["pretrained"], zero_shot)
    spec = resolve_backbone_spec(p["backbone"], p["dtype"],
                                 "cuda:0" if device == "cuda" else device)
    network = NetworkConfig(
        spec=spec,
        n_layers=None if p["n_layers"] is None else int(p["n_layers"]),
        finetune=p["finetune"],
        lora_rank=int(p["lora_rank"]),
        lora_alpha=float(p["lora_alpha"]),
        interface=p["interface"],
        context_length=_context_length(p),
        horizon=int(horizon) if horizon else default_horizon(p),
        head_dropout=float(p["head_dropout"]),
        head_width=None if p["head_width"] is None else int(p["head_width"]),
        quantile_levels=(DEFAULT_QUANTILE_LEVELS if p["quantile_levels"] is None
                         else _levels(p["quantile_levels"])),
        n_queries=int(p["n_queries"]),
        prompt=p["prompt"] or None,
        n_demonstrations=int(p["n_demonstrations"]),
    )
    candidates = []
    if adapter is not None:
        if adapter.card is None:  # "default": the shipped adapters these settings allow
            candidates = _shipped_matches(network, fixed, p)
        if candidates:  # the patch one if any; a fixed tokenizer: the one that matches
            network, fixed, adapter = candidates[0]
        else:  # the primary one (or the error naming what does not match)
            network, fixed, adapter = _match_adapter(adapter, network, fixed, p)
        if not isinstance(p["tokenizer"], str):  # a fixed tokenizer (or None): no search
            candidates = []
        search = None
    kind = None
    if fixed is not None:
        kind = network_kind(fixed, zero_shot)
        check_network(kind, network, fixed)
    n_demo = int(p["n_demonstrations"]) if zero_shot else 0
    max_epochs = int(p["max_epochs"])
    plan = FitPlan(
        kind=kind,
        tokenizer=fixed,
        search=search,
        network=network,
        train=TrainConfig(
            max_epochs=max_epochs,
            batch_size=int(p["batch_size"]),
            learning_rate=float(p["learning_rate"]),
            weight_decay=float(p["weight_decay"]),
            patience=int(p["patience"]),
            validation_fraction=float(p["validation_fraction"]),
            seed=seed,
            device=device,
            verbose=bool(p["verbose"]),
        ),
        finetune_epochs=max_epochs if p["finetune_epochs"] is None
        else int(p["finetune_epochs"]),
        loss_switcher=loss,
        adapter=adapter,
        sampling=SamplingConfig(
            num_samples=int(p["num_samples"]),
            temperature=float(p["temperature"]),
            top_p=float(p["top_p"]),
            seed=seed,
        ),
        point_forecast=p["point_forecast"],
        history_length=network.context_length * (1 + n_demo),
        deseasonalize="auto" if p["deseasonalize"] is True else p["deseasonalize"] or None,
        sp=None if p["sp"] is None else int(p["sp"]),
        difference=p["difference"] is True,
        choose_difference=p["difference"] == "auto",
    )
    if len(candidates) > 1:
        plan = replace(plan, adapter_candidates=tuple(
            replace(plan, kind=network_kind(tok), tokenizer=tok, network=net, adapter=src,
                    history_length=net.context_length)
            for net, tok, src in candidates))
    return plan


def _check_numbers(p):
    for name in ("batch_size", "patience", "lora_rank", "n_queries", "num_samples"):
        check_int(name, p[name])
    for name in ("context_length", "head_width"):
        if p[name] is not None:
            check_int(name, p[name])
    for name in ("max_epochs", "n_demonstrations", "check_folds"):
        check_int(name, p[name], minimum=0)
    if p["finetune_epochs"] is not None:
        check_int("finetune_epochs", p["finetune_epochs"], minimum=0)
    check_bool("finetune_interface", p["finetune_interface"])
    if p["prediction_length"] is not None:
        check_int("prediction_length", p["prediction_length"])
    if p["sp"] is not None:
        check_int("sp", p["sp"])
    d = p["deseasonalize"]
    if not (d is None or isinstance(d, bool) or isinstance(d, str) and d in SEASONAL_MODELS):
        raise ValueError(
            "deseasonalize must be 'auto' (or True), 'multiplicative', 'additive' or "
            "False, got "
            f"{p['deseasonalize']!r}."
        )
    if not (isinstance(p["difference"], bool) or p["difference"] == "auto"):
        raise ValueError(
            f"difference must be 'auto', True or False, got {p['difference']!r}."
        )
    if p["point_forecast"] not in ("median", "mean", "greedy"):
        raise ValueError(
            "point_forecast must be 'median', 'mean' or 'greedy', got "
            f"{p['point_forecast']!r}."
        )
    # the frozen configs check the rest when built (quantile levels: NetworkConfig)
    NetworkConfig(n_layers=p["n_layers"], lora_alpha=p["lora_alpha"],
                  head_dropout=p["head_dropout"])
    TrainConfig(max_epochs=int(p["max_epochs"]), batch_size=p["batch_size"],
                learning_rate=p["learning_rate"], weight_decay=p["weight_decay"],
                patience=p["patience"], validation_fraction=p["validation_fraction"])
    SamplingConfig(num_samples=p["num_samples"], temperature=p["temperature"],
                   top_p=p["top_p"])
    if p["prompt"] is not None and not isinstance(p["prompt"], str):
        raise TypeError(f"prompt must be a string or None, got {type(p['prompt']).__name__}.")


def _levels(levels):
    """``quantile_levels`` as a tuple of floats (``NetworkConfig`` checks the values)."""
    try:
        return tuple(float(q) for q in levels)
    except (TypeError, ValueError):  # not a sequence, or a string ("0.5": its characters)
        raise ValueError(
            "quantile_levels must be a non-empty sequence of levels in (0, 1), got "
            f"{levels!r}."
        ) from None


def loss_switcher_of(loss):
    """The ``LossSwitcher`` a ``loss`` parameter means (a fresh, checked object)."""
    if isinstance(loss, LossSwitcher):
        switcher = loss.clone()
    elif isinstance(loss, str):
        switcher = (LossSwitcher() if loss == "auto"
                    else LossSwitcher(losses=[loss], coupling="fixed"))
    elif isinstance(loss, (list, tuple)) and all(isinstance(n, str) for n in loss):
        switcher = LossSwitcher(losses=list(loss))
    else:
        raise TypeError(
            "loss must be 'auto', a loss name, a list of loss names or a "
            f"LossSwitcher; got {type(loss).__name__}."
        )
    switcher.check_params()
    return switcher


def _tokenizer_choice(tokenizer, zero_shot, from_adapter):
    """``(fixed tokenizer or None, TokenizerSwitcher or None)`` of the parameter.

    ``"auto"`` means a search from scratch, the adapter's tokenizer when an
    adapter is used (returned as None, None) and ``DigitTokenizer()`` in zero-shot
    mode; None means ``PatchTokenizer()`` (zero-shot: ``DigitTokenizer()``).
    """
    if isinstance(tokenizer, str) and tokenizer != "auto":
        raise ValueError(
            f"tokenizer must be a tokenizer object, 'auto' or None; got {tokenizer!r}."
        )
    is_auto = isinstance(tokenizer, str)
    if not (tokenizer is None or is_auto or isinstance(tokenizer, TokenizerSwitcher)):
        network_kind(tokenizer, zero_shot)  # TypeError naming the tokenizers it takes
    if zero_shot:
        return (DigitTokenizer() if tokenizer is None or is_auto else tokenizer.clone()), None
    if from_adapter:
        if isinstance(tokenizer, TokenizerSwitcher):
            raise ValueError(
                "A TokenizerSwitcher cannot start from a pretrained adapter (the "
                "adapter fixes the tokenizer); use tokenizer='auto' to take the "
                "adapter's, or pretrained=None to search tokenizers from scratch."
            )
        return (None if tokenizer is None or is_auto else tokenizer.clone()), None
    if is_auto:
        return None, TokenizerSwitcher()
    if isinstance(tokenizer, TokenizerSwitcher):
        switcher = tokenizer.clone()
        switcher.check_params()
        return None, switcher
    return (PatchTokenizer() if tokenizer is None else tokenizer.clone()), None


def _adapter_source(pretrained, zero_shot):
    """The adapter ``pretrained`` names (None: train from scratch, or zero-shot)."""
    if pretrained is None:
        return None
    is_default = isinstance(pretrained, str) and pretrained == "default"
    if not is_default and not isinstance(pretrained, (str, os.PathLike)):
        raise TypeError(
            "pretrained must be 'default', a path to an adapter or None; got "
            f"{type(pretrained).__name__}."
        )
    if zero_shot:
        if is_default:
            return None
        raise ValueError(
            "pretrained adapters apply to mode='trained'; zero-shot mode has "
            "nothing to load. Pass pretrained=None or 'default'."
        )
    if is_default:
        return AdapterSource(card=None, path=None, label="default")
    return AdapterSource(card=read_card(pretrained), path=pretrained, label=str(pretrained))


def _shipped_cards(network):
    """``(stem, card)`` of the shipped adapters for the backbone and ``n_layers`` of
    ``network``, the patch adapter first (the primary one), then by name."""
    wanted = network_record(network, None)
    found = []
    for stem in shipped_adapters():
        card = read_card(stem)
        if (card["network"]["backbone"] == wanted["backbone"]
                and card["network"]["n_layers"] == wanted["n_layers"]):
            found.append((stem, card))
    return sorted(found, key=lambda sc: (
        card_network_kind(sc[1]["network"]) != "patch", sc[0].name))


def _shipped_matches(network, tokenizer, params):
    """``(network, tokenizer, AdapterSource)`` of every shipped adapter for this
    backbone and ``n_layers`` whose architecture this forecaster's settings (and
    fixed ``tokenizer``, None: any) allow; those they contradict, e.g. through
    ``context_length``, are left out."""
    out = []
    for stem, card in _shipped_cards(network):
        try:
            out.append(_match_adapter(AdapterSource(card=card, path=stem, label="default"),
                                      network, tokenizer, params))
        except ValueError:
            continue
    return out


def _shipped_for(network, params):
    """The primary shipped adapter for the backbone and ``n_layers`` of ``network``."""
    shipped = shipped_adapters()
    if not shipped:
        raise FileNotFoundError(
            "pretrained='default' needs the adapters shipped inside the package "
            "(sktime_llmforecast/adapters), which are missing from this installation; "
            "reinstall sktime-llmforecast or pass pretrained=None."
        )
    for stem, card in _shipped_cards(network):
        return AdapterSource(card=card, path=stem, label="default")
    raise ValueError(
        "pretrained='default' is the adapter shipped for backbone "
        "'smollm2-135m' with n_layers=6 (or 0, the no-LLM ablation); this "
        f"forecaster has backbone={_short(params['backbone'])} and "
        f"n_layers={params['n_layers']!r}. Pass pretrained=None to train from "
        "scratch, or the path of an adapter pretrained for this backbone "
        "(python -m sktime_llmforecast.pretraining --help)."
    )


def _match_adapter(adapter, network, tokenizer, params):
    """The adapter's network config and tokenizer, after checking that this
    forecaster's architecture settings equal the adapter's."""
    if adapter.card is None:  # "default": the shipped one for this backbone
        adapter = _shipped_for(network, params)
    card = adapter.card
    horizon = params["prediction_length"] or card["network"]["horizon"]
    network = replace(network, horizon=int(horizon))
    # None: the adapter's (cards written before head_width existed have none)
    taken = {name: card["network"].get(name) for name in _FROM_ADAPTER
             if params[name] is None}
    if "quantile_levels" in taken:
        taken["quantile_levels"] = tuple(float(q) for q in taken["quantile_levels"])
    network = replace(network, **taken)
    wanted = network_record(network, tokenizer)
    if tokenizer is None:
        wanted["tokenizer"] = card["network"]["tokenizer"]
    diff = architecture_mismatch(card["network"], wanted)
    if diff:
        which = "; ".join(f"{k}: adapter {a!r}, this forecaster {b!r}"
                          for k, (a, b) in diff.items())
        raise ValueError(
            f"The pretrained adapter ({adapter.label}) was trained with other "
            f"settings: {which}. Use the adapter's settings (or leave "
            "tokenizer='auto' and prediction_length=None), or pass pretrained=None "
            "to train from scratch."
        )
    network = replace(network, horizon=int(card["network"]["horizon"]))
    return network, tokenizer_from_record(card["network"]["tokenizer"]), adapter


def _short(obj, limit=60):
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."
