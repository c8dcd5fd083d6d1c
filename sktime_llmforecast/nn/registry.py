"""One table from a resolved configuration to its network class.

The kind follows from the tokenizer and whether anything trains:

* ``patch``: ``PatchTokenizer`` -> ``PatchForecastNetwork``;
* ``token``: ``DigitTokenizer``, ``ChunkedDigitTokenizer`` or ``BinTokenizer`` ->
  ``TokenForecastNetwork``;
* ``zero-shot``: ``DigitTokenizer``, nothing trains (LLMTime) -> ``ZeroShotDigitNetwork``.

``POINT_FORECASTS`` says what each ``point_forecast`` means for each kind; every kind
gives all three, because every network's ``predict`` has a ``greedy`` path.
"""

from __future__ import annotations

from sktime_llmforecast.nn.config import NetworkConfig
from sktime_llmforecast.nn.patch import PatchForecastNetwork
from sktime_llmforecast.nn.token import TokenForecastNetwork
from sktime_llmforecast.nn.training import seeded
from sktime_llmforecast.nn.zero_shot import ZeroShotDigitNetwork
from sktime_llmforecast.tokenizers import (
    BaseValueTokenizer,
    DigitTokenizer,
    PatchTokenizer,
)

NETWORKS = {
    "patch": PatchForecastNetwork,
    "token": TokenForecastNetwork,
    "zero-shot": ZeroShotDigitNetwork,
}

#: what each kind's ``predict`` point forecast is, per ``point_forecast``
POINT_FORECASTS = {
    "patch": {"median": "the quantile head's median", "mean": "the mean head",
              "greedy": "the mean head (nothing is decoded)"},
    "token": {"median": "the median of the sampled paths",
              "mean": "the mean of the sampled paths",
              "greedy": "greedy decoding"},
    "zero-shot": {"median": "the median of the sampled paths",
                  "mean": "the mean of the sampled paths",
                  "greedy": "greedy (temperature 0) decoding"},
}


def network_kind(tokenizer, zero_shot=False):
    """The network kind for a fixed ``tokenizer`` (``"patch"``, ``"token"`` or
    ``"zero-shot"``); a ``TypeError``/``ValueError`` names what does not fit."""
    if not isinstance(tokenizer, (PatchTokenizer, BaseValueTokenizer)):
        raise TypeError(
            "tokenizer must be a PatchTokenizer, DigitTokenizer, "
            "ChunkedDigitTokenizer or BinTokenizer (None: PatchTokenizer()); got "
            f"{type(tokenizer).__name__}."
        )
    if zero_shot:
        if not isinstance(tokenizer, DigitTokenizer):
            raise ValueError(
                "mode='zero-shot' writes the history as digit text: pass "
                "tokenizer=DigitTokenizer(...) or tokenizer=None."
            )
        return "zero-shot"
    return "patch" if isinstance(tokenizer, PatchTokenizer) else "token"


def check_network(kind, config: NetworkConfig, tokenizer):
    """Raise a ``ValueError`` for settings the network of ``kind`` cannot build
    (checked before the backbone loads)."""
    if kind == "patch" and tokenizer.patch_len > config.context_length:
        raise ValueError(
            f"tokenizer patch_len={tokenizer.patch_len} exceeds context_length="
            f"{config.context_length}; use a shorter patch or a longer context."
        )


def build_network(kind, config: NetworkConfig, tokenizer, seed=0, device="cpu"):
    """The network of ``kind`` for ``config``, initialised from ``seed`` on ``device``.

    The global torch RNG is left as it was.

    Examples
    --------
    >>> from sktime_llmforecast.backbones import resolve_backbone_spec
    >>> from sktime_llmforecast.nn import NetworkConfig, build_network
    >>> from sktime_llmforecast.tokenizers import PatchTokenizer
    >>> tiny = {"model_type": "gpt2", "n_layer": 1, "n_embd": 16, "n_head": 2,
    ...         "vocab_size": 16}
    >>> config = NetworkConfig(spec=resolve_backbone_spec(tiny), context_length=16,
    ...                        horizon=4)
    >>> net = build_network("patch", config, PatchTokenizer(patch_len=4, stride=4))
    >>> type(net).__name__, net.kind
    ('PatchForecastNetwork', 'patch')
    """
    if kind not in NETWORKS:
        raise ValueError(f"kind must be one of {tuple(NETWORKS)}, got {kind!r}.")
    check_network(kind, config, tokenizer)
    with seeded(seed, device):
        net = NETWORKS[kind](config, tokenizer)
    return net.to(device)
