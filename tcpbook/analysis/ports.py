"""Ephemeral ports and TIME-WAIT: at what rate does a client run out of ports?

A TCP connection is named by its *4-tuple*: the two addresses and the two ports.  A
client that connects again and again to one server address and port varies only its own
port, which Linux takes from the ephemeral range (``net.ipv4.ip_local_port_range``,
32768–60999 by default: :data:`EPHEMERAL_PORTS` ports).  That port is busy while the
connection is open and, if the client closed first, for as long as the 4-tuple sits in
TIME-WAIT on the client — 60 s on Linux (``TCP_TIMEWAIT_LEN``) — unless
``tcp_tw_reuse`` lets ``connect()`` take the 4-tuple back :data:`TW_REUSE_DELAY` s after
TIME-WAIT began (``tcp_twsk_unique()``; it needs TCP timestamps, on by default).  When
the *server* closes first, TIME-WAIT sits on the server and costs the client nothing.

Three steps, each a function:

* :func:`port_hold` — how long one connection keeps the client's port, measured on a
  simulated run (connect, a prompt close, TIME-WAIT where it falls);
* :func:`reconnect` — ``connect()`` at a steady rate with that hold: how many ports are
  busy over time, and which attempts fail because none is free (``EADDRNOTAVAIL``);
* :func:`reconnect_figure` and :func:`reconnect_explorer` — the picture, and a slider
  over the rate.

>>> hold = port_hold("client")
>>> round(hold, 2), round(EPHEMERAL_PORTS / hold)
(60.2, 469)
>>> run = reconnect(600, hold, duration=120)
>>> run.failures > 0, round(run.exhausted_at, 2)
(True, 47.05)
"""

from __future__ import annotations

import io
import math
import os
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..book import entered
from ..errors import ParameterError
from ..i18n import tr
from ..scenarios import simulate

STATIC_ENV = "TCPBOOK_STATIC"

#: Linux's default ``net.ipv4.ip_local_port_range``, both ends included.
EPHEMERAL_RANGE = (32768, 60999)
#: How many ephemeral ports that range holds (28232).
EPHEMERAL_PORTS = EPHEMERAL_RANGE[1] - EPHEMERAL_RANGE[0] + 1
#: Seconds after which ``tcp_tw_reuse`` lets ``connect()`` take a TIME-WAIT 4-tuple back
#: (a fixed second; the setting ``tcp_tw_reuse_delay``, default 1000 ms, in recent kernels).
TW_REUSE_DELAY = 1.0

#: The explorer's choices of who holds TIME-WAIT, each label mapped to the side that closes first and whether ``tcp_tw_reuse`` is on.
MODES: dict[str, tuple[str, bool]] = {
    "client closes": ("client", False),
    "client, tcp_tw_reuse": ("client", True),
    "server closes": ("server", False),
}


def _connect_time(trace: Any) -> float:
    return next(e.t for e in trace.states_of("client") if e.state == "SYN-SENT")


def _closed_time(trace: Any, who: str) -> float:
    """When ``who``'s connection with its peer was finally CLOSED (after the handshake)."""
    peer = "server" if who == "client" else "client"
    return [e.t for e in trace.states_of(who, peer) if e.state == "CLOSED" and e.old != "CLOSED"][-1]


def port_hold(closer: str = "client", tw_reuse: bool = False, *, reuse_delay: float = TW_REUSE_DELAY,
              **params: Any) -> float:
    """Seconds from the client's ``connect()`` until its port may carry a new connection
    to the same server address and port, measured on ``simulate("close", closer=closer,
    close_delay=0, **params)``.

    * ``closer="client"``: the client ends in TIME-WAIT; the port is free when TIME-WAIT
      ends — or, with ``tw_reuse``, ``reuse_delay`` s after it began (Linux
      ``tcp_twsk_unique()``: ``tw_entry_stamp + tcp_tw_reuse_delay``).
    * ``closer="server"``: the client ends in LAST-ACK → CLOSED; its port is free at
      once (the server holds TIME-WAIT, and takes a newer SYN on that 4-tuple).
    """
    if closer not in ("client", "server"):
        raise ParameterError("closer", closer, "client or server")
    if not isinstance(tw_reuse, bool):
        raise ParameterError("tw_reuse", tw_reuse, "True or False")
    if not (isinstance(reuse_delay, (int, float)) and 0 <= reuse_delay <= 3600):
        raise ParameterError("reuse_delay", reuse_delay, "a number of seconds from 0 to 3600")
    trace = simulate("close", closer=closer, **{"close_delay": 0.0, **params})
    start = _connect_time(trace)
    if closer == "client" and tw_reuse:
        return entered(trace, "client", "TIME-WAIT") + reuse_delay - start
    return _closed_time(trace, "client") - start


def server_time_wait(**params: Any) -> float:
    """Seconds the server holds TIME-WAIT when it closes first (``simulate("close",
    closer="server", close_delay=0, **params)``): 60 s on Linux, 240 s in the ``rfc`` profile."""
    trace = simulate("close", closer="server", **{"close_delay": 0.0, **params})
    return _closed_time(trace, "server") - entered(trace, "server", "TIME-WAIT")


@dataclass(frozen=True)
class ReconnectRun:
    """``connect()`` at a steady ``rate`` to one server address and port.

    ``times``: each attempt (s); ``busy``: ports busy just after it; ``failed``: True where
    no port was free (``EADDRNOTAVAIL``).
    """

    rate: float
    hold: float
    ports: int
    duration: float
    times: np.ndarray
    busy: np.ndarray
    failed: np.ndarray

    @property
    def attempts(self) -> int:
        return len(self.times)

    @property
    def failures(self) -> int:
        return int(self.failed.sum())

    @property
    def exhausted_at(self) -> float | None:
        """The time of the first failed ``connect()``, or None."""
        return float(self.times[self.failed][0]) if self.failures else None

    @property
    def sustainable_rate(self) -> float:
        """The highest steady rate at which no ``connect()`` fails, ``ports / hold`` (every port is busy ``hold`` s)."""
        return self.ports / self.hold

    def per_second(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(seconds, succeeded, failed)``: attempts in each whole second of the run."""
        bins = np.floor(self.times).astype(int)
        n = int(math.ceil(self.duration))
        ok = np.bincount(bins[~self.failed], minlength=n)[:n]
        bad = np.bincount(bins[self.failed], minlength=n)[:n]
        return np.arange(n), ok, bad


def reconnect(rate: float, hold: float, ports: int = EPHEMERAL_PORTS, duration: float = 120.0) -> ReconnectRun:
    """Attempt ``connect()`` every ``1 / rate`` s for ``duration`` s; each success keeps one
    of ``ports`` ports for ``hold`` s.  An attempt that finds every port busy fails, as
    Linux's ``connect()`` does with ``EADDRNOTAVAIL`` when ``__inet_hash_connect()`` finds
    no port whose 4-tuple is free.

    Evenly spaced attempts keep the run deterministic; a random arrival process would
    smooth the edges, not move the limit ``ports / hold``.
    """
    if not (isinstance(rate, (int, float)) and 0 < rate <= 1e6):
        raise ParameterError("rate", rate, "connections per second, more than 0 and at most 1000000")
    if not (isinstance(hold, (int, float)) and 0 < hold <= 1e5):
        raise ParameterError("hold", hold, "seconds, more than 0 and at most 100000")
    if not (isinstance(ports, int) and not isinstance(ports, bool) and 1 <= ports <= 65535):
        raise ParameterError("ports", ports, "an integer from 1 to 65535")
    if not (isinstance(duration, (int, float)) and 0 < duration <= 3600) or rate * duration > 5e6:
        raise ParameterError("duration", duration, "seconds, more than 0, at most 3600, and rate x duration at most 5000000")
    n = int(math.floor(rate * duration + 1e-9))
    times = np.arange(n) / rate
    busy = np.empty(n, dtype=np.int64)
    failed = np.zeros(n, dtype=bool)
    releases: deque[float] = deque()  # when each busy port is free again, in order (one hold for all)
    for k, t in enumerate(times.tolist()):
        while releases and releases[0] <= t + 1e-12:
            releases.popleft()
        if len(releases) < ports:
            releases.append(t + hold)
        else:
            failed[k] = True
        busy[k] = len(releases)
    return ReconnectRun(float(rate), float(hold), ports, float(duration), times, busy, failed)


def reconnect_figure(rate: float, mode: str = "client closes", *, ports: int = EPHEMERAL_PORTS, duration: float = 120.0,
                     holds: dict[str, float] | None = None, server_tw: float | None = None) -> Figure:
    """Two panels for ``connect()`` at ``rate`` per second, with TIME-WAIT where ``mode``
    (a key of :data:`MODES`) puts it.  Top: the client's busy ports against the ephemeral
    range (and, when the server closes first, the server's TIME-WAIT sockets, which cost
    it memory and no port).  Bottom: ``connect()`` calls per second that succeeded and
    that failed.  ``holds`` (mode → seconds) and ``server_tw`` skip the simulations."""
    if mode not in MODES:
        raise ParameterError("mode", mode, "one of " + ", ".join(MODES))
    closer, reuse = MODES[mode]
    hold = holds[mode] if holds and mode in holds else port_hold(closer, reuse)
    run = reconnect(rate, hold, ports, duration)
    # Fixed margins, few artists: a frame of the static explorer draws in a fraction of a second.
    fig = Figure(figsize=(7.6, 4.4))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.6, 1]})
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.11, top=0.88, hspace=0.08)
    grid = np.linspace(0.0, duration, 1201)  # the curves at 0.1 s steps (a run has up to millions of attempts)
    at = np.clip(np.searchsorted(run.times, grid, side="right") - 1, 0, None)
    top.plot(grid, np.where(grid >= run.times[0], run.busy[at], 0), color="C0", lw=1.6,
             label="client: ports busy (open or TIME-WAIT)")
    top.axhline(ports, color="0.3", ls="--", lw=1, label=f"ephemeral range: {ports:,} ports")
    if closer == "server":
        tw = server_tw if server_tw is not None else server_time_wait()
        # one TIME-WAIT entry per 4-tuple: at most one per client port
        ok_times = run.times[~run.failed]
        entries = (np.searchsorted(ok_times, grid - hold, side="right")
                   - np.searchsorted(ok_times, grid - hold - tw, side="right"))
        top.plot(grid, np.minimum(entries, ports), color="C2", lw=1.4, ls="-.",
                 label="server: TIME-WAIT sockets (memory only; one per 4-tuple at most)")
    if run.exhausted_at is not None:
        top.axvline(run.exhausted_at, color="C3", lw=1, ls=":")
    top.set_ylim(0, ports * 1.45)
    top.set_ylabel("sockets")
    top.legend(fontsize=6.5, loc="upper left", ncols=2)
    top.grid(alpha=0.3)
    limit = run.sustainable_rate
    verdict = (f"the ports run out at {run.exhausted_at:.1f} s; {run.failures / run.attempts:.0%} of all connect() calls fail"
               if run.exhausted_at is not None else "no connect() fails")
    top.set_title(f"{rate:g} connect() per second, {mode}: each port busy {hold:.2f} s\n"
                  f"port limit {limit:,.0f} connections per second — {verdict}", fontsize=8.5)
    seconds, ok, bad = run.per_second()
    edges = np.append(seconds, len(seconds)).astype(float)
    bottom.stairs(ok, edges, fill=True, color="C0", alpha=0.7, label="succeeded")
    bottom.stairs(ok + bad, edges, baseline=ok, fill=True, color="C3", alpha=0.8, label="failed: EADDRNOTAVAIL")
    bottom.set_xlim(0, duration)
    bottom.set_ylim(0, rate * 1.6)
    bottom.set_xlabel("time (s)")
    bottom.set_ylabel("connect() per s")
    bottom.legend(fontsize=6.5, loc="upper left", ncols=2)
    bottom.grid(alpha=0.3)
    return fig


def _png(fig: Figure, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)  # a no-op for figures pyplot does not manage
    return buf.getvalue()


def reconnect_explorer(
    rates: Sequence[float] = (100, 300, 450, 600, 1200, 5000),
    modes: Sequence[str] = tuple(MODES),
    *,
    duration: float = 120.0,
    static: bool | None = None,
) -> Any:
    """A slider over the reconnect rate and a choice of who holds TIME-WAIT.

    The hold of each mode is measured once on the simulator (:func:`port_hold`).  Live
    (a kernel): every change redraws.  Static (``static=True``, or ``TCPBOOK_STATIC=1``
    when ``static`` is None): every (rate, mode) frame is drawn now, as inline SVG with its
    alt text, in a :class:`~tcpbook.staticexplorer.StaticExplorer` whose native slider and
    radio buttons switch frames without a kernel (and without a widget manager on the page).
    """
    import ipywidgets as widgets

    if static is None:
        static = os.environ.get(STATIC_ENV, "") == "1"
    rates = [float(r) for r in rates]
    modes = list(modes)
    if not rates or not modes:
        raise ParameterError("rates", rates, "at least one rate and one mode")
    for mode in modes:
        if mode not in MODES:
            raise ParameterError("modes", mode, "names from " + ", ".join(MODES))
    holds = {mode: port_hold(*MODES[mode]) for mode in modes}
    server_tw = server_time_wait()
    if static:
        return _static_reconnect_explorer(rates, modes, duration, holds, server_tw)
    rate_slider = widgets.SelectionSlider(options=[(f"{r:g}/s", r) for r in rates], value=rates[min(3, len(rates) - 1)],
                                          description=tr("connect() rate"), continuous_update=False,
                                          style={"description_width": "initial"})
    mode_buttons = widgets.ToggleButtons(options=modes, value=modes[0], description="TIME-WAIT",
                                         style={"description_width": "initial", "button_width": "13em"})
    controls = widgets.HBox([rate_slider, mode_buttons], layout=widgets.Layout(flex_flow="row wrap"))

    def frame(rate: float, mode: str, dpi: int) -> bytes:
        return _png(reconnect_figure(rate, mode, duration=duration, holds=holds, server_tw=server_tw), dpi)

    image = widgets.Image(format="png", layout=widgets.Layout(width="100%"))

    def redraw(_: Any = None) -> None:
        image.value = frame(rate_slider.value, mode_buttons.value, 80)

    rate_slider.observe(redraw, names="value")
    mode_buttons.observe(redraw, names="value")
    redraw()
    return widgets.VBox([controls, image])


def _static_reconnect_explorer(rates: list[float], modes: list[str], duration: float,
                               holds: dict[str, float], server_tw: float) -> Any:
    """The reconnect explorer for the published book: every (rate, mode) frame drawn now as
    legible inline SVG with a description made from its own words (the title says the rate,
    the port limit and when the ports run out), behind a native slider and radio buttons."""
    from ..render.figurehtml import figure_html  # noqa: PLC0415 - only the static book draws SVG
    from ..staticexplorer import StaticControl, StaticExplorer  # noqa: PLC0415

    frames = {}
    for i, rate in enumerate(rates):
        for j, mode in enumerate(modes):
            fig = reconnect_figure(rate, mode, duration=duration, holds=holds, server_tw=server_tw)
            frames[(i, j)] = (figure_html(fig),)
            plt.close(fig)  # a no-op for figures pyplot does not manage
    controls = [
        StaticControl(tr("connect() rate"), tuple(f"{r:g}/s" for r in rates), min(3, len(rates) - 1), "slider",
                      tr("connect() calls per second, each to the same server address and port")),
        StaticControl("TIME-WAIT", tuple(modes), 0, "buttons", tr("which side closes first and so holds TIME-WAIT")),
    ]
    return StaticExplorer(f"<b>{tr('Reconnecting at a steady rate')}</b> — {tr('ephemeral ports and TIME-WAIT')}",
                          controls, frames)
