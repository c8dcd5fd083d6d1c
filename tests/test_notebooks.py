"""The example notebooks run end to end (tiny random backbone, so they never rot)."""

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import TINY_GPT2

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.ipynb"))
TINY = dict(TINY_GPT2, n_positions=256)


@pytest.fixture(scope="module")
def tiny_adapter(tmp_path_factory):
    """An adapter for the tiny backbone with the shipped adapter's default settings,
    so the notebooks take the same path as with the embedded model."""
    from sktime_llmforecast import LLMForecaster
    from sktime_llmforecast.pretraining import PretrainConfig, pretrain_adapter

    out = tmp_path_factory.mktemp("adapter") / "tiny"
    pretrain_adapter(LLMForecaster(backbone=TINY, pretrained=None), out,
                     PretrainConfig(steps=2, batch_size=8, n_validation=8, progress=False))
    return out


def test_the_four_example_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == [
        "01_quickstart", "02_backtesting", "03_grid_search", "04_probabilistic"
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, tiny_adapter):
    book = nbformat.read(path, as_version=4)
    params = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "each notebook has one cell tagged 'parameters'"
    params[0].source = (f"BACKBONE = {json.dumps(TINY)}\n"
                        f"PRETRAINED = {str(tiny_adapter)!r}\nMAX_EPOCHS = 2")
    NotebookClient(book, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
