"""The notebooks in notebooks/ run top to bottom with a small sampler, and are committed without
outputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def test_the_four_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_chinchilla_replication.ipynb",
        "03_kaplan_vs_chinchilla.ipynb",
        "04_planning_a_run.ipynb",
        "05_training_curves.ipynb",
        "06_downstream.ipynb",
        "07_design.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: code cells {dirty} have outputs or execution counts"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert "SCALING_BAYES_NOTEBOOK_FAST" in "".join(c.source for c in nb.cells)


def _kernel_env() -> dict[str, str]:
    """Small sampler, and the test session's persistent XLA cache (tests/conftest.py sets
    SCALING_BAYES_CACHE_DIR): the notebooks fit Epoch's 240 points with the sampler settings of
    the ``epoch_fit`` fixture, so the kernels reuse programs the suite has compiled."""
    env = dict(os.environ, SCALING_BAYES_NOTEBOOK_FAST="1")
    cache = env.get("SCALING_BAYES_CACHE_DIR", "")
    if cache.lower() not in ("", "off", "0", "none", "false"):
        env["JAX_COMPILATION_CACHE_DIR"] = cache  # read by JAX at import in the kernel
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.5"
    return env


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    """Execute every cell in a fresh kernel (the interpreter running pytest), working directory
    ``tmp_path``; fail with the cell's traceback if one raises."""
    before = sorted(NOTEBOOK_DIR.iterdir())
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    try:
        client.execute(env=_kernel_env())
    except nbclient.exceptions.CellExecutionError as err:
        pytest.fail(f"{path.name}: a cell raised\n{err}", pytrace=False)
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in ran)
    assert sorted(NOTEBOOK_DIR.iterdir()) == before, "a notebook wrote into notebooks/"
