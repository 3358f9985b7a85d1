"""The language of explorers, summaries and alt texts: chosen by set_language, the
TCPBOOK_LANG variable or a page's folder; Chinese words where the page is Chinese, the
protocol's own words (states, flags, parameter names) in both."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tcpbook import simulate
from tcpbook.errors import ParameterError
from tcpbook.explorers import SPECS, explore
from tcpbook.i18n import CONTROL_HELP_ZH, CONTROL_NAMES_ZH, ENV, language, set_language, tr
from tcpbook.render.summary import alt_text, describe_run, outcome_summary

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def automatic_language(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(ENV, raising=False)
    set_language(None)
    yield
    set_language(None)


def test_english_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert language() == "en"


def test_the_environment_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "zh_CN")
    assert language() == "zh"
    monkeypatch.setenv(ENV, "en")
    assert language() == "en"


def test_a_page_inside_the_chinese_edition_speaks_chinese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chapters = tmp_path / "zh" / "chapters"
    chapters.mkdir(parents=True)
    monkeypatch.chdir(chapters)
    assert language() == "en"  # a folder called zh is not enough: it must be a book
    (tmp_path / "zh" / "_toc.yml").write_text("root: intro\n")
    assert language() == "zh"


def test_set_language_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "zh")
    set_language("en")
    assert language() == "en"
    set_language(None)
    assert language() == "zh"


@pytest.mark.parametrize("bad", ["fr", "", "chinese"])
def test_an_unknown_language_is_refused_with_its_name(bad: str) -> None:
    with pytest.raises(ParameterError, match="lang"):
        set_language(bad)


def test_an_unknown_language_in_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "klingon")
    with pytest.raises(ParameterError, match=ENV):
        language()


def test_every_explorer_control_has_a_chinese_name_and_help() -> None:
    names = {c.name for spec in SPECS.values() for c in spec.controls}
    assert names <= set(CONTROL_NAMES_ZH)
    assert names <= set(CONTROL_HELP_ZH)
    assert all(CJK.search(text) for text in CONTROL_HELP_ZH.values())


def test_every_value_label_and_title_has_a_translation() -> None:
    for spec in SPECS.values():
        assert CJK.search(tr(spec.title, "zh")), spec.title
        for control in spec.controls:
            for value in control.choices or control.grid:
                label = control.label(value, "zh")
                if value in control.labels or isinstance(value, bool):
                    english = control.label(value, "en")
                    assert label != english or not re.search("[a-z]{3}", english), (spec.name, value, label)


def _words_outside_protocol_names(text: str) -> list[str]:
    """Lower-case English words left in a text, apart from the protocol's own names."""
    plain = re.sub(r"<[^>]+>", " ", text)
    allowed = {"client", "server", "handshake", "close", "transfer", "syn", "flood", "spoofed", "cookie"}
    return [w for w in re.findall(r"\b[a-z]{3,}\b", plain) if w not in allowed]


@pytest.mark.parametrize("scenario", ["handshake", "transfer", "close", "syn-flood"])
def test_summaries_and_alt_texts_in_chinese(scenario: str) -> None:
    params = {"loss": 0.2, "seed": 3} if scenario != "syn-flood" else {}
    trace = simulate(scenario, **params)
    for text in (outcome_summary(trace, lang="zh"), describe_run(trace, lang="zh"),
                 alt_text(trace, "ladder", lang="zh"), alt_text(trace, "state", phase="open", lang="zh")):
        assert CJK.search(text)
        assert _words_outside_protocol_names(text) == [], text
    # the same numbers in both languages
    english, chinese = describe_run(trace, lang="en"), describe_run(trace, lang="zh")
    assert re.findall(r"\d[\d,.]*", english) == re.findall(r"\d[\d,.]*", chinese)


def test_a_static_explorer_in_chinese_names_its_controls_both_ways() -> None:
    html = explore("handshake", static=True, lang="zh").html()
    assert "丢失概率 loss" in html  # the Chinese name, and the parameter's own for the API
    assert "第一个 SYN 丢失" in html
    assert "三次握手" in html
    english = explore("handshake", static=True, lang="en").html()
    assert "first SYN lost" in english and not CJK.search(english)


def test_the_language_in_use_reaches_an_explorer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "zh")
    box = explore("teardown", static=False)
    assert box.explorer.lang == "zh"
    labels = [w.description for w in box.explorer.inputs.values()]
    assert "先关闭的一方 closer" in labels


# The words the chapters' hidden cells put into sentences ({eval}): lists, and phrases
# of ZH with {fields} filled after translation.

def test_join_words_lists_in_each_language(monkeypatch: pytest.MonkeyPatch) -> None:
    from tcpbook.i18n import join_words
    assert join_words(["1", "3", "7", "15", "31"], "en") == "1, 3, 7, 15 and 31"
    assert join_words([1, 3, 7, 15, 31], "zh") == "1、3、7、15 和 31"
    assert join_words(["ok", "EPIPE"], "en") == "ok and EPIPE"
    assert join_words(["ok", "EPIPE"], "zh") == "ok 和 EPIPE"
    assert join_words(["EPIPE"], "zh") == join_words(["EPIPE"], "en") == "EPIPE"
    assert join_words([], "zh") == ""
    assert join_words(iter(["a", "b"])) == "a and b"  # any iterable; English by default
    monkeypatch.setenv(ENV, "zh")
    assert join_words(["a", "b"]) == "a 和 b"  # the language in use, as the book's build sets it


def test_join_series_and_join_clauses() -> None:
    from tcpbook.i18n import join_clauses, join_series
    assert join_series(["ok", "EPIPE", "EPIPE"], "en") == "ok, EPIPE, EPIPE"
    assert join_series(["ok", "EPIPE", "EPIPE"], "zh") == "ok、EPIPE、EPIPE"
    assert join_clauses(["a: 1", "b: 2"], "en") == "a: 1; b: 2"
    assert join_clauses(["甲 1", "乙 2"], "zh") == "甲 1；乙 2"
    with pytest.raises(ParameterError, match="lang"):
        join_clauses(["a"], "fr")


FIELD = re.compile(r"\{(\w+)(?::[^}]*)?\}")
# Fields that hold words rather than numbers (an error's name, a signal's): the Chinese
# sentence may put them elsewhere.
WORD_FIELDS = {"errors", "signal"}


def _values(phrase: str) -> dict[str, object]:
    """A distinct number for each field of ``phrase`` (a word for a word field)."""
    names = dict.fromkeys(FIELD.findall(phrase))
    return {n: ("EWORD" if n in WORD_FIELDS else 101 + i) for i, n in enumerate(names)}


def test_phrases_with_fields_keep_their_fields_and_the_order_of_their_numbers() -> None:
    """What the book's two editions show must differ in words only: both editions' tests
    compare the numbers of every {eval}, in order."""
    from tcpbook.i18n import ZH
    phrases = {en: zh for en, zh in ZH.items() if FIELD.search(en)}
    assert len(phrases) >= 10
    for english, chinese in phrases.items():
        assert sorted(FIELD.findall(english)) == sorted(FIELD.findall(chinese)), english
        values = _values(english)
        numbers = [re.findall(r"\d[\d,.]*\d|\d", text.format(**values)) for text in (english, chinese)]
        assert numbers[0] == numbers[1], (english, chinese)
        assert CJK.search(chinese), chinese


def test_a_chapter_phrase_in_both_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    phrase = "{hours} h {minutes} min {seconds:.0f} s"
    values = {"hours": 2, "minutes": 11, "seconds": 15.2}
    monkeypatch.setenv(ENV, "en")
    assert tr(phrase).format(**values) == "2 h 11 min 15 s"
    monkeypatch.setenv(ENV, "zh")
    assert tr(phrase).format(**values) == "2 小时 11 分 15 秒"
    assert tr("infinite") == "无穷大" and tr("none") == "无"
