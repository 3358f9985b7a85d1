"""Every chapter runs as the notebook a reader downloads, where nothing is installed.

This is the Colab / plain-Jupyter reader, simulated: a fresh virtualenv that holds only a
Jupyter kernel (``ipykernel``, which Colab and every Jupyter have), no tcpbook, no MyST,
nothing from this repository.  Each downloaded ``.ipynb`` from ``_build/html/_downloads``
runs there top to bottom with nbclient.  Its first cell must install tcpbook by itself:
it pip-installs what ``TCPBOOK_INSTALL`` names — here the wheel ``make book`` published
beside the pages (the default, the repository URL, needs the network) — with tcpbook's
dependencies from the package index (pip's cache makes that quick).  The explorers run
live (no ``TCPBOOK_STATIC``), as in a reader's kernel.

The environment is built once per test session (shared by the xdist workers under a file
lock) and the install cell runs there once, then every notebook runs with it in place.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import build_book
import downloads
import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = [pytest.mark.book, pytest.mark.slow]

PAGES = build_book.toc_pages()
KERNEL = "fresh-reader"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def locked_version(package: str) -> str:
    """The version of ``package`` in requirements.lock (for Python >= 3.11 if it forks)."""
    text = (build_book.ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins = re.findall(rf"^{re.escape(package)}==([^\s;\\]+)(.*)$", text, re.M | re.I)
    assert pins, f"{package} is not in requirements.lock"
    return next((v for v, marker in pins if "3.11" in marker and ">=" in marker), pins[-1][0])


def kernel_env(root: Path, wheel: Path) -> dict[str, str]:
    """The reader's environment: the fresh kernel, and nothing of this repository's venv."""
    venv_bin = str(build_book.VENV / "bin")
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env = {k: v for k, v in os.environ.items() if k not in ("TCPBOOK_STATIC", "PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_PATH")}
    env.update(PATH=path, JUPYTER_PATH=str(root / "jupyter" / "share" / "jupyter"), PYDEVD_DISABLE_FILE_VALIDATION="1",
               **{downloads.INSTALL_ENV: str(wheel)})
    return env


def run_notebook(nb, root: Path, wheel: Path, cwd: Path) -> None:  # noqa: ANN001 - an nbformat notebook
    saved, reader = dict(os.environ), kernel_env(root, wheel)
    os.environ.clear()
    os.environ.update(reader)  # nbclient starts the kernel with this process's environment
    try:
        NotebookClient(nb, kernel_name=KERNEL, timeout=600, allow_errors=False,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def venv_python(root: Path) -> str:
    return str(root / "venv" / "bin" / "python")


@pytest.fixture(scope="session")
def wheel(html_dir: Path) -> Path:
    wheels = sorted((html_dir / "_downloads").glob("tcpbook-*-py3-none-any.whl"))
    assert len(wheels) == 1, f"make book publishes exactly one tcpbook wheel, found {wheels}"
    return wheels[0]


@pytest.fixture(scope="session")
def fresh_reader(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> dict:
    """A virtualenv with only a kernel; the first downloaded notebook's install cell run in it."""
    # One folder per test session, the same for every xdist worker (each has its own basetemp
    # inside the session's).
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "fresh-reader"
    with file_lock(shared / "fresh-reader.lock"):
        report = root / "report.json"
        if not report.is_file():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(root / "venv")], check=True)
            pip = [venv_python(root), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            subprocess.run([*pip, f"ipykernel=={locked_version('ipykernel')}"], check=True)
            subprocess.run([venv_python(root), "-m", "ipykernel", "install", "--prefix", str(root / "jupyter"),
                            "--name", KERNEL, "--display-name", "a reader's Python"], check=True,
                           stdout=subprocess.DEVNULL)
            before = importable(root, "tcpbook", "myst_nb", "jupyter_book")
            first = nbformat.read(build_book.NOTEBOOKS / "intro.ipynb", as_version=4).cells[0]
            install_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(first.source)])
            run_notebook(install_nb, root, wheel, root)
            after = importable(root, "tcpbook", "myst_nb", "jupyter_book")
            shown = subprocess.run([venv_python(root), "-m", "pip", "show", "tcpbook"], capture_output=True, text=True,
                                   cwd=root)
            output = "".join(o.get("text", "") for o in install_nb.cells[0].outputs)
            report.write_text(json.dumps({"before": before, "after": after, "show": shown.stdout,
                                          "install_output": output}), encoding="utf-8")
    return {"root": root, **json.loads((root / "report.json").read_text(encoding="utf-8"))}


def importable(root: Path, *modules: str) -> dict[str, bool]:
    program = "import importlib.util, json, sys; print(json.dumps({m: importlib.util.find_spec(m) is not None for m in sys.argv[1:]}))"
    out = subprocess.run([venv_python(root), "-c", program, *modules], capture_output=True, text=True, check=True,
                         cwd=root)  # not the repository, where ./tcpbook would be importable
    return json.loads(out.stdout)


def test_the_install_cell_installs_tcpbook_from_the_published_wheel(fresh_reader: dict, wheel: Path) -> None:
    assert fresh_reader["before"] == {"tcpbook": False, "myst_nb": False, "jupyter_book": False}
    assert fresh_reader["after"] == {"tcpbook": True, "myst_nb": False, "jupyter_book": False}
    version = wheel.name.split("-")[1]
    assert f"Version: {version}" in fresh_reader["show"]
    assert "installing" in fresh_reader["install_output"] and wheel.name in fresh_reader["install_output"]


def test_every_download_starts_with_the_same_install_cell(toc_pages: list[str]) -> None:
    firsts = set()
    for page in toc_pages:
        nb = nbformat.read(build_book.NOTEBOOKS / downloads.notebook_name(page), as_version=4)
        assert nb.cells[0].cell_type == "code" and downloads.INSTALL_MARK in nb.cells[0].source, page
        firsts.add(nb.cells[0].source)
    assert len(firsts) == 1
    source = firsts.pop()
    assert "myst_nb" not in source and "glue" not in source
    assert build_book.install_requirement() in source  # the repository of _config.yml by default


@pytest.mark.parametrize("page", PAGES)
def test_downloaded_notebook_runs_where_nothing_is_installed(page: str, fresh_reader: dict, wheel: Path,
                                                             tmp_path: Path) -> None:
    nb = nbformat.read(build_book.NOTEBOOKS / downloads.notebook_name(page), as_version=4)
    run_notebook(nb, fresh_reader["root"], wheel, tmp_path)  # raises CellExecutionError, naming the cell
    errors = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    assert errors == []
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    if len(code_cells) > 1:  # the install cell and the chapter's own
        assert any(cell.get("outputs") for cell in code_cells[1:]), "no cell of the chapter produced output"
    imports = "\n".join(cell.source for cell in code_cells)
    assert "myst_nb" not in imports and "glue(" not in imports


def test_a_downloaded_chinese_chapter_runs_and_speaks_chinese(fresh_reader: dict, wheel: Path, tmp_path: Path) -> None:
    """The Chinese edition's download of chapter 1, in the same bare environment: it runs
    to the end, and its install cell chose Chinese for the explorers and summaries."""
    notebook = build_book.ZH.notebooks / downloads.notebook_name("chapters/01-handshake")
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "from tcpbook import simulate\nfrom tcpbook.i18n import language\n"
        "from tcpbook.render.summary import describe_run\n"
        "print(language(), describe_run(simulate('handshake')))"))
    run_notebook(nb, fresh_reader["root"], wheel, tmp_path)
    errors = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    assert errors == []
    said = "".join(out.get("text", "") for out in nb.cells[-1].outputs)
    assert said.startswith("zh ") and "个报文段" in said, said
