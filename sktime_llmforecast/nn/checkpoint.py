"""Resumable training checkpoints: atomic writes, the step in every file, and an
identity check on resume (settings, architecture, generator)."""

from __future__ import annotations

import json
import os

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from sktime_llmforecast.nn.adapter import json_default, jsonable, network_record

# how a cut-off or garbled file fails to read (a pickle that torch's weights_only
# loader refuses is not among them: that refusal stays as it is)
_DAMAGED = (OSError, EOFError, KeyError, TypeError, RuntimeError, UnicodeDecodeError,
            json.JSONDecodeError, SafetensorError)


def checkpoint_identity(net, generator, settings):
    """What a checkpoint must share with the run that resumes it: the ``settings``
    (a dict), the network's architecture and the generator."""
    return jsonable({
        "settings": dict(settings),
        "network": network_record(net.config, net.tokenizer),
        "generator": {"class": type(generator).__name__,
                      "params": generator.get_params(deep=False)},
    })


def save_checkpoint(folder, net, optimizer, identity, history, running, n_running):
    """Write ``trainable.safetensors``, ``optimizer.pt`` and ``state.json`` to
    ``folder`` atomically, each carrying the step (``history["steps_run"]``)."""
    folder.mkdir(parents=True, exist_ok=True)
    step = int(history["steps_run"])
    state = {k: v.detach().cpu().contiguous() for k, v in net.trainable_state().items()}
    tmp = {name: folder / f".{name}.tmp" for name in
           ("trainable.safetensors", "optimizer.pt", "state.json")}
    # every file carries the step, so a crash between the renames is detected
    save_file(state, str(tmp["trainable.safetensors"]), metadata={"step": str(step)})
    torch.save({"step": step, "optimizer": optimizer.state_dict()}, tmp["optimizer.pt"])
    tmp["state.json"].write_text(json.dumps(
        {"step": step, **identity, "history": history,
         "running": {"sum": running, "count": n_running}},
        indent=1, default=json_default,
    ))
    for name, path in tmp.items():
        os.replace(path, folder / name)


def load_checkpoint(folder, net, optimizer, device, identity):
    """Load the checkpoint in ``folder`` into ``net`` and ``optimizer``.

    Returns ``(step, history, running_sum, running_count)``. Raises when the
    folder has no checkpoint, was written with another identity (a
    ``ValueError`` names the difference), its files are from different steps or
    one is cut off or garbled (a ``ValueError`` names the file).
    """
    meta_path = folder / "state.json"
    if not meta_path.exists():
        raise FileNotFoundError(
            f"No checkpoint in {folder} (state.json missing); start without resume."
        )
    meta = _read(meta_path, _state)
    for part in ("settings", "network", "generator"):
        if meta.get(part) != identity[part]:
            have, now = meta.get(part) or {}, identity[part]
            diff = {k: (have.get(k), now.get(k)) for k in set(have) | set(now)
                    if have.get(k) != now.get(k)}
            raise ValueError(
                f"The checkpoint in {folder} was written with another {part} "
                f"(checkpoint, now): {diff}; resume with the same {part} or start a "
                "new folder."
            )
    weights = folder / "trainable.safetensors"
    weight_step = _read(weights, _weight_step)
    opt = _read(folder / "optimizer.pt", lambda path: _optimizer(path, device))
    if not weight_step == int(opt["step"]) == int(meta["step"]):
        raise ValueError(
            f"The checkpoint files in {folder} are from different steps (weights "
            f"{weight_step}, optimizer {opt['step']}, state {meta['step']}): it was cut "
            "off while being written. Start a new folder."
        )
    state = _read(weights, lambda path: load_file(str(path), device=device))
    net.load_trainable_state(state)
    optimizer.load_state_dict(opt["optimizer"])
    running = meta.get("running", {})
    return (int(meta["step"]), meta["history"], float(running.get("sum", 0.0)),
            int(running.get("count", 0)))


def _read(path, reader):
    """``reader(path)``; a ``ValueError`` naming ``path`` when the file is damaged."""
    try:
        return reader(path)
    except _DAMAGED as exc:
        raise ValueError(
            f"The checkpoint file {path} is damaged or missing ({type(exc).__name__}: "
            f"{exc}); start a new checkpoint folder (or run without resume)."
        ) from exc


def _need(obj, keys):
    """``obj`` when it is a dict holding ``keys``; else a ``KeyError`` naming them."""
    if not isinstance(obj, dict) or not set(keys) <= set(obj):
        raise KeyError(f"it must hold {keys}")
    return obj


def _state(path):
    return _need(json.loads(path.read_text()), ("step", "history"))


def _weight_step(path):
    with safe_open(str(path), framework="pt") as handle:
        return int((handle.metadata() or {}).get("step", -1))


def _optimizer(path, device):
    return _need(torch.load(path, map_location=device, weights_only=True),
                 ("step", "optimizer"))
