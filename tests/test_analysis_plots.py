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


def test_static_explorer_embeds_every_frame_behind_native_sliders():
    """Every (loss, syn_retries) frame as a legible inline SVG with its alt text."""
    from tcpbook.render import style
    from tcpbook.render.figurehtml import smallest_text_px

    explorer = loss_explorer(losses=(0.0, 0.2), retries=(1, 6), trials=500, static=True)
    assert [c.name for c in explorer.controls] == ["loss", "syn_retries"]
    assert [c.labels for c in explorer.controls] == [("0%", "20%"), ("1", "6")]
    frames = [explorer.frames[(i, j)][0] for i in range(2) for j in range(2)]
    assert len(set(frames)) == 4
    for frame, (loss, retries) in zip(frames, [(0, 1), (0, 6), (20, 1), (20, 6)]):
        assert f'aria-label="Loss explorer at loss {loss}%, syn_retries={retries}' in frame
    html = explorer.html()
    assert html.count('type="range"') == 2 and "<svg" in html
    plot = LossExplorerPlot(trials=500)
    plot.update(0.2, 6, seed=0)
    from tcpbook.render.scene import figure_bytes

    for artist in plot._dynamic():
        artist.set_animated(False)
    assert smallest_text_px(figure_bytes(plot.fig, "svg").decode()) >= style.MIN_TEXT_PT * 4 / 3 * 0.99


def test_live_explorer_redraws_on_a_slider_move():
    box = loss_explorer(losses=(0.0, 0.2, 0.4), retries=(1, 6), trials=500, static=False)
    (loss_slider, _), image = box.children[0].children, box.children[1]
    before = bytes(image.value)
    assert loss_slider.value == 0.4  # starts at the third loss
    loss_slider.value = 0.0
    assert bytes(image.value) != before
