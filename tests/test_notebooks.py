"""The example notebooks run end to end (tiny random backbone, so they never rot)."""

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import TINY_GPT2

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.ipynb"))
TINY_PARAMS = f"BACKBONE = {json.dumps(dict(TINY_GPT2, n_positions=256))}\nMAX_EPOCHS = 2"


def test_the_four_example_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == [
        "01_quickstart", "02_backtesting", "03_grid_search", "04_probabilistic"
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    book = nbformat.read(path, as_version=4)
    params = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "each notebook has one cell tagged 'parameters'"
    params[0].source = TINY_PARAMS
    NotebookClient(book, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
