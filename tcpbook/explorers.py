"""Explorers: sliders and menus that re-run a scenario and redraw its pictures.

A chapter places one with a single line::

    from tcpbook.explorers import explore
    explore("handshake")

Each explorer shows, one under the other and each as wide as the page, a short
summary of how the run ended, the ladder diagram of the run and the state diagram
with the path each endpoint took.  Its
controls are named exactly like the scenario's parameters (``loss``,
``syn_retries``, ``close_delay`` …), so what a reader learns here works unchanged
in :func:`tcpbook.scenarios.simulate` and on the command line.

It works in two worlds:

* **live** (a running kernel: JupyterLab, Binder): any change of a control
  re-simulates and redraws, for any value the control allows;
* **static** (the published HTML book, no kernel): when the book is built
  (``TCPBOOK_STATIC=1``) the explorer runs every point of a small grid of control
  values and writes a :class:`StaticExplorer`: plain HTML with native controls (range
  inputs, a menu, radio buttons — named, and operable and announced by keyboard), every
  picture of every frame once (an image of its SVG with its alt text, hidden until a
  frame shows it), and a short script that shows the frame of the controls' values.  No
  kernel and no widget manager: a frame switch only hides three elements and shows three,
  and the page needs no 3.5 MB of JavaScript.

``explore(name, static=True)`` or ``static=False`` forces a mode.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import itertools
import json
import os
import select
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import ipywidgets as widgets

from .errors import ParameterError
from .i18n import control_help, control_label, resolve, tr
from .render import style
from .render.export import figure_bytes
from .render.figurehtml import compact_svg, svg_figure_html
from .render.ladderdiagram import ladder, ladder_svg
from .render.statediagram import state_diagram
from .render.summary import alt_text, outcome_summary
from .scenarios import get_scenario, simulate
from .staticexplorer import StaticControl, StaticExplorer
from .trace import Trace

STATIC_ENV = "TCPBOOK_STATIC"


# ------------------------------------------------------------------------ controls


@dataclass(frozen=True)
class Control:
    """One control of an explorer.

    ``name`` is the scenario parameter it sets.  ``kind`` is ``"float"``, ``"int"``
    (a slider over ``live_range`` in live mode) or ``"choice"`` (buttons or a menu).
    ``grid`` lists the values precomputed for static mode (the slider's stops);
    ``labels`` optionally names each value for display.
    """

    name: str
    kind: str
    default: Any
    grid: tuple[Any, ...]
    live_range: tuple[float, float, float] | None = None  # (min, max, step) for sliders
    choices: tuple[Any, ...] = ()  # every value a "choice" control offers live
    labels: dict[Any, str] = field(default_factory=dict)
    menu: bool = False  # a Dropdown rather than ToggleButtons
    help: str = ""  # empty: the parameter's own help (tcpbook.params.Param.help)

    def label(self, value: Any, lang: str = "en") -> str:
        """How ``value`` reads on the control, in ``lang``."""
        if value in self.labels:
            return tr(self.labels[value], lang)
        if isinstance(value, bool):
            return tr("on" if value else "off", lang)
        if self.name == "closer":
            return tr(str(value), lang)
        return str(value)

    def static_control(self, lang: str = "en") -> StaticControl:
        """This control in a static explorer: a slider over the grid's values (a menu, or
        buttons, for a choice), set to the default."""
        kind = "slider" if self.kind in ("float", "int") else "menu" if self.menu else "buttons"
        return StaticControl(control_label(self.name, lang), tuple(self.label(v, lang) for v in self.grid),
                             self.grid.index(self.default), kind, control_help(self.name, self.help, lang))

    def live_widget(self, value: Any, lang: str = "en") -> widgets.ValueWidget:
        common = {"description": control_label(self.name, lang), "style": {"description_width": "initial"},
                  "tooltip": control_help(self.name, self.help, lang)}
        if self.kind == "float":
            lo, hi, step = self.live_range or (0.0, 1.0, 0.05)
            return widgets.FloatSlider(value=value, min=lo, max=hi, step=step, continuous_update=False,
                                       readout_format=".2f", **common)
        if self.kind == "int":
            lo, hi, step = self.live_range or (0, 10, 1)
            return widgets.IntSlider(value=value, min=int(lo), max=int(hi), step=int(step), continuous_update=False, **common)
        options = [(self.label(v, lang), v) for v in (self.choices or self.grid)]
        if self.menu:
            return widgets.Dropdown(options=options, value=value, **common)
        common["style"] = {"description_width": "initial", "button_width": "72px"}
        return widgets.ToggleButtons(options=options, value=value, **common)


# The drop rules offered by the handshake explorer's menu (rule "" = none).
HANDSHAKE_DROPS: dict[str, str] = {
    "": "no drop rule",
    "client:SYN:1": "first SYN lost",
    "server:SYN-ACK:1": "first SYN,ACK lost",
    "client:ACK:1": "final ACK lost",
    "server:SYN-ACK:*": "every SYN,ACK lost",
    "client:SYN:*": "every SYN lost",
}


@dataclass(frozen=True)
class ExplorerSpec:
    """What one explorer runs and which controls it offers."""

    name: str
    scenario: str
    title: str
    controls: tuple[Control, ...]
    fixed: dict[str, Any] = field(default_factory=dict)
    phase: str | None = None  # the focused state diagram to show
    ladder_options: dict[str, Any] = field(default_factory=dict)


_LOSS = Control("loss", "float", 0.0, (0.0, 0.1, 0.2, 0.3, 0.5), (0.0, 0.9, 0.05))
# Seeds are arbitrary; 45 and 31 make every step of the loss slider change the
# handshake (with only three segments, a small loss often changes nothing).

SPECS: dict[str, ExplorerSpec] = {
    "handshake": ExplorerSpec(
        "handshake",
        "handshake",
        "Three-way handshake",
        (
            _LOSS,
            Control("drop", "choice", "", tuple(HANDSHAKE_DROPS), labels=HANDSHAKE_DROPS, menu=True),
            Control("syn_retries", "int", 6, (6, 2), (0, 8, 1)),
            Control("synack_retries", "int", 5, (5,), (0, 6, 1)),
            Control("profile", "choice", "linux", ("linux", "rfc"), choices=("linux", "rfc")),
            Control("seed", "int", 45, (45,), (0, 300, 1)),
        ),
        phase="open",
    ),
    "transfer": ExplorerSpec(
        "transfer",
        "transfer",
        "Data transfer",
        (
            Control("bytes", "int", 4380, (1460, 4380, 14600), (0, 146000, 1460)),
            Control("mss", "int", 1460, (536, 1460), (200, 1460, 4)),
            Control("loss", "float", 0.0, (0.0, 0.1, 0.3), (0.0, 0.9, 0.05)),
            # Linux ACKs its first 16 segments at once (quick ACK); 0 shows delayed ACKs from the start
            Control("quickack", "int", 16, (0, 16), (0, 16, 1)),
            Control("delayed_ack", "choice", True, (True,), choices=(True, False)),
            Control("seed", "int", 1, (1,), (0, 50, 1)),
        ),
        phase="open",  # nobody closes in this scenario
    ),
    "teardown": ExplorerSpec(
        "teardown",
        "close",
        "Closing a connection",
        (
            Control("closer", "choice", "client", ("client", "server"), choices=("client", "server")),
            Control("close_delay", "float", 0.2, (0.0, 0.2, 1.0), (0.0, 5.0, 0.05)),
            Control("loss", "float", 0.0, (0.0, 0.2, 0.4), (0.0, 0.9, 0.05)),
            Control("time_wait", "float", 60.0, (60.0, 240.0), (1.0, 240.0, 1.0)),
            Control("seed", "int", 1, (1,), (0, 50, 1)),
        ),
        phase="close",
    ),
    "syn-flood": ExplorerSpec(
        "syn-flood",
        "syn-flood",
        "SYN flood",
        (
            Control("attack_rate", "float", 20.0, (0.0, 20.0, 100.0), (0.0, 200.0, 5.0)),
            Control("backlog", "int", 128, (128, 1024), (1, 1024, 1)),
            Control("synack_retries", "int", 5, (1, 5), (0, 6, 1)),
            # Linux's default (tcp_syncookies = 1) first; False shows the dropped SYNs
            Control("syncookies", "choice", True, (True, False), choices=(True, False)),
        ),
        # A short flood keeps each run fast enough to redraw live (the lesson is the
        # same: half-open requests outlive the flood by their SYN,ACK retries).
        fixed={"clients": 4, "client_interval": 3.0, "client_start": 2.0, "attack_duration": 6.0},
        phase="open",
        # The spoofed sources, the server and one legitimate client: what a reader
        # needs to see, readable at half a page's width.
        ladder_options={"endpoints": ("spoofed", "server", "client-1"), "max_segments": 50},
    ),
    "flow-and-congestion": ExplorerSpec(
        "flow-and-congestion",
        "transfer",
        "Flow and congestion control",
        (
            Control("bytes", "int", 43800, (43800,), (1460, 1_000_000, 1460)),
            Control("loss", "float", 0.0, (0.0, 0.05), (0.0, 0.3, 0.01)),
            Control("cc", "choice", "cubic", ("cubic", "reno"), choices=("cubic", "reno", "none")),
            Control("initcwnd", "int", 10, (4, 10), (1, 40, 1)),
            Control("read_rate", "choice", None, (None, 8000.0), menu=True,
                    labels={None: "reads at once", 8000.0: "8 kB/s", 2000.0: "2 kB/s", 50000.0: "50 kB/s"},
                    choices=(None, 50000.0, 8000.0, 2000.0)),
            # a 32 KB buffer: the slow reader closes the window within the transfer
            Control("rcvbuf", "int", 32768, (32768,), (4096, 65535, 1024)),
            # seed 5 at 5 % loss: fast retransmits (with reno also a retransmission timeout)
            Control("seed", "int", 5, (5,), (0, 50, 1)),
        ),
        phase="open",  # nobody closes in this scenario
    ),
    "program-exit": ExplorerSpec(
        "program-exit",
        "exit",
        "When the program exits",
        (
            Control("bytes", "int", 100_000, (100_000,), (0, 1_000_000, 1000)),
            Control("unread", "choice", 0, (0, 2000), labels={0: "none", 2000: "2000 bytes"}, choices=(0, 500, 2000, 10000)),
            Control("linger", "choice", None, (None, 0.0), labels={None: "off", 0.0: "{1, 0}"}, choices=(None, 0.0)),
            Control("loss", "float", 0.0, (0.0, 0.05), (0.0, 0.3, 0.01)),
            Control("seed", "int", 1, (1,), (0, 50, 1)),
        ),
        phase="close",
    ),
    "dead-peer": ExplorerSpec(
        "dead-peer",
        "dead-peer",
        "A peer whose machine died",
        (
            Control("keepalive", "choice", False, (False, True), choices=(False, True)),
            Control("send_at", "choice", None, (None, 30.0), labels={None: "never", 30.0: "at 30 s"},
                    choices=(None, 30.0, 300.0)),
            Control("user_timeout", "choice", None, (None, 60.0), labels={None: "off", 60.0: "60 s"},
                    choices=(None, 20.0, 60.0, 600.0)),
            # small keepalive settings, so that a probe is seen within the run (Linux: 7200, 75, 9)
            Control("keepidle", "float", 60.0, (60.0,), (1.0, 7200.0, 1.0)),
            Control("keepintvl", "float", 10.0, (10.0,), (1.0, 75.0, 1.0)),
            Control("keepcnt", "int", 3, (3,), (1, 9, 1)),
            Control("crash_at", "float", 10.0, (10.0,), (1.0, 100.0, 1.0)),
        ),
        phase="open",
    ),
}


# ------------------------------------------------------------------------- frames


# compact_svg now lives in tcpbook.render.figurehtml (imported above, and kept importable here).
LADDER_WIDTH_IN = style.PAGE_WIDTH_PT / 72  # the ladder is as wide as the book's text column


@dataclass
class Frame:
    """The three things an explorer shows for one set of control values."""

    state_svg: bytes
    ladder_image: bytes
    ladder_format: str
    summary_html: str
    ladder_alt: str = ""  # what each picture shows, in words (tcpbook.render.summary.alt_text)
    state_alt: str = ""

    def ladder_html(self) -> str:
        """The ladder as an inline figure with its alt text (static frames)."""
        return svg_figure_html(self.ladder_image, self.ladder_alt or "Ladder diagram", kind="tcpbook-ladder")

    def state_html(self) -> str:
        """The state diagram as an inline figure with its alt text (static frames)."""
        return svg_figure_html(self.state_svg, self.state_alt or "State diagram", kind="tcpbook-state")


def render_frame(trace: Trace, *, phase: str | None, ladder_format: str = "svg", ladder_options: dict[str, Any] | None = None,
                 compact: bool = False, dot_svg: Callable[[str], bytes] | None = None, lang: str | None = None) -> Frame:
    """Draw both pictures and the summary of ``trace`` (its words and alt texts in ``lang``,
    by default the language in use: :func:`tcpbook.i18n.language`).

    graphviz runs as a separate process while matplotlib draws the ladder, so on a
    two-core machine the two pictures cost little more than the slower one.  ``dot_svg``
    (source -> SVG) replaces that process, e.g. by a live explorer's long-lived one.
    """
    lang = resolve(lang)
    dot = state_diagram(trace, phase=phase, lang=lang)
    state_alt = dot.alt
    if dot_svg is not None:
        svg = dot_svg(dot.source)
        image = ladder_svg(trace, **{"width": LADDER_WIDTH_IN, **(ladder_options or {})})
        return Frame(compact_svg(svg) if compact else svg, image, "svg", outcome_summary(trace, lang=lang),
                     alt_text(trace, "ladder", lang=lang), state_alt)
    proc = subprocess.Popen(["dot", "-Tsvg"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(dot.source.encode())
    proc.stdin.close()
    try:
        if ladder_format == "svg":
            # The same scene as ladder(), painted directly, as wide as the page's column.
            image = ladder_svg(trace, **{"width": LADDER_WIDTH_IN, **(ladder_options or {})})
        else:
            image = figure_bytes(ladder(trace, **(ladder_options or {})), ladder_format, dpi=72)
    finally:
        assert proc.stdout is not None
        svg = proc.stdout.read()
        err = proc.stderr.read() if proc.stderr is not None else b""
        proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"graphviz dot failed: {err.decode(errors='replace')}")
    if compact:
        svg = compact_svg(svg)

    return Frame(svg, image, ladder_format, outcome_summary(trace, lang=lang), alt_text(trace, "ladder", lang=lang),
                 state_alt)


# ------------------------------------------------------------------ live redrawing
# From a control change to the new picture on screen a reader should wait no more than
# ~150 ms.  Two things stood in the way: starting graphviz's `dot` costs ~40 ms per frame
# (process start-up and font set-up; the layout itself takes ~3 ms), and a burst of changes
# (arrow keys held down, quick clicks) queued one full redraw per change.


class _DotCoprocess:
    """One long-lived ``dot -Tsvg`` that lays out graph after graph.

    dot reads graphs from its input one after another and writes each SVG as soon as the
    graph is complete, so a live explorer pays the start-up once per kernel.  Any trouble
    (dot gone, no answer in time) ends the process and falls back to one ``dot`` run.
    """

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def svg(self, source: str) -> bytes:
        with self._lock:
            try:
                return self._layout(source)
            except (OSError, RuntimeError, TimeoutError):
                self.close()
        done = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"graphviz dot failed: {done.stderr.decode(errors='replace')}")
        return done.stdout

    def _layout(self, source: str) -> bytes:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(["dot", "-Tsvg"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(source.encode() + b"\n")
        self._proc.stdin.flush()
        out, fd = b"", self._proc.stdout.fileno()
        while not out.rstrip().endswith(b"</svg>"):
            ready, _, _ = select.select([fd], [], [], self.timeout)
            if not ready:
                raise TimeoutError("dot did not answer")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError("dot exited")
            out += chunk
        return out

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


_LIVE_DOT = _DotCoprocess()
# The window (seconds) a change waits for a newer one: after a change that came alone at
# least the first, which covers the round trip that brings a burst's second change before
# any burst has been seen; inside a burst at least the second (its later gaps are longer:
# the drawing of a stale change competes with the round trip); never more than the third.
# Measured in JupyterLab: benchmarks/bench_lab_latency.py, tests/test_explorers.py.
LIVE_WINDOW_S = (0.07, 0.12, 0.15)
LIVE_DRAW_GUESS_S = 0.04  # how long drawing a frame takes, until the first one has been timed


class _Debounced:
    """Show one picture for a burst of control changes: the last one's.

    In a kernel each control change arrives as a message.  The browser sends a widget's
    next change only after the kernel has answered the previous one, so within a burst
    (arrow keys held down, quick clicks) the changes arrive one message round trip apart.
    A change is shown once no newer one has come for a *window*, learnt from the bursts
    seen so far — 1.5 times the average gap between a burst's first two changes for a
    change that came alone, 1.5 times the average gap between its later changes for a
    change inside a burst — and kept between the floors and the ceiling of ``window``
    (see :data:`LIVE_WINDOW_S`): short on an idle machine, longer on a busy one.

    The window does not add to the wait: a change is drawn (in a thread) while its window
    runs, starting as late as the drawing's running average duration allows, so that the
    frame is ready when the window closes — not earlier, because a drawing competes for
    the cores with the round trip that may bring the next change.  A frame that a newer
    change made stale is never shown.  Drawing and showing are serialised: ipykernel 7
    hands widget messages to several threads ("subshells").

    ``draw()`` computes a frame from the controls' current values and returns the
    function that puts it on screen.  Outside a kernel's event loop (a script, a test
    setting ``widget.value``) each change is drawn and shown at once.  ``clock``,
    ``later(delay, fn)`` (a started timer with ``cancel()``) and ``spawn(fn)`` (a thread)
    can be replaced, so the tests drive the debouncer on a virtual clock.
    """

    def __init__(self, draw: Callable[[], Callable[[], None]], window: tuple[float, float, float] = LIVE_WINDOW_S, *,
                 clock: Callable[[], float] = time.monotonic,
                 later: Callable[[float, Callable[[], None]], Any] | None = None,
                 spawn: Callable[[Callable[[], None]], None] | None = None,
                 in_kernel: Callable[[], bool] | None = None) -> None:
        self.draw, (self.floor, self.burst_floor, self.ceiling) = draw, window
        self.clock = clock
        self.later = later or _start_timer
        self.spawn = spawn or _start_thread
        self.in_kernel = in_kernel or _in_event_loop
        self._lock = threading.Lock()  # guards the fields below
        self._changes = 0  # how many changes have arrived
        self._last = float("-inf")  # when the last one arrived (clock)
        self._burst = 0  # how many changes the current burst has had
        self._gaps = [0.0, 0.0]  # running average gaps: a burst's first two changes, its later ones
        self._draw_time = LIVE_DRAW_GUESS_S  # running average time to draw a frame
        self._timers: list[Any] = []  # the last change's: when to start drawing, when its window closes
        self._due = 0  # the newest change whose time to draw has come
        self._drawing = False  # a drawing thread is at work
        self._quiet = 0  # the newest change whose window has closed
        self._ready: tuple[int, Callable[[], None]] | None = None  # (change, show) of the newest drawn frame
        self._shown = 0  # the change whose frame is on screen
        self._showing = threading.Lock()  # one frame put on screen at a time

    def window(self, in_burst: bool = False) -> float:
        """The window of a change that came alone, or of one inside a burst."""
        floor = self.burst_floor if in_burst else self.floor
        return min(self.ceiling, max(floor, 1.5 * self._gaps[in_burst]))

    def __call__(self, _change: Any = None) -> None:
        if not self.in_kernel():
            with self._showing:
                self.draw()()
            return
        with self._lock:
            now = self.clock()
            gap, self._last = now - self._last, now
            in_burst = gap < 2 * self.ceiling
            if in_burst:  # learn the burst's gaps: its first, and its later ones
                later = self._burst > 1
                self._gaps[later] = gap if not self._gaps[later] else 0.7 * self._gaps[later] + 0.3 * gap
            self._burst = self._burst + 1 if in_burst else 1
            self._changes += 1
            change, window = self._changes, self.window(in_burst)
            for timer in self._timers:
                timer.cancel()
            self._timers = [self.later(max(0.0, window - self._draw_time), lambda: self._draw_due(change)),
                            self.later(window, lambda: self._window_over(change))]

    def _draw_due(self, change: int) -> None:
        with self._lock:
            if change != self._changes:
                return  # a newer change came: it has its own time to draw
            self._due = change
            if self._drawing:
                return  # the drawing thread draws it next
            self._drawing = True
        self.spawn(self._draw_newest)

    def _draw_newest(self) -> None:
        """Draw the newest change whose time has come, until none is left (a thread)."""
        while True:
            with self._lock:
                change = self._due
            start = self.clock()
            try:
                show = self.draw()
            except BaseException:
                with self._lock:
                    self._drawing = False  # the next change draws again
                raise
            with self._lock:
                self._draw_time = 0.7 * self._draw_time + 0.3 * (self.clock() - start)
                if change == self._changes:
                    self._ready = (change, show)
                if self._due == change:
                    self._drawing = False
                    break
        self._show_if_due()

    def _window_over(self, change: int) -> None:
        with self._lock:
            self._quiet = max(self._quiet, change)
        self._show_if_due()

    def _show_if_due(self) -> None:
        with self._showing:
            with self._lock:
                if self._ready is None:
                    return
                change, show = self._ready
                if not change == self._changes == self._quiet or change == self._shown:
                    return  # its window is still open, or a newer change came, or it is shown
                self._shown = change
            show()


def _start_timer(delay: float, fn: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(delay, fn)
    timer.daemon = True
    timer.start()
    return timer


def _start_thread(fn: Callable[[], None]) -> None:
    threading.Thread(target=fn, daemon=True).start()


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# ----------------------------------------------------------------------- explorer


def _static_default() -> bool:
    return os.environ.get(STATIC_ENV, "").strip().lower() in ("1", "true", "yes", "on")


class Explorer:
    """An explorer: a scenario, its controls and the three views (see the module docstring).

    ``Explorer(spec, static=..., lang=..., **fixed)``: ``fixed`` parameters are passed to
    every run; a fixed parameter that is also a control removes that control.  ``lang``
    (``"en"``, ``"zh"``; default the language in use, :func:`tcpbook.i18n.language`) is the
    language of its controls, summary and alt texts.  Call :meth:`widget` (or just display
    the explorer) to get the ipywidgets tree.
    """

    def __init__(self, spec: ExplorerSpec, *, static: bool | None = None, lang: str | None = None, **fixed: Any) -> None:
        if static is not None and not isinstance(static, bool):
            raise ParameterError("static", static, "True, False or None (None: the TCPBOOK_STATIC environment variable)")
        self.lang = resolve(lang)
        self.spec = spec
        self.static = _static_default() if static is None else static
        scenario = get_scenario(spec.scenario)
        allowed = scenario.parameters()
        for key in fixed:
            if key not in allowed:
                raise ParameterError(key, fixed[key], f"a parameter of scenario {spec.scenario!r}: {', '.join(sorted(allowed))}")
        self.fixed = {**spec.fixed, **fixed}
        # Each control's help is its parameter's, declared once (tcpbook.params).
        self.controls = tuple(
            dataclasses.replace(c, help=c.help or scenario.params[c.name].help) for c in spec.controls if c.name not in fixed
        )
        # Fail now, with a ParameterError, if the fixed values are wrong.
        simulate(spec.scenario, **self._params({c.name: c.default for c in self.controls}))
        self.frames: dict[tuple[Any, ...], tuple[str, str, str]] = {}  # static: (summary, ladder, state) HTML
        self.inputs: dict[str, widgets.ValueWidget] = {}
        self._widget: widgets.Widget | StaticExplorer | None = None

    # -- running ---------------------------------------------------------------------

    def _params(self, values: dict[str, Any]) -> dict[str, Any]:
        params = dict(self.fixed)
        for name, value in values.items():
            if name == "drop":
                params["drop"] = (value,) if value else ()
            else:
                params[name] = value
        return params

    def simulate(self, **values: Any) -> Trace:
        """Run the scenario with these control values (defaults for the rest)."""
        known = {c.name for c in self.controls}
        for name in values:
            if name not in known:
                raise ParameterError(name, values[name], "a control of this explorer: " + ", ".join(sorted(known)))
        merged = {c.name: c.default for c in self.controls}
        merged.update(values)
        return simulate(self.spec.scenario, **self._params(merged))

    def frame(self, *, compact: bool = False, ladder_format: str = "svg", **values: Any) -> Frame:
        """Simulate and draw one frame (what a control change does in live mode)."""
        return render_frame(self.simulate(**values), phase=self.spec.phase, ladder_format=ladder_format,
                            ladder_options=self.spec.ladder_options, compact=compact, lang=self.lang)

    @property
    def static_controls(self) -> tuple[Control, ...]:
        """The controls that have more than one value in the static grid."""
        return tuple(c for c in self.controls if len(c.grid) > 1)

    def grid(self) -> list[tuple[Any, ...]]:
        """Every point of the static grid, in the order of :attr:`static_controls`."""
        return list(itertools.product(*(c.grid for c in self.static_controls)))

    # -- widgets ---------------------------------------------------------------------

    def widget(self) -> widgets.Widget | StaticExplorer:
        """The ipywidgets tree of a live explorer, or the :class:`StaticExplorer` (HTML) of a
        static one; built once."""
        if self._widget is None:
            self._widget = self._build_static() if self.static else self._build_live()
        return self._widget

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())

    def title_html(self, note: str = "") -> str:
        """The line above the controls: the explorer's title and the scenario it runs."""
        return (f"<b>{escape(tr(self.spec.title, self.lang))}</b> — {tr('scenario', self.lang)} "
                f"<code>{escape(self.spec.scenario)}</code>{note}")

    def _header(self, controls: Sequence[widgets.Widget], note: str = "") -> widgets.Widget:
        title = widgets.HTML(self.title_html(note))
        box = widgets.Box(list(controls), layout=widgets.Layout(display="flex", flex_flow="row wrap", gap="4px 18px"))
        box.add_class("tcpbook-controls")
        return widgets.VBox([title, box])

    def _live_frame(self, values: dict[str, Any]) -> Frame:
        """One live frame: the run of ``values``, laid out by the kernel's long-lived dot."""
        return render_frame(self.simulate(**values), phase=self.spec.phase, ladder_options=self.spec.ladder_options,
                            compact=True, dot_svg=_LIVE_DOT.svg, lang=self.lang)

    def _build_live(self) -> widgets.Widget:
        inputs = {c.name: c.live_widget(c.default, self.lang) for c in self.controls}
        self.inputs = inputs
        frame = self._live_frame({c.name: c.default for c in self.controls})
        state = widgets.Image(value=frame.state_svg, format="svg+xml", layout=widgets.Layout(width="100%", height="auto"))
        lad = widgets.Image(value=frame.ladder_image, format="svg+xml", layout=widgets.Layout(width="100%", height="auto"))
        summary = widgets.HTML(frame.summary_html)
        error = widgets.HTML("")
        body = stacked_body(lad, state, summary, error)

        def draw() -> Callable[[], None]:
            """The frame of the controls' values, drawn; returns what puts it on screen."""
            try:
                new = self._live_frame({name: w.value for name, w in inputs.items()})
            except ParameterError as exc:  # e.g. a combination the scenario refuses
                message = f"<span style='color:#D55E00'>{exc}</span>"
                return lambda: setattr(error, "value", message)
            except Exception as exc:  # noqa: BLE001 - a drawing thread has no one else to tell
                message = f"<span style='color:#D55E00'>{type(exc).__name__}: {exc}</span>"
                return lambda: setattr(error, "value", message)

            def show() -> None:
                error.value = ""
                state.value, lad.value, summary.value = new.state_svg, new.ladder_image, new.summary_html

            return show

        debounced = _Debounced(draw)
        for w in inputs.values():
            w.observe(debounced, names="value")
        self._redraw = lambda: draw()()
        return widgets.VBox([self._header(list(inputs.values())), body])

    def _build_static(self) -> StaticExplorer:
        """Run every point of the grid and write the explorer as HTML (see :class:`StaticExplorer`)."""
        # Controls with a single grid value stay at their default in the book.
        controls = self.static_controls
        drawn: dict[str, tuple[str, str, str]] = {}
        for point in self.grid():
            values = {c.name: c.default for c in self.controls}
            values.update(zip((c.name for c in controls), point))
            trace = simulate(self.spec.scenario, **self._params(values))
            # Same events, same pictures: e.g. every seed when nothing is lost.
            body = trace.to_dict()
            body.pop("params")
            digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            if digest not in drawn:
                frame = render_frame(trace, phase=self.spec.phase, ladder_options=self.spec.ladder_options, compact=True,
                                     lang=self.lang)
                drawn[digest] = (frame.summary_html, frame.ladder_html(), frame.state_html())
            self.frames[point] = drawn[digest]
        indexed = {tuple(c.grid.index(v) for c, v in zip(controls, point)): html for point, html in self.frames.items()}
        live_only = [c.name for c in self.controls if len(c.grid) == 1]
        if not live_only:
            note = ""
        elif self.lang == "zh":
            note = f" <small>（在可运行的笔记本中还可以调节 {'、'.join(live_only)}）</small>"
        else:
            note = f" <small>(in a live notebook you can also change {', '.join(live_only)})</small>"
        return StaticExplorer(self.title_html(note), [c.static_control(self.lang) for c in controls], indexed,
                              explorer=self)


def stacked_body(lad: widgets.Widget, state: widgets.Widget, summary: widgets.Widget, error: widgets.Widget) -> widgets.Widget:
    """A live explorer's pictures one under the other, each as wide as the output: the
    summary (and any error), the ladder, the state diagram."""
    body = widgets.VBox([widgets.VBox([summary, error]), lad, state], layout=widgets.Layout(width="100%"))
    body.add_class("tcpbook-frame")
    return body


def explore(name: str, *, static: bool | None = None, lang: str | None = None,
            **fixed: Any) -> widgets.Widget | StaticExplorer:
    """The explorer called ``name`` ("handshake", "transfer", "teardown", "syn-flood") as a widget.

    ``fixed`` parameters are passed to every run (a fixed control disappears);
    ``static`` forces the static (precomputed, no kernel) or live mode, which by
    default follows the ``TCPBOOK_STATIC`` environment variable; ``lang`` (``"en"`` or
    ``"zh"``) the language of its words, by default :func:`tcpbook.i18n.language`.
    """
    if name not in SPECS:
        raise ParameterError("name", name, "one of " + ", ".join(SPECS))
    explorer = Explorer(SPECS[name], static=static, lang=lang, **fixed)
    box = explorer.widget()
    box.explorer = explorer  # type: ignore[attr-defined]  # tests and authors can reach the object
    return box


class HandshakeExplorer(Explorer):
    """Loss or a drop rule, SYN and SYN,ACK retries, profile and seed → the handshake."""

    def __init__(self, *, static: bool | None = None, lang: str | None = None, **fixed: Any) -> None:
        super().__init__(lang=lang, spec=SPECS["handshake"], static=static, **fixed)


class TransferExplorer(Explorer):
    """Bytes, MSS, loss, quick and delayed ACKs, and seed → a data transfer."""

    def __init__(self, *, static: bool | None = None, lang: str | None = None, **fixed: Any) -> None:
        super().__init__(lang=lang, spec=SPECS["transfer"], static=static, **fixed)


class TeardownExplorer(Explorer):
    """Who closes first, the other side's delay, loss and TIME-WAIT → the teardown."""

    def __init__(self, *, static: bool | None = None, lang: str | None = None, **fixed: Any) -> None:
        super().__init__(lang=lang, spec=SPECS["teardown"], static=static, **fixed)


class SynFloodExplorer(Explorer):
    """Attack rate, SYN backlog, SYN,ACK retries and SYN cookies → who still gets in."""

    def __init__(self, *, static: bool | None = None, lang: str | None = None, **fixed: Any) -> None:
        super().__init__(lang=lang, spec=SPECS["syn-flood"], static=static, **fixed)


class FlowExplorer(Explorer):
    """Bytes, loss, congestion control, initial window and the reader's speed → a transfer's flights."""

    def __init__(self, *, static: bool | None = None, lang: str | None = None, **fixed: Any) -> None:
        super().__init__(lang=lang, spec=SPECS["flow-and-congestion"], static=static, **fixed)


class ProgramExitExplorer(Explorer):
    """Unread data, SO_LINGER and loss → what reaches the server when the client's program exits."""

    def __init__(self, *, static: bool | None = None, lang: str | None = None, **fixed: Any) -> None:
        super().__init__(lang=lang, spec=SPECS["program-exit"], static=static, **fixed)


class DeadPeerExplorer(Explorer):
    """Keepalive, sending, TCP_USER_TIMEOUT → when the client learns its peer's machine died."""

    def __init__(self, *, static: bool | None = None, lang: str | None = None, **fixed: Any) -> None:
        super().__init__(lang=lang, spec=SPECS["dead-peer"], static=static, **fixed)
