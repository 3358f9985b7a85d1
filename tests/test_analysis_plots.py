"""The loss-and-retries chapter's loss explorer: a figure drawn once whose data change in place."""

import numpy as np
import pytest

from tcpbook.analysis.montecarlo import handshake_times
from tcpbook.analysis.plots import LossExplorerPlot, loss_explorer


def test_update_shows_the_simulated_point_and_the_distribution():
    plot = LossExplorerPlot(trials=5000)
    plot.update(0.3, 2, seed=4)
    client, server = handshake_times(0.3, 5000, seed=4, syn_retries=2)
    assert plot.point_client.get_ydata()[0] == pytest.approx(np.isfinite(client).mean())
    assert plot.point_server.get_ydata()[0] == pytest.approx(np.isfinite(server).mean())
    assert plot.point_client.get_xdata()[0] == 0.3
    assert "syn_retries=2" in plot.title_left.get_text() and "loss=30%" in plot.title_right.get_text()
    heights = [p.get_height() for p in plot._patches[::2]]  # simulated bars
    assert sum(heights) == pytest.approx(np.isfinite(client).mean(), abs=1e-9)  # up to 20 s holds every success here


def test_png_is_deterministic_and_changes_with_the_data():
    plot = LossExplorerPlot(trials=2000)
    plot.update(0.1, 6, seed=1)
    first = plot.png()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    again = LossExplorerPlot(trials=2000)
    again.update(0.1, 6, seed=1)
    assert again.png() == first
    plot.update(0.5, 0, seed=1)
    assert plot.png() != first
    plot.update(0.1, 6, seed=1)
    assert plot.png() == first  # nothing of the previous frame is left behind


def test_static_explorer_embeds_every_frame_and_links_the_sliders():
    import ipywidgets as widgets

    box = loss_explorer(losses=(0.0, 0.2), retries=(1, 6), trials=500, static=True)
    sliders, outer = box.children
    assert isinstance(outer, widgets.Stack) and len(outer.children) == 2
    frames = [image for inner in outer.children for image in inner.children]
    assert len(frames) == 4 and len({f.value for f in frames}) == 4


def test_live_explorer_redraws_on_a_slider_move():
    box = loss_explorer(losses=(0.0, 0.2, 0.4), retries=(1, 6), trials=500, static=False)
    (loss_slider, _), image = box.children[0].children, box.children[1]
    before = bytes(image.value)
    assert loss_slider.value == 0.4  # starts at the third loss
    loss_slider.value = 0.0
    assert bytes(image.value) != before
