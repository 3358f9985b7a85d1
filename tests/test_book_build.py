"""The book built clean: read from the artefacts ``make book`` left in ``_build/``.

``make test`` runs ``make book`` first, so these tests do not rebuild; they check the
report ``scripts/build_book.py`` wrote (return code, warnings, pages) and the notebooks it
produced for download.
"""

from __future__ import annotations

import json
from pathlib import Path

import build_book
import nbformat
import pytest

pytestmark = pytest.mark.book

MAX_PAGE_BYTES = 5 * 1024 * 1024


def test_build_succeeded_without_warnings(build_report: dict) -> None:
    assert build_report["command"] == "jupyter-book build . -W -n --keep-going"
    assert build_report["returncode"] == 0, build_report["warnings"]
    assert build_report["warning_count"] == 0, "\n".join(build_report["warnings"])


def test_report_is_for_the_current_toc(build_report: dict, toc_pages: list[str]) -> None:
    assert build_report["pages"] == toc_pages


def test_every_toc_page_was_built(build_report: dict, toc_pages: list[str], html_dir: Path) -> None:
    assert build_report["missing_html"] == []
    for page in toc_pages:
        assert (html_dir / f"{page}.html").is_file(), page
    assert sorted(build_report["built"]) == sorted(toc_pages)


def test_build_log_has_no_traceback() -> None:
    log = build_book.LOG.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" not in log
    assert "Executing notebook failed" not in log


def test_page_weights(build_report: dict, toc_pages: list[str], html_dir: Path) -> None:
    for page in toc_pages:
        size = (html_dir / f"{page}.html").stat().st_size
        assert build_report["page_weights"][page]["html"] == size, f"{page}: report is stale"
        assert build_report["page_weights"][page]["total"] < MAX_PAGE_BYTES, page


def test_every_page_has_a_plain_notebook_download(toc_pages: list[str], html_dir: Path) -> None:
    for page in toc_pages:
        notebook = build_book.NOTEBOOKS / f"{Path(page).name}.ipynb"
        assert notebook.is_file(), notebook
        nb = nbformat.read(notebook, as_version=4)
        nbformat.validate(nb)
        # Opens in plain Jupyter and Colab: no jupytext needed, a standard kernel, no outputs.
        assert "jupytext" not in nb.metadata
        assert nb.metadata["kernelspec"]["name"] == "python3"
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
        assert json.loads(notebook.read_text(encoding="utf-8"))["nbformat"] == 4
        # ... and the page links to it, from the download menu and the note on top.
        text = (html_dir / f"{page}.html").read_text(encoding="utf-8")
        assert text.count(f"_downloads/notebooks/{notebook.name}") >= 2, page


def test_chapters_with_code_give_notebooks_with_code(toc_pages: list[str]) -> None:
    for page in toc_pages:
        source = build_book.source_of(page)
        assert source is not None, page
        if "```{code-cell}" in source.read_text(encoding="utf-8"):
            nb = nbformat.read(build_book.NOTEBOOKS / f"{Path(page).name}.ipynb", as_version=4)
            assert any(cell.cell_type == "code" for cell in nb.cells), page
