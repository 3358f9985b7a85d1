"""The book built clean: read from the artefacts ``make book`` left in ``_build/``.

``make test`` runs ``make book`` first, so these tests do not rebuild; they check the
report ``scripts/build_book.py`` wrote (return code, warnings, pages) and the notebooks it
produced for download.
"""

from __future__ import annotations

import json
import sys
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


def test_a_stderr_warning_says_what_the_cell_wrote(tmp_path: Path) -> None:
    """myst-nb names the cell only; the report adds what the page shows it wrote."""
    edition = build_book.Edition("zh", tmp_path / "zh", tmp_path / "out", tmp_path / "html", "中文")
    page = edition.output / "_build" / "html" / "chapters" / "05-teardown.html"
    page.parent.mkdir(parents=True)
    page.write_text('<div class="output stderr highlight-myst-ansi notranslate"><div class="highlight"><pre>'
                    '<span></span>UserWarning: Glyph 26102 missing from font(s) DejaVu Sans.\n</pre></div></div>', encoding="utf-8")
    warning = (f"{edition.source}/chapters/05-teardown.md:60: WARNING: stderr was found in the cell outputs "
               "of cell 5 [mystnb.stderr]")
    assert build_book.with_stderr_text(warning, edition) == warning + " (the page's stderr: UserWarning: Glyph 26102 missing from font(s) DejaVu Sans.)"
    other = f"{edition.source}/chapters/05-teardown.md:9: WARNING: undefined label: 'x'"
    assert build_book.with_stderr_text(other, edition) == other  # other warnings are left as they are


def test_the_books_kernel_is_its_own_and_runs_its_start_up_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The builds find the book's kernelspec, not the plain one ``make lab`` installs into
    the venv (binder/postBuild): sharing that file once started a Chinese build's kernels
    without the start-up lines, and so without a CJK font."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    build_book.ensure_kernel()
    env = build_book.book_env("zh")
    monkeypatch.setenv("JUPYTER_PATH", env["JUPYTER_PATH"])  # as the builds' kernels are found
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert Path(spec.resource_dir) == build_book.KERNEL_DIR / "kernels" / "python3"
    assert Path(spec.resource_dir) != Path(sys.prefix) / "share" / "jupyter" / "kernels" / "python3"  # postBuild's
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=env)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        printed: list[str] = []
        reply = client.execute_interactive(
            "import matplotlib; print(any('CJK' in f for f in matplotlib.rcParams['font.family']))",
            output_hook=lambda msg: printed.append(msg["content"].get("text", "")), timeout=120)
        assert reply["content"]["status"] == "ok"
        assert "".join(printed).split() == ["True"]  # use_fallback_fonts ran
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
