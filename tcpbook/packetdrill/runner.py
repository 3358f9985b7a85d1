"""Run a parsed script against the model: one local endpoint, a scripted remote, one clock.

The stack under test is an :class:`~tcpbook.endpoint.Endpoint` with the ``linux``
profile (or another).  The remote side is the script itself, as in packetdrill: every
``<`` line is a segment it injects, every ``>`` line a segment the endpoint must send.
Time is the simulator's virtual clock (:class:`~tcpbook.simulator.Simulator`, through a
:class:`~tcpbook.network.Network` that delivers at once): the endpoint's timers fire
when they are due, and the script's times say when each line happens.

**Timing, as packetdrill defines it** (``run.c``: ``adjust_relative_event_times``,
``verify_time``; ``config.c``: ``set_default_config``):

* an absolute time (``0.100``) counts from the script's start; the first event must be
  at time 0;
* a relative time (``+0.100``) counts from *now*, the moment the previous event was
  done (for a ``>`` line: when its segment was seen).  Two ``<`` lines in a row are the
  exception: the second is anchored to the first's script time, so injections do not
  drift;
* ``*`` accepts an outbound segment at any time; ``a~b`` and ``+a~+b`` accept it within
  the range;
* the tolerance is ``tolerance_usecs`` (4000 µs by default) or ``tolerance_percent``
  (12.5 % by default) of the time since the previous event's script time, whichever is
  larger — 12.5 % being the worst-case slack of the kernel's timer wheel (commit
  500462a9de65, "timers: Switch to a non-cascading wheel");
* an outbound segment is checked when its ``>`` line is reached: the oldest segment the
  endpoint sent and no line has matched yet must be the one the line describes, sent
  within the tolerance of the line's time — so a segment sent early, or one the script
  did not expect, fails at the next ``>`` line, as in packetdrill, where the sniffed
  packets queue up;
* ``<`` lines and system calls wait for their time (the endpoint's timers run
  meanwhile), then happen;
* a system call written without ``...`` returns before the script goes on: if the model
  would block (``connect()`` on a blocking socket, ``accept()`` with an empty queue,
  ``read()`` with nothing to read) the script waits with it, as packetdrill's main thread
  does.  ``+0...0.5 accept(…)`` is a *blocking* call: it starts at ``+0``, the script goes
  on meanwhile, and it must return at ``0.5`` (within the tolerance, computed from its
  start).  A call may wait for a blocking one for up to 1 s (``await_idle_thread``).

**Sequence numbers** are relative, as in packetdrill's local mode: the remote's are the
script's own (``< S 0:0(0)`` sends ISN 0); the endpoint's are mapped so that its ISN is
the one its first ``> S`` or ``> S.`` line names.  The endpoint's real ISN is 0, so the
trace shows the script's numbers.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..endpoint import Endpoint
from ..events import SegmentEvent
from ..link import Link
from ..network import Network, segment_event
from ..outcome import derive_outcome
from ..profiles import Profile, get_profile
from ..segment import ACK, FIN, PSH, RST, SEQ_SPACE, SYN, Segment
from ..simulator import NS
from ..trace import Trace
from .errors import ScriptSyntaxError
from .parser import parse
from .script import Command, Packet, Script, ScriptEvent, Syscall, TcpOption, TimeKind
from .sockets import ERRNO, Outcome, SocketLayer, check_syscall, errno_text, evaluate

TOLERANCE_USECS = 4000  # packetdrill config.c: config->tolerance_usecs = 4000
TOLERANCE_PERCENT = 12.5  # packetdrill config.c: config->tolerance_percent = 12.5
AWAIT_IDLE = 1.0  # packetdrill run_system_call.c await_idle_thread: MAX_WAIT_SECS = 1
PORT = 8080  # packetdrill config.c: live_bind_port = live_connect_port = 8080
REMOTE_PORT = 40000  # the remote's port when the script listens (packetdrill picks an ephemeral one)
RUN_LIMIT = 10 * 86400.0  # a blocked call or a `*` line waits at most this long (virtual seconds)

_FLAG_LETTERS = {"S": SYN, "F": FIN, "R": RST, "P": PSH, ".": ACK}
_UNMODELLED_FLAGS = {"U": "URG", "E": "ECE", "W": "CWR"}
MODELLED_OPTIONS = frozenset({"mss"})
_OPTION_NAMES = {"nop": "nop (padding)", "eol": "eol", "sackOK": "sackOK (SACK permitted)", "TS": "TS (timestamps)",
                 "wscale": "wscale (window scaling)", "sack": "sack (SACK blocks)", "FO": "FO (TCP Fast Open)",
                 "FOEXP": "FOEXP (TCP Fast Open)", "md5": "md5 (TCP-MD5 signature)"}


def flag_word(flags: int) -> str:
    """A segment's flags in packetdrill's spelling: ``S.``, ``P.``, ``F.``, ``R``, ``.``, ``-``."""
    letters = "".join(letter for letter, bit in (("S", SYN), ("F", FIN), ("R", RST), ("P", PSH)) if flags & bit)
    if flags & ACK:
        letters += "."
    return letters or "-"


@dataclass
class Failure:
    """Where and why a script and the model parted ways."""

    line: int
    text: str  # the script line as written
    field: str  # "flags", "seq", "ack", "win", "payload", "option mss", "time", "result", "errno", …
    expected: str
    actual: str
    detail: str = ""
    at: float | None = None  # virtual time of the mismatch

    @property
    def message(self) -> str:
        text = f"{self.field}: expected {self.expected} but got {self.actual}"
        return f"{text} ({self.detail})" if self.detail else text

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "text": self.text, "field": self.field, "expected": self.expected, "actual": self.actual,
                "detail": self.detail, "t": self.at}


class DrillFailure(Exception):
    """Raised inside the runner at the first mismatch (caught by :func:`run_script`)."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


@dataclass
class DrillResult:
    """What running a script gave: ``passed``, the ``trace`` (up to the failure, if any),
    the ``failure``, and what the run did not check: options the model does not have
    (``ignored_options``: (line, option) pairs), lines that were not run (``skipped``:
    shell commands, code, script options), and segments the endpoint sent that no line
    matched (``unchecked``).  ``seconds`` is the wall-clock time of parsing and running."""

    script: Script
    trace: Trace
    failure: Failure | None
    ignored_options: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    unchecked: list[SegmentEvent] = field(default_factory=list)
    matched: int = 0
    seconds: float = 0.0
    lines: list[str] = field(default_factory=list, repr=False)

    @property
    def passed(self) -> bool:
        return self.failure is None

    @property
    def exit_status(self) -> int:
        """0 when the script passed, 1 on a mismatch (2 is for scripts that cannot be parsed)."""
        return 0 if self.passed else 1

    def summary(self) -> list[str]:
        """The report's lines: verdict, what was checked, what was not."""
        s = self.script
        out = []
        if self.failure is None:
            out.append(f"{s.source}: PASS — {len(s.events)} events, {self.matched} outbound segment{'s' if self.matched != 1 else ''} matched, "
                       f"virtual time {self.trace.outcome.end_time:.6f} s")
        else:
            f = self.failure
            out.append(f"{s.source}:{f.line}: FAIL — {f.message}")
            out.append(f"  script line {f.line}: {f.text.strip()}")
        if self.ignored_options:
            by_option: dict[str, list[int]] = {}
            for line, option in self.ignored_options:
                lines_of = by_option.setdefault(option, [])
                if line not in lines_of:
                    lines_of.append(line)
            listed = "; ".join(f"{option} (line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))})"
                               for option, lines in by_option.items())
            out.append(f"  TCP options not modelled, not checked: {listed}")
        for line, what in self.skipped:
            out.append(f"  skipped line {line}: {what}")
        for seg in self.unchecked:
            out.append(f"  sent after the last line, not checked: {seg.t:.6f} > {flag_word_of(seg)} "
                       f"{seg.seq}:{seg.seq + seg.len}({seg.len})" + (f" ack {seg.ack}" if "ACK" in seg.flags else ""))
        return out

    def to_text(self, *, timers: bool = False) -> str:
        """The run as text (the trace's lines) followed by the drill report."""
        return self.trace.to_text(timers=timers) + "\n".join(f"# {line}" for line in self.summary()) + "\n"


def flag_word_of(event: SegmentEvent) -> str:
    bits = {"SYN": SYN, "FIN": FIN, "RST": RST, "PSH": PSH, "ACK": ACK}
    return flag_word(sum(bits[f] for f in event.flags if f in bits))


class _Wire(Network):
    """A network of one endpoint whose other end is the script: the endpoint's segments
    go to the queue of sent segments (a ``>`` line takes them from there), the script's
    go straight into the endpoint.  Both are on the wire — in the trace — at once."""

    def __init__(self, local: str, *, record_timers: bool) -> None:
        super().__init__(Link(delay=0.0), record_timers=record_timers)
        self.local = local
        self.sent: deque[tuple[Segment, SegmentEvent]] = deque()
        self.after_input: Callable[[], None] = lambda: None

    def _transmit(self, segment: Segment, retransmission: bool) -> None:  # noqa: D401 - overrides Network's
        now = self.sim.now
        event = segment_event(segment, now, retransmission, now)
        self.events.append(event)
        self.segments_sent += 1
        if segment.src == self.local:
            self.sent.append((segment, event))
        else:
            endpoint = self.endpoints[self.local]
            endpoint.receive(segment, now)
            self._flush(endpoint)


class Runner:
    """One run of one script (use :func:`run_script`)."""

    def __init__(self, script: Script, profile: Profile, *, tolerance_usecs: int, tolerance_percent: float,
                 strict_options: bool, record_timers: bool, lines: list[str]) -> None:
        self.script = script
        self.profile = profile
        self.tolerance_usecs = tolerance_usecs
        self.tolerance_percent = tolerance_percent
        self.strict_options = strict_options
        self.lines = lines
        self.local, self.remote = _roles(script)
        self.net = _Wire(self.local, record_timers=record_timers)
        self.endpoint = self.net.add(Endpoint(self.local, profile, isn=0))
        self.sockets = SocketLayer(self.endpoint, self.remote, PORT, self.net.flush)
        self.net.apps[self.local].append(self.sockets)
        self.ignored: list[tuple[int, str]] = []
        self.skipped: list[tuple[int, str]] = []
        self.matched = 0
        self.last_script_us: int | None = None  # the previous event's script time
        self.last_inbound = False
        self.pending: tuple[ScriptEvent, Syscall, Callable[[float], Outcome | None], int] | None = None
        self.live_isn: int | None = None  # the endpoint's ISN, once its SYN was matched
        self.script_isn = 0

    # -- the clock -------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.net.sim.now

    @property
    def now_us(self) -> int:
        return self.net.sim.now_ns // 1000

    def step(self, limit_s: float) -> bool:
        """Run the next instant on the clock if it is at or before ``limit_s``; False when
        nothing is due by then (the clock then stands at ``limit_s``, if that is later)."""
        sim = self.net.sim
        due = sim.peek()
        if due is None or due > limit_s + 1e-12:
            if sim.now < limit_s < float("inf"):
                sim.schedule(limit_s, _nothing)  # the clock moves on even when nothing is due
                sim.run(until=limit_s)
            return False
        sim.run(until=due)
        self.poll_pending()
        return True

    def run_until(self, t_s: float) -> None:
        """Let the endpoint's timers run up to ``t_s`` (one instant at a time)."""
        while self.step(t_s):
            pass

    # -- times -------------------------------------------------------------------------------

    def resolve(self, event: ScriptEvent) -> tuple[int, int | None]:
        """The event's script time (and range end) in µs (packetdrill adjust_relative_event_times)."""
        t = event.time
        if t.kind is TimeKind.ABSOLUTE or t.kind is TimeKind.ABSOLUTE_RANGE:
            return t.start, t.end
        inbound = isinstance(event.action, Packet) and event.action.inbound
        if self.last_inbound and inbound and self.last_script_us is not None:
            offset = self.last_script_us
        else:
            offset = self.now_us
        return offset + t.start, (offset + t.end if t.end is not None else None)

    def tolerance(self, script_us: int, since_us: int | None) -> int:
        """packetdrill verify_time: tolerance_usecs, or tolerance_percent of the time since the previous event."""
        tol = self.tolerance_usecs
        if since_us is not None:
            tol = max(tol, int(self.tolerance_percent / 100.0 * (script_us - since_us)))
        return tol

    def check_time(self, event: ScriptEvent, what: str, start_us: int, end_us: int | None, actual_us: int, since_us: int | None) -> None:
        if event.time.kind is TimeKind.ANY:
            return
        tol = self.tolerance(start_us, since_us)
        low, high = start_us - tol, (end_us if end_us is not None else start_us) + tol
        if low <= actual_us <= high:
            return
        if end_us is not None:
            expected = f"{what} in time range {start_us / 1e6:.6f}~{end_us / 1e6:.6f} s (tolerance {tol / 1e6:.6f} s)"
        else:
            expected = f"{what} at {start_us / 1e6:.6f} s (tolerance {tol / 1e6:.6f} s)"
        early = actual_us < low
        self.fail(event, "time", expected, f"{actual_us / 1e6:.6f} s", "too early" if early else "too late", at=actual_us / 1e6)

    # -- failures -------------------------------------------------------------------------------

    def text_of(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def fail(self, event: ScriptEvent, field_name: str, expected: str, actual: str, detail: str = "", *, at: float | None = None) -> None:
        raise DrillFailure(Failure(event.line, self.text_of(event.line), field_name, expected, actual, detail,
                                   self.now if at is None else at))

    # -- the script -------------------------------------------------------------------------

    def run(self) -> None:
        for event in self.script.events:
            start_us, end_us = self.resolve(event)
            since = self.last_script_us
            action = event.action
            if isinstance(action, Packet) and not action.inbound:
                self.expect(event, action, start_us, end_us, since)
            elif isinstance(action, Packet):
                self.wait_for(event, start_us, since, "inbound packet")
                self.inject(event, action)
            elif isinstance(action, Syscall):
                self.syscall(event, action, start_us, since)
            else:
                self.wait_for(event, start_us, since, "command" if isinstance(action, Command) else "code")
                what = "shell command, not run" if isinstance(action, Command) else "packetdrill code snippet, not run"
                self.skipped.append((event.line, f"{what}: {action}"))
            self.last_script_us = start_us
            self.last_inbound = isinstance(action, Packet) and action.inbound
        if self.pending is not None:
            self.await_pending()
            if self.pending is not None:
                event = self.pending[0]
                self.fail(event, "blocking call", f"{self.pending[1].name}() to return before the script ends",
                          "still blocked", "exiting while a blocking system call is in progress")

    def wait_for(self, event: ScriptEvent, start_us: int, since: int | None, what: str) -> None:
        """packetdrill wait_for_event: run the clock to the event's time and check it."""
        if start_us > self.now_us:
            self.run_until(start_us / 1e6)
        self.check_time(event, f"{what} start", start_us, None, self.now_us, since)

    # -- packets -----------------------------------------------------------------------------

    def inject(self, event: ScriptEvent, p: Packet) -> None:
        flags = 0
        for letter in p.flags.replace("-", ""):
            if letter in _FLAG_LETTERS:
                flags |= _FLAG_LETTERS[letter]
            else:
                self.ignored.append((event.line, f"{_UNMODELLED_FLAGS[letter]} flag"))
        mss = None
        for option in p.options or ():
            if option.kind == "mss":
                mss = int(option.values[0])
            else:
                self.ignored.append((event.line, _OPTION_NAMES.get(option.kind, option.kind)))
        offset = 0 if self.live_isn is None else self.live_isn - self.script_isn
        ack = (p.ack + offset) % SEQ_SPACE if p.ack is not None and flags & ACK else 0
        local_port, remote_port = self.ports()
        seg = Segment(self.remote, self.local, remote_port, local_port, p.seq, ack, flags, bytes(p.length), p.window or 0, mss)
        self.net._transmit(seg, False)  # noqa: SLF001 - the script is the remote host: it puts its segment on the wire

    def ports(self) -> tuple[int, int]:
        """(local, remote) port of the connection under test."""
        conns = self.endpoint.all_connections
        if conns:
            conn = conns[-1]
            return conn.local_port, conn.peer_port
        if self.local == "server":
            return PORT, REMOTE_PORT
        return self.endpoint._next_port, PORT  # noqa: SLF001 - the port connect() will take

    def expect(self, event: ScriptEvent, p: Packet, start_us: int, end_us: int | None, since: int | None) -> None:
        """A ``>`` line: the oldest unmatched segment the endpoint sent must be this one."""
        if event.time.kind is TimeKind.ANY:
            limit = self.now + RUN_LIMIT
        else:
            limit = ((end_us if end_us is not None else start_us) + self.tolerance(start_us, since)) / 1e6
        while not self.net.sent and self.net.sim.peek() is not None:
            if not self.step(limit):
                break
        if not self.net.sent and event.time.kind is not TimeKind.ANY:
            # nothing by the line's time: run on, so that a late segment is reported as late
            # (packetdrill: "timing error ... but happened at …") rather than as missing
            late_limit = self.now + RUN_LIMIT
            while not self.net.sent and self.net.sim.peek() is not None and self.step(late_limit):
                pass
        if not self.net.sent:
            nxt = self.net.sim.peek()
            why = "nothing left to happen" if nxt is None else f"the next event is due at {nxt:.6f} s"
            when = "" if event.time.kind is TimeKind.ANY else f" by {limit:.6f} s"
            self.fail(event, "segment", f"> {_describe(p)}", f"nothing sent{when}", why)
        seg, record = self.net.sent.popleft()
        self.match(event, p, seg, record)
        self.check_time(event, "outbound packet", start_us, end_us, round(record.t * NS) // 1000, since)
        self.matched += 1

    def match(self, event: ScriptEvent, p: Packet, seg: Segment, record: SegmentEvent) -> None:
        at = record.t
        actual = self.describe_actual(seg)

        def mismatch(field_name: str, expected: str, got: str, detail: str = "") -> None:
            self.fail(event, field_name, expected, got, detail or f"the stack sent {actual} at {at:.6f} s", at=at)

        want_flags = 0
        for letter in p.flags.replace("-", ""):
            if letter in _UNMODELLED_FLAGS:
                mismatch("flags", p.flags, flag_word(seg.flags), f"the model never sets {_UNMODELLED_FLAGS[letter]} (no ECN, no urgent data)")
            want_flags |= _FLAG_LETTERS[letter]
        if want_flags & SYN and seg.flags & SYN and self.live_isn is None:
            self.live_isn, self.script_isn = seg.seq, p.seq  # packetdrill: the first SYN line fixes the ISN mapping
        if (seg.flags & 0x1F) != want_flags:
            mismatch("flags", p.flags, flag_word(seg.flags))
        if len(seg.payload) != p.length:
            mismatch("payload", f"{p.length} bytes", f"{len(seg.payload)} bytes")
        seq = self.script_seq(seg.seq)
        if seq != p.seq:
            mismatch("seq", str(p.seq), str(seq))
        if want_flags & ACK and p.ack is not None and seg.ack != p.ack:
            mismatch("ack", str(p.ack), str(seg.ack))
        if p.window is not None and seg.window != p.window:
            mismatch("win", str(p.window), str(seg.window))
        if p.options is not None:
            self.match_options(event, p.options, seg, mismatch)

    def match_options(self, event: ScriptEvent, options: tuple[TcpOption, ...], seg: Segment, mismatch: Callable[..., None]) -> None:
        wanted_mss = [int(o.values[0]) for o in options if o.kind == "mss"]
        for option in options:
            if option.kind in MODELLED_OPTIONS:
                continue
            name = _OPTION_NAMES.get(option.kind, option.kind)
            if self.strict_options:
                mismatch(f"option {option.kind}", str(option), "an option the model does not have",
                         "--strict-options: every option on a > line must be checked")
            self.ignored.append((event.line, name))
        if wanted_mss and seg.mss is None:
            mismatch("option mss", f"mss {wanted_mss[0]}", "no MSS option")
        if wanted_mss and seg.mss != wanted_mss[0]:
            mismatch("option mss", f"mss {wanted_mss[0]}", f"mss {seg.mss}")
        if not wanted_mss and seg.mss is not None:
            mismatch("options", "no mss option" if options else "no options",
                     f"<mss {seg.mss}>", "the segment carries an option the line does not list (write <...> to skip the check)")

    def script_seq(self, live: int) -> int:
        if self.live_isn is None:
            return live
        return (live - self.live_isn + self.script_isn) % SEQ_SPACE

    def describe_actual(self, seg: Segment) -> str:
        seq = self.script_seq(seg.seq)
        text = f"{flag_word(seg.flags)} {seq}:{seq + len(seg.payload)}({len(seg.payload)})"
        if seg.flags & ACK:
            text += f" ack {seg.ack}"
        text += f" win {seg.window}"
        if seg.mss is not None:
            text += f" <mss {seg.mss}>"
        return text

    # -- system calls -------------------------------------------------------------------------

    def syscall(self, event: ScriptEvent, call: Syscall, start_us: int, since: int | None) -> None:
        # packetdrill run.c: wait_for_event() first, then run_system_call() awaits the idle thread
        self.wait_for(event, start_us, since, "system call start")
        if self.pending is not None:
            self.await_pending()
            if self.pending is not None and call.end is not None:
                self.fail(event, "blocking call", "the earlier blocking call to have returned",
                          f"{self.pending[1].name}() still blocked",
                          "blocking system call while another blocking system call is already in progress")
        outcome = self.sockets.call(call, self.now)
        if call.end is not None:  # a blocking call: the script goes on while it waits
            end_us = call.end + (start_us - event.time.start if event.time.relative else 0)
            waiter = outcome if callable(outcome) else (lambda t, o=outcome: o)
            self.pending = (event, call, waiter, end_us)
            self.poll_pending()
            return
        if callable(outcome):  # the model blocks: so does the script (packetdrill's main thread)
            waiter = outcome
            limit = self.now + RUN_LIMIT
            while True:
                result = waiter(self.now)
                if result is not None:
                    outcome = result
                    break
                if self.net.sim.peek() is None or not self.step(limit):
                    self.fail(event, "result", str(call.result), f"{call.name}() blocked forever",
                              "nothing left in the simulation can wake it; write ...TIME for a blocking call or use O_NONBLOCK")
        self.check_result(event, call, outcome)

    def poll_pending(self) -> None:
        if self.pending is None:
            return
        event, call, waiter, end_us = self.pending
        outcome = waiter(self.now)
        if outcome is None:
            return
        self.pending = None
        self.net.flush()
        self.check_result(event, call, outcome)
        self.check_time(event, "system call return", end_us, None, self.now_us, self._blocking_start(event, end_us, call))

    @staticmethod
    def _blocking_start(event: ScriptEvent, end_us: int, call: Syscall) -> int:
        """The blocking call's start in script time (for the dynamic tolerance: 12.5 % of its duration)."""
        assert call.end is not None
        return end_us - (call.end - event.time.start)

    def await_pending(self) -> None:
        """packetdrill await_idle_thread: let a blocking call finish, for up to one second."""
        limit = self.now + AWAIT_IDLE
        while self.pending is not None and self.step(limit):
            pass

    def check_result(self, event: ScriptEvent, call: Syscall, outcome: Outcome) -> None:
        expected = call.result
        fd_like = call.name in ("socket", "accept")
        ok = (outcome.value >= 0) if (fd_like and expected >= 0) else outcome.value == expected
        if not ok:
            got = f"{outcome.value}" + (f" with errno {errno_text(outcome.errno)}" if outcome.errno else "")
            self.fail(event, "result", f"{expected}" + (f" {call.errno}" if call.errno else ""), got, f"{call.name}() returned")
        if call.errno is not None and call.errno != outcome.errno and ERRNO[call.errno][0] != ERRNO.get(outcome.errno or "", (0,))[0]:
            self.fail(event, "errno", errno_text(call.errno), errno_text(outcome.errno) if outcome.errno else "0 (Success)",
                      f"{call.name}() returned {outcome.value}")
        if outcome.check is not None:
            problem = outcome.check()
            if problem:
                self.fail(event, problem[0], problem[1], problem[2], "the option value getsockopt() wrote")

    # -- the record -------------------------------------------------------------------------

    def trace(self, failure: Failure | None, *, source: str) -> Trace:
        stats: dict[str, Any] = {
            "script": source,
            "verdict": "pass" if failure is None else "fail",
            "events": len(self.script.events),
            "segments_matched": self.matched,
        }
        if failure is not None:
            stats["failure"] = failure.to_dict()
        if self.ignored:
            stats["options_not_checked"] = sorted({option for _, option in self.ignored})
        params = {"scenario": "drill", "script": source, "profile": self.profile.name,
                  "tolerance_usecs": self.tolerance_usecs, "tolerance_percent": self.tolerance_percent}
        events = self.net.events
        order = ("client", "server")
        ledgers = {self.local: self.endpoint.ledger}
        return Trace(params, events, endpoints=order,
                     derive=lambda: derive_outcome(events, [self.local], ledgers, stats=stats))


def _nothing() -> None:
    """An empty event: it only makes the clock reach its time."""


def _describe(p: Packet) -> str:
    return str(p)[2:]


def _roles(script: Script) -> tuple[str, str]:
    """(local, remote): the endpoint is the ``client`` if the script connects before it
    listens, else the ``server`` (a script that only injects segments tests the side
    that answers them)."""
    for event in script.events:
        action = event.action
        if isinstance(action, Syscall) and action.name in ("connect", "listen"):
            return ("client", "server") if action.name == "connect" else ("server", "client")
    return "server", "client"


# -- checks before running ----------------------------------------------------------------------


def validate(script: Script) -> None:
    """packetdrill's static rules and tcpbook's limits, before anything runs (exit 2)."""
    events = script.events
    if events and events[0].time.start != 0:
        raise ScriptSyntaxError(events[0].line, "first event should be at time 0", source=script.source)
    previous = None
    open_fds: set[int] = set()
    for event in events:
        action = event.action
        t = event.time
        if previous is not None and t.kind is TimeKind.ABSOLUTE and previous.time.kind is TimeKind.ABSOLUTE and t.start < previous.time.start:
            raise ScriptSyntaxError(event.line, f"time goes backward in script from {previous.time.start / 1e6:g} s to {t.start / 1e6:g} s",
                                    source=script.source)
        if isinstance(action, Syscall):
            try:
                check_syscall(action, event.line)
            except ScriptSyntaxError as exc:
                raise exc.located(script.source) from None
            _check_fds(action, event.line, open_fds, script.source)
        previous = event


def _check_fds(call: Syscall, line: int, open_fds: set[int], source: str) -> None:
    if call.name == "socket":
        if call.result >= 0:
            open_fds.add(call.result)
        return
    fd = evaluate(call.args[0])
    if not isinstance(fd, int):
        raise ScriptSyntaxError(line, f"{call.name}()'s first argument must be a file descriptor, not {call.args[0]}", source=source)
    if fd not in open_fds and call.errno != "EBADF":
        raise ScriptSyntaxError(line, f"fd {fd} was not returned by socket() or accept() (open: {sorted(open_fds) or 'none'})",
                                source=source)
    if call.name == "accept" and call.result >= 0:
        open_fds.add(call.result)
    if call.name == "close" and call.result == 0:
        open_fds.discard(fd)


# -- the entry point ----------------------------------------------------------------------------


def run_script(
    script_or_text: Script | str,
    *,
    source: str = "<script>",
    profile: str | Profile = "linux",
    tolerance_usecs: int | None = None,
    tolerance_percent: float | None = None,
    strict_options: bool = False,
    record_timers: bool = True,
    **overrides: Any,
) -> DrillResult:
    """Parse (if given text) and run a script; see :func:`tcpbook.drill`."""
    began = time.perf_counter()
    text = script_or_text if isinstance(script_or_text, str) else ""
    script = parse(script_or_text, source) if isinstance(script_or_text, str) else script_or_text
    validate(script)
    options = dict(script.options)
    skipped: list[tuple[int, str]] = [(line, f"shell command, not run: {cmd}") for line, cmd in script.commands]
    if tolerance_usecs is None:
        tolerance_usecs = _script_number(script, options.pop("tolerance_usecs", None), "tolerance_usecs", int, TOLERANCE_USECS)
    else:
        options.pop("tolerance_usecs", None)
    if tolerance_percent is None:
        tolerance_percent = _script_number(script, options.pop("tolerance_percent", None), "tolerance_percent", float, TOLERANCE_PERCENT)
    else:
        options.pop("tolerance_percent", None)
    for name, value in options.items():
        skipped.append((script.option_lines.get(name, 1), f"packetdrill option --{name}={value}, not used by tcpbook"))
    runner = Runner(script, get_profile(profile, **overrides), tolerance_usecs=tolerance_usecs, tolerance_percent=tolerance_percent,
                    strict_options=strict_options, record_timers=record_timers, lines=text.splitlines())
    runner.skipped.extend(skipped)
    failure = None
    try:
        runner.run()
    except DrillFailure as exc:
        failure = exc.failure
    runner.net.flush()
    unchecked = [] if failure is not None else [record for _, record in runner.net.sent]
    trace = runner.trace(failure, source=script.source)
    return DrillResult(script, trace, failure, runner.ignored, sorted(runner.skipped), unchecked, runner.matched,
                       time.perf_counter() - began, text.splitlines())


def _script_number(script: Script, raw: str | None, name: str, kind: type, default: Any) -> Any:
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ScriptSyntaxError(script.option_lines.get(name, 1), f"--{name}={raw} is not a number", source=script.source) from None
    if value < 0:
        raise ScriptSyntaxError(script.option_lines.get(name, 1), f"--{name}={raw} must not be negative", source=script.source)
    return value


__all__ = ["DrillResult", "Failure", "run_script", "validate"]
