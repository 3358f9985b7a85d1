"""Which timelines a ladder draws, and how its labels say times — shared by the picture
(:mod:`tcpbook.render.ladderdiagram`, matplotlib) and the text ladder
(:mod:`tcpbook.render.textladder`, plain Python: it never imports matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ParameterError
from ..trace import Trace
from ..vocabulary import Timer


class _TimerNames(dict):
    """How a ladder labels each timer; a timer kind it does not know keeps its own name."""

    def __missing__(self, kind: str) -> str:
        return str(kind)


TIMER_NAMES: dict[str, str] = _TimerNames(
    {
        Timer.RTO: "RTO",
        Timer.TLP: "loss probe",
        Timer.TIME_WAIT: "TIME-WAIT",
        Timer.DELAYED_ACK: "delayed ACK",
        Timer.PERSIST: "persist",
        Timer.KEEPALIVE: "keepalive",
        Timer.FIN_WAIT_2: "FIN-WAIT-2 timeout",
    }
)
#: Lane order of the timers (every member of the vocabulary, the RTO nearest the lifeline).
TIMER_ORDER: tuple[str, ...] = tuple(
    sorted(Timer, key=lambda t: (Timer.RTO, Timer.TLP, Timer.DELAYED_ACK, Timer.PERSIST, Timer.KEEPALIVE,
                                 Timer.FIN_WAIT_2, Timer.TIME_WAIT).index(t) if t in TIMER_NAMES else 99)
)
SPOOFED = "spoofed"  # the lane all spoofed sources of a SYN flood share


def timer_name(kind: str) -> str:
    """A timer's name in a picture: ``RTO``, ``TIME-WAIT`` …; any other kind from its own
    words (``keepalive`` → ``keepalive``, ``user-timeout`` → ``user timeout``)."""
    return TIMER_NAMES.get(str(kind), str(kind).replace("-", " ").replace("_", " "))


def timer_rank(kind: str) -> tuple[int, str]:
    """Where timer ``kind`` goes among the timer lanes: in :data:`TIMER_ORDER`, an unknown
    kind after them (unknown kinds by name, so the order never depends on a set's)."""
    kind = str(kind)
    return (TIMER_ORDER.index(kind) if kind in TIMER_ORDER else len(TIMER_ORDER), kind)


def fmt_duration(seconds: float) -> str:
    """1 s, 40 ms, 1.5 s, 2 min — the way a person says it."""
    if seconds >= 120 and abs(seconds / 60 - round(seconds / 60)) < 1e-9:
        return f"{seconds / 60:g} min"
    if seconds >= 1:
        return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"
    if seconds >= 0.001:
        return f"{seconds * 1000:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def fmt_time(t: float) -> str:
    """A time stamp short enough for the margin: 0.15, 1.05, 60.4."""
    text = f"{t:.3f}".rstrip("0").rstrip(".")
    return text or "0"


# --------------------------------------------------------------------------- lanes


def choose_lanes(trace: Trace, endpoints: Sequence[str] | None, max_clients: int = 4) -> list[str]:
    """The timelines to draw, left to right.  Spoofed sources share one lane; of many
    clients the first ``max_clients`` are drawn."""
    segments = trace.segments
    names = list(trace.endpoints) or sorted({s.src for s in segments} | {s.dst for s in segments})
    spoofed = any(s.src.startswith(SPOOFED) or s.dst.startswith(SPOOFED) for s in segments)
    if endpoints is not None:
        if isinstance(endpoints, str) or not all(isinstance(e, str) for e in endpoints) or not endpoints:
            raise ParameterError("endpoints", endpoints, "a non-empty list of endpoint names")
        allowed = [*names, SPOOFED]  # the spoofed lane may be empty (a flood of rate 0)
        for e in endpoints:
            if e not in allowed:
                raise ParameterError("endpoints", e, "one of " + ", ".join(allowed))
        return list(endpoints)
    real = [n for n in names if not n.startswith(SPOOFED)]
    if len(real) <= 2 and not spoofed:
        return sorted(real, key=lambda n: (n != "client", n))
    clients = [n for n in real if n != "server"][:max_clients]
    lanes = ([SPOOFED] if spoofed else []) + (["server"] if "server" in real else []) + clients
    return lanes


def lane_of(name: str, lanes: list[str]) -> int | None:
    """The lane of endpoint ``name`` (spoofed sources: the spoofed lane), or None."""
    if name in lanes:
        return lanes.index(name)
    if name.startswith(SPOOFED) and SPOOFED in lanes:
        return lanes.index(SPOOFED)
    return None
