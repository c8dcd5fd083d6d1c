"""The frozen settings the networks, the training loop and forecasting run on.

Every field has a default and every dataclass checks itself in ``__post_init__``,
so an impossible setting fails where it is made, with a message naming the fix.
The forecaster builds these once per ``fit`` from its flat hyper-parameters
(``forecasting.plan``); pretraining builds the same ones.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from sktime_llmforecast.backbones import FINETUNE_MODES, BackboneSpec
from sktime_llmforecast.interfaces import INTERFACE_KINDS

DEVICES = ("cpu", "cuda")


def check_int(name, value, minimum=1):
    """Raise unless ``value`` is an int (numpy ints too, not a bool) >= ``minimum``.

    A ``TypeError`` for another type (``"64"``, ``32.0``), a ``ValueError`` for an
    int below ``minimum``.
    """
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise _type_error(name, value, "an int", _as_int)
    if value < minimum:
        kind = {0: "non-negative", 1: "positive"}.get(minimum, f">= {minimum}")
        raise ValueError(f"{name} must be a {kind} int, got {value!r}.")


def check_float(name, value):
    """Raise unless ``value`` is a finite real number (int or float, numpy ones
    too, not a bool): a ``TypeError`` for another type (``"0.001"``), a
    ``ValueError`` for NaN or infinity. The caller checks the range."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise _type_error(name, value, "a number (int or float)", _as_float)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")


def check_bool(name, value):
    """Raise a ``TypeError`` unless ``value`` is True or False (numpy bools too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{name} must be True or False, got {type(value).__name__} {value!r}."
        )


def _as_int(value):
    number = _as_float(value)
    if not number.is_integer():
        raise ValueError(value)
    return int(number)


def _as_float(value):
    if isinstance(value, (bool, np.bool_)):  # float(True) is 1.0, but no number here
        raise ValueError(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _type_error(name, value, what, cast):
    """The ``TypeError`` of a wrong-typed ``value``, suggesting ``cast(value)``."""
    try:
        fix = f"pass {name}={cast(value)!r}"
    except (TypeError, ValueError, OverflowError):
        fix = f"pass {what}"
    return TypeError(
        f"{name} must be {what}, got {type(value).__name__} {value!r}; {fix}."
    )


def check_device(device):
    """Raise a ``ValueError`` unless ``device`` is ``"cpu"``, ``"cuda"`` or ``"cuda:N"``."""
    dev = str(device)
    if not (dev in DEVICES or dev.startswith("cuda:")):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}.")


@dataclass(frozen=True)
class NetworkConfig:
    """Everything that fixes a network's architecture (all fields defaulted).

    Parameters
    ----------
    spec : BackboneSpec
        The backbone reference (never the weights).
    n_layers : int or None
        Transformer blocks kept (None: all; 0: the no-LLM ablation).
    finetune : {"frozen", "layernorm", "full", "lora"}
    lora_rank : int
    lora_alpha : float
    interface : {"linear", "mlp", "resampler"}
        Patch networks only.
    context_length : int
        Values of history one forward pass reads.
    horizon : int
        Steps the head predicts in one pass.
    head_dropout : float in [0, 1)
    head_width : int or None
        Patch networks: features per token before the flatten head (None: the
        backbone's hidden size, no bottleneck).
    quantile_levels : tuple of float
        Strictly increasing levels in (0, 1) of the patch network's quantile head.
    n_queries : int
        Tokens of the ``"resampler"`` interface.
    prompt : str or None
        Text placed before the series tokens.
    n_demonstrations : int
        Zero-shot in-context windows before the history.
    """

    spec: BackboneSpec = BackboneSpec("config", '{"model_type": "gpt2"}')
    n_layers: int | None = 6
    finetune: str = "frozen"
    lora_rank: int = 8
    lora_alpha: float = 16.0
    interface: str = "linear"
    context_length: int = 64
    horizon: int = 12
    head_dropout: float = 0.0
    head_width: int | None = None
    quantile_levels: tuple = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)
    n_queries: int = 16
    prompt: str | None = None
    n_demonstrations: int = 0

    def __post_init__(self):
        if self.n_layers is not None:
            check_int("n_layers", self.n_layers, minimum=0)
        if self.finetune not in FINETUNE_MODES:
            raise ValueError(
                f"finetune must be one of {FINETUNE_MODES}, got {self.finetune!r}."
            )
        if self.interface not in INTERFACE_KINDS:
            raise ValueError(
                f"interface must be one of {INTERFACE_KINDS}, got {self.interface!r}."
            )
        for name in ("lora_rank", "context_length", "horizon", "n_queries"):
            check_int(name, getattr(self, name))
        check_int("n_demonstrations", self.n_demonstrations, minimum=0)
        if self.head_width is not None:
            check_int("head_width", self.head_width)
        for name in ("lora_alpha", "head_dropout"):
            check_float(name, getattr(self, name))
        if not self.lora_alpha > 0:
            raise ValueError(f"lora_alpha must be > 0, got {self.lora_alpha!r}.")
        if not 0 <= self.head_dropout < 1:
            raise ValueError(f"head_dropout must be in [0, 1), got {self.head_dropout!r}.")
        levels = np.asarray(self.quantile_levels, dtype=float)
        if levels.ndim != 1 or not len(levels) or not ((levels > 0) & (levels < 1)).all():
            raise ValueError(
                "quantile_levels must be a non-empty sequence of levels in (0, 1), got "
                f"{self.quantile_levels!r}."
            )
        if (np.diff(levels) <= 0).any():
            raise ValueError("quantile_levels must be strictly increasing.")
        if self.prompt is not None and not isinstance(self.prompt, str):
            raise TypeError(f"prompt must be a string or None, got {type(self.prompt).__name__}.")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings of ``train_network`` (every field has a default).

    ``keep_initial``: the starting weights (a pretrained network) compete with
    every epoch, so fine-tuning never ends worse on validation than it began.
    ``horizon``: the first steps of the head the training windows' targets cover
    (None: the whole head). Fine-tuning a long-horizon adapter for a short ``fh``
    then needs far shorter series and leaves room for a validation split.
    ``train_interface``: False keeps the input interface at its starting weights
    (fine-tuning a pretrained adapter's head only); with a frozen backbone the
    backbone's output of every window is then fixed, so it is computed once.
    """

    max_epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 5
    validation_fraction: float = 0.2
    seed: int = 0
    device: str = "cpu"
    verbose: bool = False
    keep_initial: bool = False
    horizon: int | None = None
    train_interface: bool = True

    def __post_init__(self):
        check_int("max_epochs", self.max_epochs, minimum=0)
        if self.horizon is not None:
            check_int("horizon", self.horizon)
        for name in ("batch_size", "patience"):
            check_int(name, getattr(self, name))
        for name in ("learning_rate", "weight_decay", "validation_fraction"):
            check_float(name, getattr(self, name))
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}.")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}.")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}."
            )
        for name in ("keep_initial", "train_interface", "verbose"):
            check_bool(name, getattr(self, name))
        check_device(self.device)


@dataclass(frozen=True)
class SamplingConfig:
    """How a network draws forecasts (token and zero-shot networks sample).

    Parameters
    ----------
    num_samples : int
        Sample paths per series.
    temperature : float >= 0
        0 is greedy.
    top_p : float in (0, 1]
        Nucleus sampling among the tokens the grammar allows.
    seed : int
        Seeds the draws (the same seed gives the same paths).
    """

    num_samples: int = 20
    temperature: float = 1.0
    top_p: float = 0.9
    seed: int = 0

    def __post_init__(self):
        check_int("num_samples", self.num_samples)
        for name in ("temperature", "top_p"):
            check_float(name, getattr(self, name))
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError("temperature must be >= 0 and top_p in (0, 1].")
