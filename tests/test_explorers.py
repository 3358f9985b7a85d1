"""Explorers: static explorers are plain HTML with every frame and native controls; live
controls redraw."""

from __future__ import annotations

import itertools
import json
from html import escape

import pytest
from bs4 import BeautifulSoup

from tcpbook import ParameterError, simulate
from tcpbook.explorers import SPECS, Explorer, HandshakeExplorer, explore
from tcpbook.render import outcome_summary
from tcpbook.render.figurehtml import figure_image
from tcpbook.render.summary import alt_text
from tcpbook.staticexplorer import StaticControl, StaticExplorer


@pytest.fixture(scope="module")
def handshake_static() -> StaticExplorer:
    return explore("handshake", static=True)


def test_static_explorer_holds_one_frame_per_grid_point(handshake_static: StaticExplorer) -> None:
    ex = handshake_static.explorer
    controls = ex.static_controls
    assert [c.name for c in controls] == ["loss", "drop", "syn_retries", "profile"]
    grid = ex.grid()
    assert len(grid) == len(ex.frames) == 5 * 6 * 2 * 2
    assert handshake_static.shape == [5, 6, 2, 2]
    for point in grid:
        indices = tuple(c.grid.index(v) for c, v in zip(controls, point))
        # stacked: the summary, then the ladder and the state diagram, each the page's width
        summary, lad, state = handshake_static.frames[indices]
        assert (summary, lad, state) == ex.frames[point]
        assert "tcpbook-summary" in summary
        assert lad.startswith('<figure class="tcpbook-figure tcpbook-ladder"><svg')
        assert state.startswith('<figure class="tcpbook-figure tcpbook-state"><svg')


def test_each_frame_shows_its_own_run(handshake_static: StaticExplorer) -> None:
    ex = handshake_static.explorer
    for point in [(0.0, "", 6, "linux"), (0.3, "", 2, "rfc"), (0.0, "client:SYN:*", 2, "linux"),
                  (0.5, "client:ACK:1", 6, "rfc")]:
        loss, drop, syn_retries, profile = point
        trace = simulate("handshake", loss=loss, drop=[drop] if drop else [], syn_retries=syn_retries, profile=profile, seed=45)
        summary, lad, state = ex.frames[point]
        assert summary == outcome_summary(trace)
        # every picture says what it shows, in words made from its run
        assert f'aria-label="{escape(alt_text(trace, "ladder"))}"' in lad
        assert f'aria-label="{escape(alt_text(trace, "state", phase="open"))}"' in state
        assert lad.count('role="img"') == state.count('role="img"') == 1


def test_the_loss_slider_changes_the_ladder(handshake_static: StaticExplorer) -> None:
    for rest in itertools.product(range(2), range(2)):
        ladders = [handshake_static.frames[(i, 0, *rest)][1] for i in range(5)]
        # every step of the loss slider shows another ladder
        assert all(a != b for a, b in zip(ladders, ladders[1:])), rest


def _page(explorer: StaticExplorer) -> BeautifulSoup:
    return BeautifulSoup(explorer.html(), "html.parser")


def _pictures(slot) -> list:  # noqa: ANN001 - a BeautifulSoup tag
    return slot.find_all("div", class_="tcpbook-pic", recursive=False)


def test_the_page_holds_each_picture_once_and_a_frame_table(handshake_static: StaticExplorer) -> None:
    doc = _page(handshake_static)
    slots = doc.select(".tcpbook-slot")
    assert len(slots) == 3
    table = json.loads(doc.select_one("script.tcpbook-frames").string)
    assert table["shape"] == [5, 6, 2, 2] and len(table["frames"]) == 120
    for k, slot in enumerate(slots):
        pictures = [p.decode_contents() for p in _pictures(slot)]
        assert len(pictures) == len(set(pictures))  # each picture once
        assert max(row[k] for row in table["frames"]) == len(pictures) - 1
        assert sum(1 for p in _pictures(slot) if not p.has_attr("hidden")) == 1  # the default frame, without script
    # the table maps every point to its own pictures: the summary as it is, each figure as
    # an image of its SVG with its alt text (figure_image; tests/test_render_figurehtml.py)
    for flat, point in enumerate(itertools.product(*(range(n) for n in table["shape"]))):
        for k, slot in enumerate(slots):
            picture = handshake_static.frames[point][k]
            if k > 0:
                picture = figure_image(picture)
                assert picture.startswith('<figure class="tcpbook-figure tcpbook-')
            expected = BeautifulSoup(picture, "html.parser").decode_contents()
            assert _pictures(slot)[table["frames"][flat][k]].decode_contents() == expected
    assert "<svg" not in "".join(str(p) for slot in slots[1:] for p in _pictures(slot)).replace("data:image/svg+xml,<svg", "")
    for img in doc.select(".tcpbook-pic img"):
        assert img["alt"].startswith(("Ladder diagram", "State diagram")) and "min-width:" in img["style"]


def test_controls_are_native_named_and_set_to_the_defaults(handshake_static: StaticExplorer) -> None:
    doc = _page(handshake_static)
    loss = doc.find("input", attrs={"type": "range"})
    assert doc.find("label", attrs={"for": loss["id"]}).get_text() == "loss"
    assert loss["value"] == "0" and loss["aria-valuetext"] == "0.0"
    assert json.loads(loss["data-labels"]) == ["0.0", "0.1", "0.2", "0.3", "0.5"]
    drop = doc.find("select")
    assert doc.find("label", attrs={"for": drop["id"]}).get_text() == "drop"
    assert [o.get_text() for o in drop.find_all("option")][:2] == ["no drop rule", "first SYN lost"]
    profile = doc.find("fieldset")
    assert profile.legend.get_text() == "profile"
    assert [r["value"] for r in profile.find_all("input", checked=True)] == ["0"]
    assert [int(el["data-level"]) for el in doc.select("[data-level]")] == [0, 1, 2, 3]
    for control in (loss.parent, drop.parent, profile):
        assert control.get("title")  # the parameter's help


def test_static_page_weight_is_bounded(handshake_static: StaticExplorer) -> None:
    assert len(handshake_static.html().encode()) < 2_500_000


def test_environment_variable_turns_static_mode_on(monkeypatch) -> None:
    monkeypatch.setenv("TCPBOOK_STATIC", "1")
    assert Explorer(SPECS["teardown"]).static is True
    assert Explorer(SPECS["teardown"], static=False).static is False
    monkeypatch.delenv("TCPBOOK_STATIC")
    assert Explorer(SPECS["teardown"]).static is False


def test_live_explorer_redraws_on_every_change() -> None:
    box = explore("handshake", static=False)
    ex = box.explorer
    assert set(ex.inputs) == {"loss", "drop", "syn_retries", "synack_retries", "profile", "seed"}
    body = box.children[1]
    summary = body.children[0].children[0]
    ladder_img, state_img = body.children[1], body.children[2]
    before = (state_img.value, ladder_img.value, summary.value)
    ex.inputs["drop"].value = "client:SYN:*"
    after = (state_img.value, ladder_img.value, summary.value)
    assert all(a != b for a, b in zip(before, after))
    assert "ETIMEDOUT" in summary.value
    ex.inputs["syn_retries"].value = 1
    assert summary.value == outcome_summary(simulate("handshake", drop=["client:SYN:*"], syn_retries=1, seed=45))
    ex.inputs["profile"].value = "rfc"
    assert summary.value == outcome_summary(
        simulate("handshake", drop=["client:SYN:*"], syn_retries=1, seed=45, profile="rfc"))


def test_control_names_are_scenario_parameters() -> None:
    for spec in SPECS.values():
        from tcpbook.scenarios import get_scenario

        allowed = get_scenario(spec.scenario).parameters()
        for control in spec.controls:
            assert control.name in allowed, (spec.name, control.name)
            assert control.default in control.grid or len(control.grid) == 1
    assert set(SPECS) == {"handshake", "transfer", "teardown", "syn-flood", "flow-and-congestion", "program-exit", "dead-peer"}


def test_every_explorer_builds_live() -> None:
    for name in SPECS:
        box = explore(name, static=False)
        assert box.explorer.inputs


def test_fixed_parameters_remove_controls_and_reach_the_runs() -> None:
    ex = HandshakeExplorer(static=False, rtt=0.4, profile="rfc")
    assert "profile" not in ex.inputs and "profile" not in {c.name for c in ex.controls}
    trace = ex.simulate(loss=0.0)
    assert trace.params["rtt"] == 0.4 and trace.params["profile"] == "rfc"


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("ping",), {}), (("handshake",), {"rttt": 0.1}), (("handshake",), {"loss": 2.0}), (("handshake",), {"static": "yes"})],
)
def test_bad_parameters_raise_parameter_error(args: tuple, kwargs: dict) -> None:
    with pytest.raises(ParameterError):
        explore(*args, **kwargs)


def test_static_page_is_identical_from_build_to_build():
    """Two fresh processes (as two book builds) write byte-identical explorers."""
    import subprocess
    import sys

    program = "from tcpbook.explorers import explore\nprint(explore('teardown', static=True).html())\n"
    runs = [subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1]
    assert 'id="tcpbook-explorer-1"' in runs[0]  # numbered, not random


def test_a_static_explorer_refuses_a_grid_with_holes() -> None:
    control = StaticControl("x", ("a", "b"), 0)
    with pytest.raises(ParameterError):
        StaticExplorer("t", [control], {(0,): ("one",)})
    with pytest.raises(ParameterError):
        StaticExplorer("t", [control], {(0,): ("one",), (1,): ("one", "two")})
    single = StaticExplorer("t", [], {(): ("only",)})
    assert single.shape == [] and "only" in single.html()


def test_syn_flood_explorer_starts_on_linux_defaults():
    """The SYN-flood explorer opens on what a default Linux server does (SYN cookies on,
    the scenario's listen backlog), so its first picture agrees with chapter 2's text."""
    from tcpbook import SCENARIOS, get_profile

    controls = {c.name: c for c in SPECS["syn-flood"].controls}
    assert controls["syncookies"].default is get_profile("linux").syncookies is True
    assert set(controls["syncookies"].grid) == {True, False}  # both precomputed for the static page
    assert controls["backlog"].default == SCENARIOS["syn-flood"].parameters()["backlog"]
    assert controls["synack_retries"].default == get_profile("linux").synack_retries

