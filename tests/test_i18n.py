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
