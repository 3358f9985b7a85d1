"""Plots: simulation (points with 95 % confidence intervals) and models (lines) on the same axes.

Every function takes a :class:`~tcpbook.analysis.montecarlo.Table` from a sweep and
returns a matplotlib :class:`~matplotlib.figure.Figure`, which Jupyter displays and
``fig.savefig("x.svg")`` saves.  :func:`loss_explorer` puts them behind two sliders.

Sizes are for the book's text column: no text below
:data:`~tcpbook.render.style.MIN_TEXT_PT` (the figures are at most as wide as the column,
so they are never shrunk below it).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..errors import ParameterError
from ..i18n import control_label, tr
from ..profiles import get_profile
from ..render import style
from . import models
from .montecarlo import Table, handshake_times, time_distribution

STATIC_ENV = "TCPBOOK_STATIC"

SMALL = 9.0  # legends and ticks: 12 CSS px at natural size, above style.MIN_TEXT_PT
assert SMALL >= style.MIN_TEXT_PT

_METRIC_LABELS = {
    "p_client": "P(client reaches ESTABLISHED)",
    "p_server": "P(server reaches ESTABLISHED)",
    "mean_client_time": "mean time to ESTABLISHED, client (s)",
    "mean_server_time": "mean time to ESTABLISHED, server (s)",
}


def _errorbar(ax: Any, x: np.ndarray, t: Table, **kw: Any) -> Any:
    y = t.array("estimate")
    lo, hi = t.array("ci_low"), t.array("ci_high")
    yerr = np.vstack([np.nan_to_num(y - lo), np.nan_to_num(hi - y)])
    return ax.errorbar(x, y, yerr=yerr, fmt="o", ms=4, capsize=3, **kw)


def _model_curve(
    metric: str, loss: np.ndarray, retries: int | None, profile: str, rtt: float, model: str = "geometric"
) -> np.ndarray:
    sched = models.handshake_schedule(profile, syn_retries=retries)
    prof = get_profile(profile, syn_retries=retries)
    out = []
    for p in loss:
        if model == "cardwell":
            out.append(models.cardwell_handshake_time(rtt, p, t_s=prof.rto_initial))
        elif model == "uncapped":
            out.append(models.geometric_uncapped_mean_time(p, rtt, prof.rto_initial, prof.linear_syn_timeouts))
        elif metric == "p_client":
            out.append(models.geometric_p_established(p, sched.attempts))
        elif metric == "p_server":
            out.append(models.geometric_server_p_established(p, sched.attempts))
        elif metric == "mean_client_time":
            out.append(models.geometric_mean_time(p, sched.syn_times, rtt))
        elif metric == "mean_server_time":
            out.append(models.geometric_mean_time(p, sched.syn_times, rtt) + rtt / 2)
    return np.array(out, dtype=float)


def plot_handshake(
    table: Table,
    metric: str = "p_client",
    *,
    retries: Sequence[int | None] | None = None,
    profile: str = "linux",
    rtt: float = 0.1,
    cardwell: bool = False,
    uncapped: bool = False,
    ax: Any = None,
) -> Figure:
    """``metric`` against loss, one colour per ``syn_retries``: simulation as points with
    95 % intervals, the geometric model as a line of the same colour (and, for mean
    times, Cardwell's eq. 4 and the uncapped geometric mean as grey lines)."""
    if metric not in _METRIC_LABELS:
        raise ParameterError("metric", metric, "one of " + ", ".join(_METRIC_LABELS))
    rows = table.where(metric=metric)
    if len(rows) == 0:
        raise ParameterError("table", f"{len(table)} rows", f"a handshake sweep with metric {metric!r}")
    all_retries = list(dict.fromkeys(rows.column("syn_retries")))
    chosen = all_retries if retries is None else list(retries)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    else:
        fig = ax.figure
    losses = np.array(sorted(set(rows.column("loss"))))
    dense = np.linspace(0, max(losses.max(), 0.01), 101)
    cmap = plt.get_cmap("viridis")
    for i, r in enumerate(chosen):
        sub = rows.where(syn_retries=r)
        if len(sub) == 0:
            continue
        colour = cmap(i / max(1, len(chosen) - 1) * 0.9)
        _errorbar(ax, sub.array("loss"), sub, color=colour, label=f"simulated, syn_retries={r}")
        ax.plot(dense, _model_curve(metric, dense, r, profile, rtt), color=colour, lw=1.2, alpha=0.8)
    if metric == "mean_client_time" and cardwell:
        ax.plot(
            dense,
            _model_curve(metric, dense, None, profile, rtt, "cardwell"),
            color="0.35",
            ls="--",
            lw=1.2,
            label="Cardwell et al. eq. 4 (no cap)",
        )
    if metric == "mean_client_time" and uncapped:
        ax.plot(
            dense,
            _model_curve(metric, dense, None, profile, rtt, "uncapped"),
            color="0.35",
            ls=":",
            lw=1.5,
            label="geometric, no cap",
        )
        ax.axvline(models.GEOMETRIC_DIVERGENCE_LOSS, color="0.6", lw=0.8)
    ax.plot([], [], color="0.3", lw=1.2, label="geometric model (line)")
    ax.set_xlabel("loss probability (each segment, each direction)")
    ax.set_ylabel(_METRIC_LABELS[metric])
    if metric.startswith("mean"):
        finite = rows.array("ci_high")
        top = np.nanmax(finite[np.isfinite(finite)]) if np.isfinite(finite).any() else 1.0
        ax.set_ylim(0, top * 1.3)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=SMALL, loc="best")
    return fig


def plot_time_distribution(dist: Table, *, title: str = "", ax: Any = None, max_time: float | None = None) -> Figure:
    """Bars: the share of trials that became ESTABLISHED at each time (with intervals),
    beside the geometric model's probability of that time."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
    else:
        fig = ax.figure
    t = dist if max_time is None else Table([r for r in dist if r["time"] <= max_time], dist.columns)
    pos = np.arange(len(t))
    share = t.array("share")
    yerr = np.vstack([share - t.array("ci_low"), t.array("ci_high") - share])
    ax.bar(pos - 0.2, share, 0.4, yerr=yerr, capsize=2, label="simulated", color="C0")
    ax.bar(pos + 0.2, t.array("model"), 0.4, label="geometric model", color="C1", alpha=0.8)
    ax.set_xticks(pos, [f"{x:g}" for x in t.column("time")], rotation=60, fontsize=SMALL)
    ax.set_xlabel("time to ESTABLISHED (s)")
    ax.set_ylabel("share of connections")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=SMALL)
    ax.grid(axis="y", alpha=0.3)
    return fig


def plot_metric(
    table: Table, metric: str, *, x: str = "loss", group: str | None = None, ylabel: str | None = None, ax: Any = None
) -> Figure:
    """Any sweep metric against ``x``: points with intervals, the ``model`` column as a line."""
    rows = table.where(metric=metric)
    if len(rows) == 0:
        raise ParameterError(
            "metric", metric, "a metric of the table: " + ", ".join(sorted(set(table.column("metric"))))
        )
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    else:
        fig = ax.figure
    groups = [None] if group is None else list(dict.fromkeys(rows.column(group)))
    for i, g in enumerate(groups):
        sub = rows if g is None else rows.where(**{group: g})
        label = "simulated" if g is None else f"{group}={g}"
        xs = sub.array(x)
        _errorbar(ax, xs, sub, color=f"C{i}", label=label)
        model = sub.array("model")
        if np.isfinite(model).any():
            ax.plot(xs, model, color=f"C{i}", lw=1.2, alpha=0.8, label="model" if g is None else f"model, {group}={g}")
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=SMALL)
    return fig


# -- the explorer ---------------------------------------------------------------------------


class LossExplorerPlot:
    """The loss-and-retries chapter's two panels, drawn once; :meth:`update` changes only their data.

    Left: P(ESTABLISHED) against loss for one retry limit — the geometric model's lines
    and the simulated point.  Right: when the client became ESTABLISHED, on a time axis
    (seconds): the simulated share at each time (with its 95 % interval) beside the
    model's.  A live explorer calls :meth:`update` on every slider move and sends
    :meth:`png`.  Everything that never changes — axes, ticks, labels, legends — is
    rendered once and kept as a background; a redraw paints only the data on top of it
    (matplotlib's blitting), which is what makes it fast: text is the slow part of a
    picture, and almost all of the text here is in the background.
    """

    def __init__(self, *, trials: int = 20_000, rtt: float = 0.1, max_time: float = 20.0, dpi: int = 80) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
        from matplotlib.collections import LineCollection  # noqa: PLC0415

        self.trials, self.rtt, self.max_time = trials, rtt, max_time
        # Fixed margins rather than constrained layout: no layout solving on a redraw.  As
        # wide as the book's column, so no text is ever shown below 11 CSS px.
        self.fig = Figure(figsize=(style.PAGE_WIDTH_PT / 72, 3.6), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        a1, a2 = self.fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.35]})
        self.fig.subplots_adjust(left=0.095, right=0.985, bottom=0.15, top=0.86, wspace=0.3)
        for ax in (a1, a2):
            ax.tick_params(labelsize=SMALL)
        self.axes = (a1, a2)
        self.dense = np.linspace(0, 0.6, 61)
        zero = self.dense * 0
        (self.model_client,) = a1.plot(self.dense, zero, color="C0", label="client, geometric model", animated=True)
        (self.model_server,) = a1.plot(self.dense, zero, color="C2", label="server, geometric model", animated=True)
        (self.point_client,) = a1.plot([0], [0], "o", color="C0", label="client, simulated", animated=True)
        (self.point_server,) = a1.plot([0], [0], "s", color="C2", label="server, simulated", animated=True)
        a1.set_xlim(-0.02, 0.62)
        a1.set_ylim(-0.02, 1.02)
        a1.set_xlabel("loss", fontsize=SMALL)
        a1.set_ylabel("P(ESTABLISHED)", fontsize=SMALL)
        a1.legend(fontsize=SMALL - 0.5, loc="lower left", labelspacing=0.3, handlelength=1.2)
        a1.grid(alpha=0.3)
        self.bars_sim = a2.bar([0], [0], 0.4, color="C0", label="simulated", animated=True)
        self.bars_model = a2.bar([0], [0], 0.4, color="C1", alpha=0.8, label="geometric model", animated=True)
        self.intervals = LineCollection([], colors="0.2", linewidths=1, animated=True)
        a2.add_collection(self.intervals)
        a2.set_xlim(-0.5, max_time + 0.5)
        a2.set_ylim(0, 1.0)
        a2.set_xlabel("time to ESTABLISHED (s)", fontsize=SMALL)
        a2.set_ylabel("share of connections", fontsize=SMALL)
        a2.legend(fontsize=SMALL, loc="upper right")
        a2.grid(axis="y", alpha=0.3)
        self.title_left = a1.set_title(" ", fontsize=SMALL, animated=True)
        self.title_right = a2.set_title(" ", fontsize=SMALL, animated=True)
        self.alt = ""
        self._patches: list[Any] = []
        self._background: Any = None

    def update(self, loss: float, retries: int, seed: int) -> None:
        """Sample ``trials`` handshakes at (``loss``, ``retries``) and show them."""
        from matplotlib.patches import Rectangle  # noqa: PLC0415

        sched = models.handshake_schedule("linux", syn_retries=retries)
        client, server = handshake_times(loss, self.trials, seed=seed, syn_retries=retries, rtt=self.rtt)
        self.model_client.set_ydata(_model_curve("p_client", self.dense, retries, "linux", self.rtt))
        self.model_server.set_ydata(_model_curve("p_server", self.dense, retries, "linux", self.rtt))
        self.point_client.set_data([loss], [np.isfinite(client).mean()])
        self.point_server.set_data([loss], [np.isfinite(server).mean()])
        self.title_left.set_text(f"syn_retries={retries}: {sched.attempts} SYNs,\ngives up at {sched.give_up:g} s")
        self.title_right.set_text(f"loss={loss:.0%}: time to ESTABLISHED\n(client), up to {self.max_time:g} s")
        rows = [r for r in time_distribution(client, loss, sched.syn_times, self.rtt) if r["time"] <= self.max_time]
        self.alt = _loss_alt(loss, retries, sched, client, server, rows)
        a2 = self.axes[1]
        self._patches = []
        for r in rows:
            for dx, height, colour, alpha in ((-0.2, r["share"], "C0", 1.0), (0.2, r["model"], "C1", 0.8)):
                patch = Rectangle((r["time"] + dx - 0.2, 0), 0.4, height, color=colour, alpha=alpha, animated=True)
                patch.set_transform(a2.transData)
                patch.axes = a2
                self._patches.append(patch)
        self.intervals.set_segments([[(r["time"] - 0.2, r["ci_low"]), (r["time"] - 0.2, r["ci_high"])] for r in rows])

    def _dynamic(self) -> list[Any]:
        return [self.model_client, self.model_server, self.point_client, self.point_server, *self._patches, self.intervals,
                self.title_left, self.title_right]

    def svg_html(self) -> str:
        """The figure as an inline SVG figure with its alt text (static book frames).

        Every artist is drawn (the animated ones too: blitting is only for live PNG
        redraws), so the SVG holds the whole picture, its words as text."""
        from ..render.figurehtml import svg_figure_html  # noqa: PLC0415
        from ..render.scene import figure_bytes  # noqa: PLC0415

        dynamic = self._dynamic()
        for artist in dynamic:
            artist.set_animated(False)
        for patch in self._patches:
            self.axes[1].add_patch(patch)
        try:
            svg = figure_bytes(self.fig, "svg")
        finally:
            for patch in self._patches:
                patch.remove()
            for artist in dynamic:
                artist.set_animated(True)
        return svg_figure_html(svg, self.alt, kind="tcpbook-plot")

    def png(self, dpi: int | None = None) -> bytes:
        """The figure as PNG bytes (the same data give the same bytes)."""
        from PIL import Image  # noqa: PLC0415 - Pillow comes with matplotlib

        if dpi is not None and dpi != self.fig.dpi:
            self.fig.set_dpi(dpi)
            self._background = None
        if self._background is None:  # axes, ticks, labels, legends: rendered once
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.canvas.restore_region(self._background)
        for artist in self._dynamic():
            artist.axes.draw_artist(artist)
        image = Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buf = io.BytesIO()
        image.save(buf, format="png", compress_level=1)
        return buf.getvalue()


def _loss_alt(loss: float, retries: int, sched: Any, client: np.ndarray, server: np.ndarray, rows: list[dict]) -> str:
    """The loss explorer's alt text, from what it plots."""
    first = rows[0] if rows else None
    when = (f"; {first['share']:.0%} of clients connect at {first['time']:g} s (model {first['model']:.0%})"
            if first else "")
    return (f"Loss explorer at loss {loss:.0%}, syn_retries={retries} ({sched.attempts} SYNs, gives up at "
            f"{sched.give_up:g} s): simulated P(ESTABLISHED) client {np.isfinite(client).mean():.1%}, server "
            f"{np.isfinite(server).mean():.1%}; geometric model client "
            f"{models.geometric_p_established(loss, sched.attempts):.1%}{when}.")


def _explorer_figure(loss: float, retries: int, trials: int, seed: int, rtt: float = 0.1) -> bytes:
    """The explorer's two panels for one point, as PNG bytes (static frames, tests)."""
    plot = LossExplorerPlot(trials=trials, rtt=rtt)
    plot.update(loss, retries, seed)
    return plot.png()


def _png(fig: Figure, dpi: int = 64) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)  # a no-op for figures pyplot does not manage
    return buf.getvalue()


def loss_explorer(
    losses: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    retries: Sequence[int] = (0, 1, 2, 3, 6),
    *,
    trials: int = 20_000,
    seed: int = 0,
    static: bool | None = None,
) -> Any:
    """Two sliders — loss and ``syn_retries`` — over the handshake, with the model curves.

    Live (a kernel): every change re-samples with the fast path and redraws.  Static
    (``static=True``, or ``TCPBOOK_STATIC=1`` when ``static`` is None): every frame of the
    grid ``losses`` × ``retries`` is drawn now and embedded in a
    :class:`~tcpbook.staticexplorer.StaticExplorer`, whose native sliders switch frames
    without a kernel.
    """
    import ipywidgets as widgets

    if static is None:
        static = os.environ.get(STATIC_ENV, "") == "1"
    losses = [float(x) for x in losses]
    retries = [int(r) for r in retries]
    if not losses or not retries:
        raise ParameterError("losses", losses, "at least one loss and one retry limit")
    if static:
        return _static_loss_explorer(losses, retries, trials, seed)
    loss_slider = widgets.SelectionSlider(
        options=[(f"{x:.0%}", x) for x in losses],
        value=losses[min(2, len(losses) - 1)],
        description=control_label("loss"),
        continuous_update=False,
    )
    retry_slider = widgets.SelectionSlider(
        options=[(str(r), r) for r in retries], value=retries[-1], description=control_label("syn_retries"), continuous_update=False
    )
    image = widgets.Image(format="png")
    plot = LossExplorerPlot(trials=trials)

    def redraw(_: Any = None) -> None:
        plot.update(loss_slider.value, retry_slider.value, seed)
        image.value = plot.png(dpi=80)

    loss_slider.observe(redraw, names="value")
    retry_slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([loss_slider, retry_slider]), image])


def _static_loss_explorer(losses: list[float], retries: list[int], trials: int, seed: int) -> Any:
    """The loss explorer for the published book: every (loss, syn_retries) frame drawn now,
    as inline SVG with its alt text, behind two native sliders (no kernel, no widgets)."""
    from ..staticexplorer import StaticControl, StaticExplorer  # noqa: PLC0415

    plot = LossExplorerPlot(trials=trials)
    frames = {}
    for j, r in enumerate(retries):
        for i, x in enumerate(losses):
            plot.update(x, r, seed * 1000 + 10 * j + i)
            frames[(i, j)] = (plot.svg_html(),)
    controls = [
        StaticControl(control_label("loss"), tuple(f"{x:.0%}" for x in losses), min(2, len(losses) - 1), "slider",
                      tr("probability that each segment is lost, in each direction")),
        StaticControl(control_label("syn_retries"), tuple(str(r) for r in retries), len(retries) - 1, "slider",
                      tr("how many times the client retransmits its SYN")),
    ]
    return StaticExplorer(f"<b>{tr('Loss and retries')}</b> — {tr('the geometric model against the fast path')}",
                          controls, frames)


def divergence_figure(rtt: float = 0.1, rto: float = 1.0, ax: Any = None) -> Figure:
    """The uncapped mean handshake time against loss: the geometric model (infinite from
    1 - 1/sqrt(2)) and Cardwell et al.'s eq. 4 (infinite from 1/2), log scale."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
    else:
        fig = ax.figure
    loss = np.linspace(0, 0.6, 601)
    geo = np.array([models.geometric_uncapped_mean_time(p, rtt, rto) for p in loss])
    card = np.array([models.cardwell_handshake_time(rtt, p, t_s=rto) for p in loss])
    ax.semilogy(loss, np.where(np.isfinite(geo), geo, np.nan), label="geometric, no cap (doubling)")
    ax.semilogy(loss, np.where(np.isfinite(card), card, np.nan), label="Cardwell et al. eq. 4")
    for x, c in ((models.GEOMETRIC_DIVERGENCE_LOSS, "C0"), (0.5, "C1")):
        ax.axvline(x, color=c, ls=":", lw=1)
    ax.set_xlabel("loss")
    ax.set_ylabel("mean time to ESTABLISHED (s)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=SMALL)
    if math.isfinite(rto):
        ax.set_ylim(rtt * 0.8, 1e4)
    return fig
