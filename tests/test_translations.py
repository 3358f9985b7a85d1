"""The Chinese edition (zh/) against the English book, from the sources: the same pages in
the same order, the same code cells and {eval} expressions, the same labels and link
targets, no paragraph left in English, every translation current (scripts/translations.py);
and the checker itself, on small pages made here, fails where it must."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import build_book
import pytest
import translations
import yaml

ROOT = translations.ROOT
ENGLISH, CHINESE = translations.all_docnames()


def test_both_books_list_the_same_pages_in_the_same_order() -> None:
    assert len(ENGLISH) >= 14
    assert CHINESE == ENGLISH


@pytest.mark.parametrize("docname", ENGLISH)
def test_page_agrees_with_its_translation(docname: str) -> None:
    """Code cells, {eval}s, labels, link targets identical; no English paragraph; current."""
    problems = translations.check([docname])
    assert problems == [], "\n".join(problems)


def test_chinese_pages_are_chinese() -> None:
    """More Chinese characters than English words in every Chinese page's prose (a crude
    floor under the per-paragraph check)."""
    for docname in ENGLISH:
        page = translations.read_page(translations.chinese_source(docname))
        prose = " ".join(text for _, text, _ in page.prose)
        cjk = len(translations.CJK.findall(prose))
        words = len(translations.english_words(prose))
        assert cjk > words, f"{docname}: {cjk} Chinese characters, {words} English words"


def test_the_chinese_configuration_is_written_from_the_english_one() -> None:
    committed = yaml.safe_load((ROOT / "zh" / "_config.yml").read_text(encoding="utf-8"))
    assert committed == build_book.zh_config(), "zh/_config.yml is out of date: run make book (it rewrites it)"
    english = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert committed["execute"] == english["execute"]
    assert committed["parse"] == english["parse"]
    assert committed["sphinx"]["config"]["language"] == "zh_CN"
    assert committed["sphinx"]["config"]["html_search_language"] == "zh"
    assert committed["repository"]["path_to_book"] == "zh"
    assert (ROOT / "zh" / "_static").resolve() == (ROOT / "_static").resolve()


# ----------------------------------------------------------------- the checker itself


ENGLISH_PAGE = """---
jupytext:
  text_representation:
    extension: .md
---

(lesson)=
# A lesson

The client sends {eval}`n` segments, see {ref}`the handshake <lesson>`.

```{code-cell} ipython3
n = 3
```

`` {eval}`name` `` is how a number is written.
"""

CHINESE_PAGE = """---
jupytext:
  text_representation:
    extension: .md
---

(lesson)=
# 一课

客户发送 {eval}`n` 个报文段，见{ref}`三次握手 <lesson>`。

```{code-cell} ipython3
n = 3
```

`` {eval}`name` `` 是书写数字的方式。
"""


@pytest.fixture
def book(tmp_path: Path) -> Path:
    (tmp_path / "zh").mkdir()
    toc = "format: jb-book\nroot: lesson\n"
    (tmp_path / "_toc.yml").write_text(toc)
    (tmp_path / "zh" / "_toc.yml").write_text(toc)
    (tmp_path / "lesson.md").write_text(ENGLISH_PAGE)
    (tmp_path / "zh" / "lesson.md").write_text(CHINESE_PAGE)
    blob = translations.git_blob_id(ENGLISH_PAGE.encode())
    (tmp_path / "zh" / "translations.yml").write_text(yaml.safe_dump({"pages": {"lesson": {"blob": blob}}}))
    return tmp_path


def test_a_faithful_translation_passes(book: Path) -> None:
    assert translations.check(root=book) == []


@pytest.mark.parametrize(("change", "expected"), [
    (("n = 3", "n = 4"), "code cell 1 differs"),
    (("{eval}`n` 个", "3 个"), "{eval} expressions differ"),
    (("(lesson)=", "(lektion)="), "labels differ"),
    (("<lesson>`。", "<elsewhere>`。"), "cross-reference targets differ"),
    (("客户发送 {eval}`n` 个报文段，见{ref}`三次握手 <lesson>`。",
      "The client sends {eval}`n` segments, see {ref}`the handshake <lesson>`."), "still English"),
    (("# 一课", "# A lesson"), "still English"),
])
def test_the_checker_finds_each_kind_of_difference(book: Path, change: tuple[str, str], expected: str) -> None:
    page = book / "zh" / "lesson.md"
    page.write_text(page.read_text().replace(*change))
    problems = translations.check(root=book)
    assert any(expected in p for p in problems), problems


def test_a_change_to_the_english_page_makes_its_translation_stale(book: Path) -> None:
    english = book / "lesson.md"
    english.write_text(english.read_text().replace("A lesson", "One lesson"))
    assert translations.staleness("lesson", translations.load_record(book), book) == "stale"
    assert any("stale" in p for p in translations.check(root=book))


def test_a_missing_translation_is_reported(book: Path) -> None:
    (book / "zh" / "lesson.md").unlink()
    assert any("no Chinese page" in p for p in translations.check(root=book))


@pytest.mark.parametrize(("text", "english"), [
    ("The server retransmits its SYN,ACK until the ACK arrives.", True),
    ("Slow start, congestion avoidance, fast retransmit", True),
    ("Before two TCPs can exchange a single byte of data they must agree (三次握手).", True),
    ("## Overview", True),
    ("服务器处于 SYN-RECEIVED 状态，重传 SYN,ACK {eval}`n` 次。", False),
    ("Linux 默认 `tcp_syn_retries = 6`，即 SYN 最多重传 6 次。", False),
    ("- **RFC 9293** — W. Eddy (ed.), *Transmission Control Protocol (TCP)*, 2022. 现行规范。", False),
    ("- **RFC 793** — J. Postel, *Transmission Control Protocol*, 1981.", False),
    ("$$E[X] = \\frac{1}{1 - \\text{loss}} \\quad \\text{当 } R \\to \\infty$$", False),
    ("## Linux", False),
])
def test_english_paragraphs_are_told_from_chinese_ones(text: str, english: bool) -> None:
    kind = "heading" if text.startswith("#") else "text"
    assert translations.is_untranslated(text, kind) is english


def test_code_spans_are_not_roles() -> None:
    line = "a {eval}`x` and `code {eval}` b `` {eval}`name` `` c {ref}`t <lab>`"
    kept = translations.without_code_spans(line)
    assert translations.EVAL.findall(kept) == ["x"]
    assert translations.XREF.findall(kept) == [("ref", "t <lab>")]


def test_the_command_line_reports_and_exits() -> None:
    """`translations.py check` on this repository: exit 0 and "all pages agree" (the same
    verdict as the tests above), and a page it does not know is refused with status 2."""
    script = ROOT / "scripts" / "translations.py"
    done = subprocess.run([sys.executable, str(script), "check"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all pages agree" in done.stdout
    bad = subprocess.run([sys.executable, str(script), "diff", "chapters/nope"], capture_output=True, text=True,
                         cwd=ROOT)
    assert bad.returncode == 2
    assert "chapters/nope" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
