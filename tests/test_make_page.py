"""``make page PAGE=…``: one page with the book's configuration, and nothing from a CDN."""

from __future__ import annotations

import json
import re
import subprocess

import build_book
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book-builds")]


def test_make_page_builds_one_page_like_the_book() -> None:
    done = subprocess.run(["make", "-s", "page", "PAGE=chapters/01-handshake.md"], cwd=build_book.ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    out = build_book.BUILD / "page" / "_build"
    html = (out / "html" / "chapters" / "01-handshake.html").read_text(encoding="utf-8")
    assert not (out / "html" / "chapters" / "02-syn-flood.html").exists()  # one page, not the book
    # The book's configuration: its CSS, its explorers as plain HTML (no widget manager on a
    # chapter page, build_book's _drop_per_page_js), and no third-party host.
    assert "_static/tcpbook.css" in html and "tcpbook-static-explorer" in html
    assert "vendor/html-manager/embed-amd.js" not in html
    external = re.findall(r'<(?:script|link|img)\b[^>]*(?:src|href)="((?:https?:)?//[^"]+)"', html)
    assert [u for u in external if "github.com/tcpbook" not in u] == []
    # Its numbers are computed: every {eval} of the page has a value, none shows as markup.
    values = json.loads((out / build_book.INLINE_VALUES).read_text(encoding="utf-8"))["chapters/01-handshake"]
    source = build_book.source_of("chapters/01-handshake").read_text(encoding="utf-8")
    assert sum(len(v) for v in values.values()) == source.count("{eval}`")
    assert "{eval}" not in re.sub(r"<pre.*?</pre>", "", html, flags=re.S)


def test_make_page_names_a_bad_page() -> None:
    done = subprocess.run(["make", "-s", "page", "PAGE=chapters/nope.md"], cwd=build_book.ROOT,
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "PAGE=chapters/nope.md does not exist" in done.stderr
    assert "Traceback" not in done.stderr
