"""The Chinese edition as built (``_build/html/zh``): every page built without a warning,
the same pages as the English edition and linked to them both ways, the same computed
numbers, Chinese prose, a Chinese search index, Chinese explorers, and downloads and
Binder links of its own.  The checks of the English pages that do not depend on the
language run here on the Chinese ones too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import build_book
import downloads
import nbformat
import pytest
import test_book_html as english_checks
import translations
from bs4 import BeautifulSoup
from conftest import DIAGRAM_CHAPTERS

pytestmark = pytest.mark.book

ZH = build_book.ZH
CHINESE_TEXT = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")  # characters and punctuation


@pytest.fixture(scope="module")
def zh_html(html_dir: Path) -> Path:
    index = ZH.html / "index.html"
    if not index.is_file():
        pytest.fail(f"{index.relative_to(build_book.ROOT)} is missing: `make book` builds both editions", pytrace=False)
    return ZH.html


@pytest.fixture(scope="module")
def zh_pages() -> list[str]:
    return build_book.toc_pages(ZH.source / "_toc.yml")


def soup(path: Path) -> BeautifulSoup:
    return english_checks.soup(path)


def test_the_chinese_edition_built_without_warnings(build_report: dict, zh_pages: list[str]) -> None:
    part = build_report["editions"]["zh"]
    assert part["returncode"] == 0
    assert part["warnings"] == [], "\n".join(part["warnings"])
    assert part["built"] == zh_pages
    assert "-W" in part["command"] and "-n" in part["command"]


def test_both_editions_have_the_same_pages(zh_pages: list[str], toc_pages: list[str]) -> None:
    assert zh_pages == toc_pages


@pytest.mark.parametrize("check", [
    english_checks.test_every_toc_page_exists,
    english_checks.test_no_error_output,
    english_checks.test_no_raw_widget_text,
    english_checks.test_no_raw_myst_markup_in_the_prose,
    english_checks.test_every_figure_fits_the_column_at_its_legible_size,
], ids=lambda f: f.__name__)
def test_the_english_pages_checks_hold_for_the_chinese_pages(check, zh_html: Path, zh_pages: list[str]) -> None:
    check(zh_html, zh_pages)


@pytest.mark.parametrize("page", DIAGRAM_CHAPTERS)
def test_chinese_chapter_embeds_its_explorer(zh_html: Path, page: str) -> None:
    english_checks.test_chapter_embeds_an_explorer(zh_html, page)


def test_pages_are_marked_chinese(zh_html: Path, zh_pages: list[str]) -> None:
    for page in zh_pages:
        assert soup(zh_html / f"{page}.html").html.get("lang") == "zh-CN", page


@pytest.mark.parametrize("edition", ["en", "zh"])
def test_every_page_links_to_its_counterpart(edition: str, html_dir: Path, zh_html: Path, toc_pages: list[str]) -> None:
    here, other = (build_book.EN, ZH) if edition == "en" else (ZH, build_book.EN)
    for page in toc_pages:
        path = here.html / f"{page}.html"
        doc = soup(path)
        switch = doc.select(f"a.{build_book.SWITCH_MARK}")
        assert len(switch) == 1, f"{path}: {len(switch)} language switches"
        target = (path.parent / switch[0]["href"]).resolve()
        assert target == (other.html / f"{page}.html").resolve(), f"{path} links to {target}"
        assert switch[0].get_text(strip=True) == other.label
        alternate = doc.find("link", rel="alternate", hreflang=True)
        assert alternate is not None and (path.parent / alternate["href"]).resolve() == target


def _values(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# Values measured on the build machine's own kernel while the page runs (chapter 6 times
# real connect() calls against a real TIME-WAIT): the two editions run them a minute
# apart, so their counts and times may differ by one attempt or a tenth of a second.
MEASURED_LIVE = {("chapters/06-time-wait", "loop_result"), ("chapters/06-time-wait", "own_result")}


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d[\d,.]*\d|\d", text)


def test_both_editions_show_the_same_numbers(html_dir: Path, zh_html: Path) -> None:
    """Every {eval} of every page printed the same text in both editions, except the words
    made language-aware on purpose (they pass through tcpbook.i18n: their numbers agree)."""
    english, chinese = _values(build_book.EN.inline_values), _values(ZH.inline_values)
    assert set(english) == set(chinese)
    compared = 0
    for page, values in english.items():
        assert set(values) == set(chinese[page]), page
        for name, shown in values.items():
            other = chinese[page][name]
            compared += len(shown)
            if (page, name) in MEASURED_LIVE:
                assert [len(_numbers(t)) for t in shown] == [len(_numbers(t)) for t in other], (page, name, shown, other)
                continue
            if shown != other:
                numbers = [_numbers(text) for text in shown]
                assert numbers == [_numbers(text) for text in other], (page, name, shown, other)
                assert any(CHINESE_TEXT.search(text) for text in other), (page, name, shown, other)
    assert compared > 400


# Content that is not prose, or not ours to translate: code, outputs, math, the API's
# docstrings, the explorers' pictures, citations' titles.
NOT_PROSE = ("pre, code, .cell_output, .math, .tcpbook-tex, dl.py, dl.cmdoption, .tcpbook-docstrings, "
             ".tcpbook-static-explorer, cite, em")


def test_no_english_paragraph_is_left_in_a_chinese_page(zh_html: Path, zh_pages: list[str]) -> None:
    problems = []
    for page in zh_pages:
        doc = BeautifulSoup((zh_html / f"{page}.html").read_text(encoding="utf-8"), "html.parser")
        article = doc.select_one("article")
        assert article is not None, page
        for node in article.select(NOT_PROSE):
            node.decompose()
        for block in article.find_all(["p", "li", "h1", "h2", "h3", "h4", "td", "th", "dt", "summary", "caption"]):
            if block.find(["p", "li", "ul", "ol"]):
                continue  # judged by its own paragraphs
            text = " ".join(block.get_text(" ").split()).replace("¶", "").strip()
            kind = "heading" if block.name in ("h1", "h2", "h3", "h4") else "cell" if block.name in ("td", "th") else "text"
            if text and translations.is_untranslated(("# " if kind == "heading" else "") + text, kind):
                problems.append(f"{page}: {text[:100]}")
    assert problems == [], "\n".join(problems[:40])


def test_each_edition_has_its_own_search_index(html_dir: Path, zh_html: Path) -> None:
    english = (html_dir / "searchindex.js").read_text(encoding="utf-8")
    chinese = (zh_html / "searchindex.js").read_text(encoding="utf-8")
    assert '"handshak' in english  # stemmed English terms
    for word in ("握手", "报文", "拥塞", "重传"):  # words jieba cut out of the Chinese text
        assert json.dumps(word)[1:-1] in chinese or f'"{word}"' in chinese, word
    assert soup(zh_html / "search.html").html.get("lang") == "zh-CN"


def test_chinese_explorers_speak_chinese(zh_html: Path, html_dir: Path) -> None:
    chinese = soup(zh_html / "chapters/01-handshake.html")
    english = soup(html_dir / "chapters/01-handshake.html")
    labels = [label.get_text() for label in chinese.select(".tcpbook-static-explorer .tcpbook-control label")]
    assert "丢失概率 loss" in labels
    assert any("三次握手" in t.get_text() for t in chinese.select(".tcpbook-explorer-title"))
    summaries = chinese.select(".tcpbook-static-explorer .tcpbook-summary")
    assert summaries and all(translations.CJK.search(s.get_text()) for s in summaries)
    assert "loss" in [label.get_text() for label in english.select(".tcpbook-static-explorer .tcpbook-control label")]
    assert not any(translations.CJK.search(s.get_text()) for s in english.select(".tcpbook-static-explorer .tcpbook-summary"))


def test_chinese_pictures_carry_chinese_alt_texts(zh_html: Path) -> None:
    doc = soup(zh_html / "chapters/01-handshake.html")
    # Inline figures carry aria-label; an explorer frame's <img> of its SVG carries alt.
    labels = [el.get("aria-label") or el.get("alt", "")
              for el in doc.select("figure.tcpbook-figure > svg, figure.tcpbook-figure > img")]
    chinese = [label for label in labels if "时序图" in label or "状态图" in label]
    assert len(chinese) > 10, labels[:5]
    assert doc.select(".tcpbook-pic figure.tcpbook-figure > img[alt*='时序图']"), "no explorer frame in Chinese"


def test_chinese_downloads_and_binder(zh_html: Path, zh_pages: list[str]) -> None:
    for page in zh_pages:
        notebook = ZH.notebooks / downloads.notebook_name(page)
        assert notebook.is_file(), notebook
        first = nbformat.read(notebook, as_version=4).cells[0]
        assert downloads.INSTALL_MARK in first.source and 'os.environ["TCPBOOK_LANG"] = "zh"' in first.source
        doc = soup(zh_html / f"{page}.html")
        note = doc.select_one(f"p.{build_book.NOTE_MARK}")
        assert note is not None and "亲手运行本章" in note.get_text(), page
        for a in note.find_all("a"):
            assert (zh_html / Path(page).parent / a["href"]).resolve().is_file(), (page, a["href"])
    hrefs = [a.get("href", "") for a in soup(zh_html / "chapters/01-handshake.html").find_all("a")]
    assert any(h.startswith("https://mybinder.org/v2/gh/tcpbook/tcpbook/main?urlpath=lab/tree/zh/chapters/01-handshake.md")
               for h in hrefs), "Binder opens the Chinese page"


def test_the_chinese_build_log_has_no_traceback(zh_html: Path) -> None:
    log = ZH.log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" not in log
