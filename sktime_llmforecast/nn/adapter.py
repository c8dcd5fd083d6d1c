"""Pretrained adapters: the trained tensors (safetensors) plus a JSON card.

An adapter is a pair ``NAME.safetensors`` / ``NAME.json``. The weights are what a
fitted network pickles (interface, head, and whatever of the backbone trains),
never the frozen backbone; the card says which backbone and settings they were
trained for, how (generator, seed, steps) and how well (validation numbers).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load

import sktime_llmforecast.tokenizers as tokenizers
from sktime_llmforecast import __version__
from sktime_llmforecast.nn.errors import is_out_of_memory
from sktime_llmforecast.nn.registry import build_network, network_kind

ADAPTER_FORMAT = "sktime-llmforecast-adapter"
ADAPTER_FORMAT_VERSION = 1
#: the adapters shipped as package data (``sktime_llmforecast/adapters``)
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "adapters"
_TOKENIZERS = ("PatchTokenizer", "DigitTokenizer", "ChunkedDigitTokenizer", "BinTokenizer")

# card["network"] keys that fix the weights' shapes or meaning: they must match
ARCHITECTURE_KEYS = ("backbone", "n_layers", "interface", "n_queries", "tokenizer",
                     "context_length", "horizon", "quantile_levels", "head_width",
                     "prompt")
#: the architecture keys only a patch network's quantile head reads
PATCH_HEAD_KEYS = ("quantile_levels", "head_width")
# what loading reads from a card, and its type
_CARD_FIELDS = {"network.backbone.kind": str,
                "network.backbone.source": str, "network.n_layers": (int, type(None)),
                "network.tokenizer.class": str, "network.tokenizer.params": dict,
                "network.horizon": int, "weights.sha256": str}


def tokenizer_record(tokenizer):
    """``{"class": name, "params": {...}}`` of a tokenizer (JSON-ready)."""
    return {"class": type(tokenizer).__name__,
            "params": jsonable(tokenizer.get_params(deep=False))}


def tokenizer_from_record(record):
    """Rebuild the tokenizer a card names (one of the package's tokenizers)."""
    if record["class"] not in _TOKENIZERS:
        raise ValueError(
            f"Unknown tokenizer class {record['class']!r} in the adapter card; "
            f"adapters hold one of {_TOKENIZERS}."
        )
    cls = getattr(tokenizers, record["class"])
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in record["params"].items()}
    return cls(**params)


def card_network_kind(card_network):
    """The network kind (``"patch"`` or ``"token"``) an adapter card's tokenizer
    builds, as :func:`network_kind` decides it."""
    return network_kind(tokenizer_from_record(card_network["tokenizer"]))


def network_record(config, tokenizer):
    """The ``network`` part of a card, from a ``NetworkConfig`` and its tokenizer
    (None: no tokenizer recorded)."""
    spec = config.spec
    return {
        "backbone": {"kind": spec.kind, "source": spec.source},
        "n_layers": None if config.n_layers is None else int(config.n_layers),
        "finetune": config.finetune,
        "interface": config.interface,
        "n_queries": config.n_queries if config.interface == "resampler" else None,
        "tokenizer": None if tokenizer is None else tokenizer_record(tokenizer),
        "context_length": config.context_length,
        "horizon": config.horizon,
        "quantile_levels": list(config.quantile_levels),
        "head_width": config.head_width,
        "prompt": config.prompt,
    }


def adapter_paths(path):
    """``(weights, card)`` paths of an adapter given either file or the stem.

    The stem may contain dots (``runs/lr1e-3.step4000``): only a final
    ``.safetensors`` or ``.json`` is taken as a suffix.
    """
    p = Path(path).expanduser()
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def save_adapter(net, path, pretraining=None, validation=None):
    """Write ``net``'s trained tensors and a card next to each other.

    Parameters
    ----------
    net : BackboneNetwork
    path : str or Path
        Stem or either file name; both files are written.
    pretraining, validation : dict, optional
        How it was trained and how well, stored in the card as given.

    Returns
    -------
    card : dict
    """
    weights_path, card_path = adapter_paths(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    blob = net.saved_weights()
    weights_path.write_bytes(blob)
    card = {
        "format": ADAPTER_FORMAT,
        "format_version": ADAPTER_FORMAT_VERSION,
        "package_version": __version__,
        "network": network_record(net.config, net.tokenizer),
        "backbone_config": backbone_facts(net.backbone.config),
        "weights": {"file": weights_path.name, "bytes": len(blob),
                    "sha256": hashlib.sha256(blob).hexdigest()},
        "pretraining": jsonable(pretraining or {}),
        "validation": jsonable(validation or {}),
    }
    card_path.write_text(json.dumps(card, indent=1) + "\n")
    return card


def read_card(path):
    """The card of the adapter at ``path`` (stem or either file)."""
    weights_path, card_path = adapter_paths(path)
    if not card_path.exists() or not weights_path.exists():
        raise FileNotFoundError(
            f"No adapter at {Path(path)}: need both {weights_path.name} and "
            f"{card_path.name} (written by `python -m sktime_llmforecast.pretraining`)."
        )
    try:
        card = json.loads(card_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _damaged(card_path, f"not JSON ({exc})") from None
    if not isinstance(card, dict) or card.get("format") != ADAPTER_FORMAT:
        raise ValueError(f"{card_path} is not an sktime-llmforecast adapter card.")
    version = card.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise _damaged(card_path, f"its format_version is {version!r}, not an int")
    if version > ADAPTER_FORMAT_VERSION:
        raise ValueError(
            f"{card_path} has format version {version}; this version "
            f"of sktime-llmforecast reads up to {ADAPTER_FORMAT_VERSION}. Upgrade it."
        )
    problem = _card_problem(card)
    if problem is None:
        try:  # the tokenizer record must rebuild (an unknown class raises as is)
            tokenizer_from_record(card["network"]["tokenizer"])
        except (TypeError, ValueError) as exc:
            if str(exc).startswith("Unknown tokenizer class"):
                raise ValueError(f"{card_path}: {exc}") from None
            problem = f"its tokenizer record does not rebuild ({exc})"
    if problem:
        raise _damaged(card_path, problem)
    return card


def _card_problem(card):
    """What a card lacks of :data:`_CARD_FIELDS` (None: nothing)."""
    for field, kind in _CARD_FIELDS.items():
        value = card
        for key in field.split("."):
            if not isinstance(value, dict) or key not in value:
                return f"it has no {field!r}"
            value = value[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"its {field!r} is {type(value).__name__} {value!r}"
    return None


def _damaged(path, problem):
    """The ``ValueError`` of an adapter file that cannot be read."""
    return ValueError(
        f"The adapter file {path} is damaged: {problem}. Write the adapter again "
        "(python -m sktime_llmforecast.pretraining), or pass a valid adapter or "
        "pretrained=None."
    )


def read_weights(path, card):
    """The adapter's safetensors bytes, checked against the card's checksum and
    readable as safetensors."""
    weights_path, _ = adapter_paths(path)
    blob = weights_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != card["weights"]["sha256"]:
        raise ValueError(
            f"{weights_path} does not match its card's checksum: the files belong to "
            "different adapters or the weights are damaged."
        )
    try:
        load(blob)
    except SafetensorError as exc:
        raise _damaged(weights_path, f"not a safetensors file ({exc})") from None
    return blob


def shipped_adapters():
    """Stems of the adapters shipped inside the package."""
    if not SHIPPED_DIR.is_dir():
        return []
    return sorted(p.with_suffix("") for p in SHIPPED_DIR.glob("*.json"))


def architecture_mismatch(card_network, wanted):
    """``{key: (adapter's, wanted)}`` for architecture keys that differ.

    ``PATCH_HEAD_KEYS`` count for patch adapters only: a token network has no
    quantile head (its quantiles come from sampled paths at any level), so a
    forecaster's ``quantile_levels`` never rule a token adapter out.
    """
    token = card_network_kind(card_network) == "token"
    out = {}
    for key in ARCHITECTURE_KEYS:
        if token and key in PATCH_HEAD_KEYS:
            continue
        have, want = card_network.get(key), jsonable(wanted.get(key))
        if have != want:
            out[key] = (have, want)
    return out


def backbone_mismatch(card, backbone_config):
    """``{key: (adapter's, this backbone's)}`` for the recorded backbone facts."""
    have = card.get("backbone_config", {})
    now = backbone_facts(backbone_config)
    return {k: (have[k], now[k]) for k in now if k in have and have[k] != now[k]}


def backbone_facts(config):
    """Model type, width and vocabulary of a backbone config (recorded in cards)."""
    return {
        "model_type": getattr(config, "model_type", None),
        "hidden_size": getattr(config, "hidden_size", None),
        "vocab_size": getattr(config, "vocab_size", None),
    }


def json_default(obj):
    """``json.dumps`` fallback: numpy scalars as Python numbers, else ``repr``."""
    item = getattr(obj, "item", None)
    if callable(item):
        return item()
    return repr(obj)


def jsonable(obj):
    """A JSON round-trip of ``obj`` (tuples become lists, numpy scalars numbers)."""
    return json.loads(json.dumps(obj, default=json_default))


def load_adapter_network(card, path, config, seed=0, device="cpu"):
    """The network an adapter was trained as, with its trained tensors loaded.

    Parameters
    ----------
    card : dict
        From :func:`read_card`.
    path : str or Path
        The adapter (stem or either file).
    config : NetworkConfig
        The architecture to build (the card's horizon and the caller's backbone,
        ``finetune``, device dtype).
    seed : int
        Seeds the initialisation of tensors the adapter does not hold.
    device : str

    Only tensors this network trains (or that are not the backbone's) are loaded:
    an adapter holding backbone tensors (``finetune="layernorm"``, ``"full"`` or
    ``"lora"``) needs the same ``finetune``, so the frozen backbone, shared with
    every other forecaster in the process, is never written to. A ``ValueError``
    says what does not fit.
    """
    tokenizer = tokenizer_from_record(card["network"]["tokenizer"])
    net = build_network(network_kind(tokenizer), config, tokenizer, seed, device)
    diff = backbone_mismatch(card, net.backbone.config)
    blob = read_weights(path, card)
    frozen = {n for n, p in net.named_parameters(remove_duplicate=False)
              if not p.requires_grad}
    own = set(net.state_dict())
    foreign = [k for k in load(blob) if k not in own or k in frozen]
    if diff or foreign:
        what = (f"backbone {diff}" if diff else
                f"tensors this network does not train ({foreign[:3]})")
        raise ValueError(
            f"The pretrained adapter does not fit this forecaster: {what}. It was "
            f"trained with finetune={card['network'].get('finetune')!r} for "
            f"backbone {card['network']['backbone']['source'][:80]!r}; use those, "
            "or pretrained=None."
        )
    try:
        net.load_saved_weights(blob)
    except RuntimeError as exc:  # tensor shapes differ: another backbone
        if is_out_of_memory(exc):
            raise
        raise ValueError(
            "The pretrained adapter's tensors do not fit this backbone (was it "
            f"trained for another one?): {str(exc)[:300]}"
        ) from exc
    return net
