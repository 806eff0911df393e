"""Every tutorial notebook runs top to bottom, and none is committed with outputs.

The notebooks are found by glob, so a new ``notebooks/NN_*.ipynb`` is tested as soon as it
exists. Each runs in a fresh ``python3`` kernel of this environment, from ``notebooks/`` (as a
reader opens it), with this checkout first on ``PYTHONPATH``. The notebooks check their own
claims with ``assert`` cells, so a story that stops being true fails here.
"""

from __future__ import annotations

import os
import sys

import nbformat
import pytest

from .conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert any(p.name.startswith("01_") for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    # The kernel is this interpreter (whatever "python3" kernelspec is installed elsewhere),
    # importing this checkout's sim.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    spec = KernelSpecManager().get_kernel_spec("python3")
    # jupyter_client runs a bare "python" as this interpreter (sys.executable).
    assert spec.argv[0] in {"python", "python3", sys.executable}, spec.argv
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    errors = [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    figures = sum("image/png" in o.get("data", {}) for c in code for o in c.get("outputs", []))
    assert figures >= 1, "no figure was displayed (is the inline backend active?)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {k} has outputs; strip them"
            assert cell.execution_count is None, f"{path.name} cell {k} has an execution count"


def test_the_indonesian_tour_checks_the_same_claims_as_the_english_one():
    # A translation, not a second story: the same code cells (asserts identical), in order.
    english = nbformat.read(ROOT / "notebooks" / "01_partnership_dynamics_tour.ipynb", 4)
    indonesian = nbformat.read(ROOT / "notebooks" / "01_tur_dinamika_kemitraan.ipynb", 4)

    def asserts(nb):
        return [
            line.strip()
            for cell in nb.cells
            if cell.cell_type == "code"
            for line in cell.source.splitlines()
            if line.strip().startswith("assert ")
        ]

    assert len(asserts(english)) == 6
    assert asserts(indonesian) == asserts(english)
    kinds = [c.cell_type for c in indonesian.cells]
    assert kinds == [c.cell_type for c in english.cells]
    prose = " ".join(" ".join(c.source.split()) for c in indonesian.cells).lower()
    for words in ("kemitraan", "kesejahteraan", "pemberdayaan", "akuntabilitas", "keberlanjutan"):
        assert words in prose, words
    assert "faktor keberhasilan" in prose
