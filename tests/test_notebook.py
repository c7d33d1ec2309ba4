"""notebooks/federal_report_2020.ipynb runs top to bottom on the installed package
(so the worked example cannot rot) and shows what it promises."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import nbclient  # the 'test' extra installs nbclient, nbformat, ipykernel and matplotlib
import nbformat
import pytest

from traffickstats.datasets import SYNTHETIC_NOTICE

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "federal_report_2020.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook executed by a python3 kernel running this interpreter."""
    tmp = tmp_path_factory.mktemp("notebook")
    spec = tmp / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (tests)", "language": "python"}))
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(tmp / "jupyter"))   # searched first: this interpreter's kernel
    mp.setenv("MPLBACKEND", "Agg")
    mp.delenv("PYTHONPATH", raising=False)             # the kernel imports the installed package
    try:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                         resources={"metadata": {"path": str(tmp)}})
        client.execute()          # raises CellExecutionError on the first failing cell
    finally:
        mp.undo()
    return nb


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif "data" in out:
            parts.append(out["data"].get("text/html", "") + out["data"].get("text/plain", ""))
    return "".join(parts)


def _all_text(nb) -> str:
    return "\n".join(_text(c) for c in nb.cells if c.cell_type == "code")


def test_notebook_runs_without_errors(executed):
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code)
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


def test_notebook_says_the_data_is_synthetic(executed):
    first_md = executed.cells[0]
    assert first_md.cell_type == "markdown" and "Synthetic data" in first_md.source
    assert "no real person" in " ".join(first_md.source.split())
    assert SYNTHETIC_NOTICE in _text(next(c for c in executed.cells if c.cell_type == "code"))
    assert "no real person" in " ".join(executed.cells[-1].source.split())


def test_notebook_shows_the_headline_figures(executed):
    text = _all_text(executed)
    for figure in ("165 (+11% on 149)", "257 (-8% on 279)", "163 (-51% on 333)", "163/183", "1,499",
                   "78/133", "68/105", "10/28", "2,093", "4,132", "3,169", "4,824"):
        assert figure in text, figure


def test_notebook_draws_three_figures(executed):
    pngs = [o for c in executed.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(pngs) == 3


def test_notebook_states_the_definitions(executed):
    md = "\n".join(c.source for c in executed.cells if c.cell_type == "markdown")
    for term in ("**New case.**", "**Active case.**", "**New defendant.**", "**Convicted in *Y*.**",
                 "**Conviction rate.**", "**Year-over-year change.**", "**Platform share.**",
                 "**Gang-led share.**", "**Multi-agency share.**", "**Since 2000.**", "Denominator"):
        assert term in md, term


def test_notebook_pipes_pandas_through_the_package(executed):
    cell = next(c for c in executed.cells if c.cell_type == "code" and ".pipe(" in c.source)
    assert "ts.Table.from_pandas" in cell.source and ".to_pandas()" in cell.source
    out = _text(cell)
    assert "female" in out and "15-17" in out


def test_notebook_shows_disclosure_control(executed):
    cells = [c for c in executed.cells if c.cell_type == "code" and "min_cell=11" in c.source]
    assert cells
    text = _all_text(executed)
    assert "figures withheld with min_cell=11" in text
    assert "states with cases withheld" in text


def test_committed_notebook_is_small():
    assert NOTEBOOK.stat().st_size < 1_000_000
