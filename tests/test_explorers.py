"""Explorers: static frames are complete and wired in the browser; live controls redraw."""

from __future__ import annotations

import json
from html import escape

import ipywidgets as widgets
import pytest
from ipywidgets.embed import embed_data
from ipywidgets.widgets.widget_link import Link

from tcpbook import ParameterError, simulate
from tcpbook.explorers import SPECS, Explorer, HandshakeExplorer, explore
from tcpbook.render import outcome_summary
from tcpbook.render.summary import alt_text


@pytest.fixture(scope="module")
def handshake_static() -> widgets.Widget:
    return explore("handshake", static=True)


def leaf_at(root: widgets.Widget, indices: tuple[int, ...]) -> widgets.Widget:
    node = root
    for i in indices:
        assert isinstance(node, widgets.Stack)
        node = node.children[i]
    return node


def test_static_explorer_holds_one_frame_per_grid_point(handshake_static: widgets.Widget) -> None:
    ex = handshake_static.explorer
    controls = ex.static_controls
    assert [c.name for c in controls] == ["loss", "drop", "syn_retries", "profile"]
    grid = ex.grid()
    assert len(grid) == len(ex.frames) == 5 * 6 * 2 * 2
    root = handshake_static.children[1]
    for point in grid:
        indices = tuple(c.grid.index(v) for c, v in zip(controls, point))
        frame = leaf_at(root, indices)
        assert frame is ex.frames[point]
        # stacked: the summary, then the ladder and the state diagram, each the page's width
        summary, lad, state = frame.children
        assert "tcpbook-frame" in frame._dom_classes
        assert isinstance(summary, widgets.HTML) and "tcpbook-summary" in summary.value
        assert isinstance(lad, widgets.HTML) and lad.value.startswith('<figure class="tcpbook-figure tcpbook-ladder"><svg')
        assert isinstance(state, widgets.HTML) and state.value.startswith('<figure class="tcpbook-figure tcpbook-state"><svg')


def test_each_frame_shows_its_own_run(handshake_static: widgets.Widget) -> None:
    ex = handshake_static.explorer
    for point in [(0.0, "", 6, "linux"), (0.3, "", 2, "rfc"), (0.0, "client:SYN:*", 2, "linux"),
                  (0.5, "client:ACK:1", 6, "rfc")]:
        loss, drop, syn_retries, profile = point
        trace = simulate("handshake", loss=loss, drop=[drop] if drop else [], syn_retries=syn_retries, profile=profile, seed=45)
        summary, lad, state = ex.frames[point].children
        assert summary.value == outcome_summary(trace)
        # every picture says what it shows, in words made from its run
        assert f'aria-label="{escape(alt_text(trace, "ladder"))}"' in lad.value
        assert f'aria-label="{escape(alt_text(trace, "state", phase="open"))}"' in state.value
        assert lad.value.count('role="img"') == state.value.count('role="img"') == 1


def test_static_links_are_wired(handshake_static: widgets.Widget) -> None:
    ex = handshake_static.explorer
    assert all(isinstance(link, Link) for link in ex.links)
    assert len(ex.links) == sum(len(level) for level in ex.stacks)
    for level, control in enumerate(ex.static_controls):
        source = ex.inputs[control.name]
        linked = {id(link.target[0]) for link in ex.links if link.source == (source, "index")}
        assert linked == {id(s) for s in ex.stacks[level]}
        for link in ex.links:
            if link.source[0] is source:
                assert link.target[1] == "selected_index"
                assert link.target[0].selected_index == source.index
    # the whole tree is embeddable: every link and stack is in the widget state
    state = embed_data(views=[handshake_static])["manager_state"]["state"]
    link_states = [m["state"] for m in state.values() if m["model_name"] == "LinkModel"]
    assert len(link_states) >= len(ex.links)
    for link in ex.links:
        assert link.model_id in state


def test_handshake_loss_is_a_selection_slider_that_changes_the_picture(handshake_static: widgets.Widget) -> None:
    ex = handshake_static.explorer
    loss = ex.inputs["loss"]
    assert isinstance(loss, widgets.SelectionSlider) and loss.description == "loss"
    assert [value for _, value in loss.options] == list(SPECS["handshake"].controls[0].grid)
    root = handshake_static.children[1]
    assert isinstance(root, widgets.Stack)
    assert {id(s) for s in ex.stacks[0]} == {id(root)}
    for retries_index in range(2):
        for profile_index in range(2):
            seen = []
            for i in range(len(loss.options)):
                frame = leaf_at(root, (i, 0, retries_index, profile_index))  # drop rule "none"
                seen.append(frame.children[1].value)
            # every step of the loss slider shows another ladder
            assert all(a != b for a, b in zip(seen, seen[1:])), (retries_index, profile_index)
    for name in ("drop", "syn_retries", "profile"):
        assert isinstance(ex.inputs[name], (widgets.Dropdown, widgets.SelectionSlider, widgets.ToggleButtons))


def test_static_page_weight_is_bounded(handshake_static: widgets.Widget) -> None:
    state = embed_data(views=[handshake_static])["manager_state"]
    mine = {w.model_id for w in _walk(handshake_static)} | {link.model_id for link in handshake_static.explorer.links}
    size = sum(len(json.dumps(m)) for k, m in state["state"].items() if k in mine)
    assert size < 3_000_000


def _walk(w: widgets.Widget):
    yield w
    for name in ("children",):
        for child in getattr(w, name, ()):
            yield from _walk(child)
    layout = getattr(w, "layout", None)
    if layout is not None:
        yield layout
    st = getattr(w, "style", None)
    if isinstance(st, widgets.Widget):
        yield st


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
    assert set(SPECS) == {"handshake", "transfer", "teardown", "syn-flood"}


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


def test_static_page_state_is_identical_from_build_to_build():
    """Two fresh processes (as two book builds) embed byte-identical widget state."""
    import subprocess
    import sys

    program = (
        "import json, ipywidgets.embed as e\n"
        "from tcpbook.explorers import explore\n"
        "w = explore('teardown', static=True)\n"
        "print(json.dumps(e.embed_data(views=[w], drop_defaults=False), sort_keys=True))\n"
    )
    runs = [subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1]
    assert '"00000000000000000000000000000001"' in runs[0]  # numbered, not random, model ids


def test_static_frames_share_their_layouts_and_pictures(handshake_static: widgets.Widget) -> None:
    """Hundreds of frames, a handful of Layout models: what the browser must create on load."""
    ex = handshake_static.explorer
    layouts = {id(w.layout) for point in ex.grid() for w in ex.frames[point].children}
    assert len(layouts) == 1
    pictures = {w.model_id for point in ex.grid() for w in ex.frames[point].children}
    assert len(pictures) < 3 * len(ex.grid())  # identical pictures embedded once
    assert {id(s.layout) for level in ex.stacks for s in level} == {id(ex.frames[ex.grid()[0]].layout)}


def test_controls_are_named_for_screen_readers(handshake_static: widgets.Widget) -> None:
    for name, control in handshake_static.explorer.inputs.items():
        assert control.description == name  # the visible label, which tcpbook-widgets.js gives the handle
        assert control.tooltip  # the parameter's help, as the control's description
