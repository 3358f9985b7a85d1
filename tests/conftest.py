"""Shared pytest configuration: tests/ is importable (for ``helpers``), and the fixtures of
the book tests (test_book_*.py): where the built book is, what it
should contain, and a local web server for the browser tests.

The book tests check the HTML that ``make book`` built; they never rebuild it.  When
``_build/html`` is missing they *fail* with the command to run, they do not skip.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))  # tests/helpers.py
sys.path.insert(0, str(ROOT / "scripts"))  # scripts/build_book.py (paths, toc reader)

import build_book  # noqa: E402  (scripts/ is not a package)

# The chapters whose pages must show a state diagram, a ladder diagram and an explorer.
DIAGRAM_CHAPTERS = (
    "chapters/01-handshake",
    "chapters/02-syn-flood",
    "chapters/03-data-transfer",
    "chapters/04-flow-and-congestion",
    "chapters/05-teardown",
    "chapters/06-time-wait",
    "chapters/07-when-things-die",
)


@pytest.fixture(scope="session")
def html_dir() -> Path:
    """``_build/html``, which must have been built by ``make book``."""
    index = build_book.HTML / "index.html"
    if not index.is_file():
        pytest.fail(f"{index.relative_to(ROOT)} is missing: build the book first with `make book`", pytrace=False)
    return build_book.HTML


@pytest.fixture(scope="session")
def build_report(html_dir: Path) -> dict:
    """The report scripts/build_book.py wrote next to the HTML (``_build/build-report.json``)."""
    if not build_book.REPORT.is_file():
        pytest.fail(f"{build_book.REPORT.relative_to(ROOT)} is missing: run `make book`", pytrace=False)
    return json.loads(build_book.REPORT.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def toc_pages() -> list[str]:
    """Docnames of every page in _toc.yml, in reading order."""
    return build_book.toc_pages()


@pytest.fixture(scope="session")
def book_server(html_dir: Path) -> Iterator[str]:
    """Serve ``_build/html`` on 127.0.0.1 (a free port) from a thread; yields the base URL."""
    import page_probe  # noqa: PLC0415 - scripts/page_probe.py, shared with the browser benchmark

    with page_probe.serve(html_dir) as base:
        yield base
