"""The package layout: the data path's import direction, and no private names
crossing a package boundary (read from the source, so a new import that breaks
either fails here)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sktime_llmforecast"
PACKAGE = "sktime_llmforecast"
# who may import whom: the stages below, the network layer, then its two users
LAYERS = {
    "tokenizers": 0, "interfaces": 0, "backbones": 0, "heads": 0, "losses": 0,
    "metrics": 1, "nn": 2, "forecasting": 3, "pretraining": 3,
}


def _imports(path):
    """``(lineno, module, names)`` of every ``sktime_llmforecast`` import in ``path``."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == PACKAGE:
                yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield node.lineno, alias.name, []


def _package_of(path):
    parts = path.relative_to(ROOT).parts
    return parts[0] if len(parts) > 1 else None  # None: the top-level modules


MODULES = sorted(p for p in ROOT.rglob("*.py") if _package_of(p) is not None)


def _crossings():
    for path in MODULES:
        own = _package_of(path)
        for lineno, module, names in _imports(path):
            parts = module.split(".")
            if len(parts) < 2 or parts[1] == own:
                continue
            yield path, lineno, own, parts, names


def test_no_private_name_crosses_a_package():
    bad = []
    for path, lineno, _own, parts, names in _crossings():
        private = [p for p in parts[1:] if p.startswith("_")]
        private += [n for n in names if n.startswith("_")]
        if private:
            bad.append(f"{path.relative_to(ROOT)}:{lineno} imports {'.'.join(parts)} {private}")
    assert not bad, "\n".join(bad)


def test_imports_follow_the_data_path():
    """Stages never import the network layer, the network layer never imports the
    forecaster or pretraining, and those two never import each other."""
    bad = []
    for path, lineno, own, parts, _names in _crossings():
        target = parts[1]
        if target not in LAYERS:  # a top-level module (the package itself)
            if own in LAYERS and LAYERS[own] < 3 and target == "__init__":
                bad.append(f"{path.relative_to(ROOT)}:{lineno} imports the top level")
            continue
        if LAYERS[target] >= LAYERS[own]:
            bad.append(f"{path.relative_to(ROOT)}:{lineno} ({own}) imports {target}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path):
    """One job per module: at most 500 lines of code and comments (docstrings
    excluded: the forecaster's parameter docs are long on purpose)."""
    tree = ast.parse(path.read_text())
    doc_lines = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            doc_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    n_lines = len(path.read_text().splitlines())
    assert n_lines - len(doc_lines) <= 500, f"{n_lines - len(doc_lines)} lines"
