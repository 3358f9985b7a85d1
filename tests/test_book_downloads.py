"""The downloadable notebooks and the wheel that ``make book`` publishes beside the pages.

(That they *run* where nothing is installed is tests/test_book_notebooks.py.)
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import build_book
import downloads
import nbformat
import pytest

pytestmark = pytest.mark.book

# MyST that Colab and plain Jupyter would show as raw text.
RAW_MYST = re.compile(r"\{[\w:-]+\}`|^\s*\([\w-]+\)=\s*$|^\s*(`{3,}|~{3,}|:{3,})\{", re.M)


def prose(markdown: str) -> str:
    """A cell's Markdown without code blocks and code spans (examples may show MyST)."""
    text = re.sub(r"^(?P<f>`{3,}|~{3,})(?!\{)[^\n]*\n.*?^(?P=f)\s*$", "", markdown, flags=re.M | re.S)
    return downloads.ROLE_OR_CODE.sub(lambda m: "" if m.group("code") is not None else m.group(0), text)


@pytest.mark.parametrize("page", build_book.toc_pages())
def test_downloaded_prose_is_plain_markdown_with_the_books_numbers(page: str, html_dir: Path) -> None:
    nb = nbformat.read(build_book.NOTEBOOKS / downloads.notebook_name(page), as_version=4)
    markdown = [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
    raw = [m.group(0) for text in markdown for m in RAW_MYST.finditer(prose(text))]
    assert raw == [], f"{page}: MyST left in the downloaded notebook: {raw[:5]}"
    source = build_book.source_of(page).read_text(encoding="utf-8")
    # A solution stays folded: one <details> per dropdown.
    assert sum(text.count("<details>") for text in markdown) == source.count(":class: dropdown")


def test_the_numbers_in_a_download_are_the_books(html_dir: Path) -> None:
    import json  # noqa: PLC0415

    values = json.loads((build_book.BUILD / build_book.INLINE_VALUES).read_text(encoding="utf-8"))
    nb = nbformat.read(build_book.NOTEBOOKS / "01-handshake.ipynb", as_version=4)
    text = " ".join(" ".join(c.source for c in nb.cells if c.cell_type == "markdown").split())
    page = values["chapters/01-handshake"]
    assert f"(ISN), here {page['hs_isn_c'][0]}, and sends" in text
    assert f"at {page['hs_s_est_ms'][0]} ms" in text


def test_the_wheel_is_published_and_linked(html_dir: Path) -> None:
    wheels = sorted((html_dir / "_downloads").glob("tcpbook-*-py3-none-any.whl"))
    assert len(wheels) == 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
        assert {"tcpbook/__init__.py", "tcpbook/data/trace-schema.json"} <= names
        assert any(n.startswith("tcpbook/data/captures/") for n in names)
        assert not any(n.startswith(("tests/", "chapters/", "scripts/")) for n in names)
    page = (html_dir / "chapters" / "01-handshake.html").read_text(encoding="utf-8")
    assert f'href="../_downloads/{wheels[0].name}"' in page
