"""Every chapter also runs as a plain notebook, the way a Binder or Colab reader runs it.

Each MyST chapter is converted with jupytext, by the same function that makes the book's
``.ipynb`` downloads, and executed top to bottom with nbclient in a fresh ``python3``
kernel of this virtualenv, *without* ``TCPBOOK_STATIC``: the explorers run live, as they
do in JupyterLab.  These tests do not need the built HTML.
"""

from __future__ import annotations

from pathlib import Path

import build_book
import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

PAGES = build_book.toc_pages()


@pytest.mark.parametrize("page", PAGES)
def test_chapter_runs_as_a_plain_notebook(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = build_book.source_of(page)
    assert source is not None, f"{page}.md listed in _toc.yml does not exist"
    notebook = tmp_path / f"{Path(page).name}.ipynb"
    build_book.write_notebook(source, notebook)
    nb = nbformat.read(notebook, as_version=4)
    if not any(cell.cell_type == "code" for cell in nb.cells):
        assert "```{code-cell}" not in source.read_text(encoding="utf-8")
        return

    build_book.ensure_kernel()
    monkeypatch.delenv("TCPBOOK_STATIC", raising=False)
    monkeypatch.setenv("JUPYTER_PATH", str(build_book.KERNEL_DIR))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    client = NotebookClient(
        nb, kernel_name="python3", timeout=600, allow_errors=False,
        resources={"metadata": {"path": str(source.parent)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails

    errors = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    assert errors == []
    assert any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "no cell produced output"
