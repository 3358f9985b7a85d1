"""A parsed packetdrill script: events, each with its time, line and action.

The shapes follow packetdrill's grammar (``parser.y``): a script is options, then events;
an event is an *event time* and an *action* — a packet (``<`` injected, ``>`` expected),
a system call with its expected result, a shell command or a code snippet.

Times are kept as microseconds, as packetdrill keeps them (``time: FLOAT`` becomes
``(s64)(secs * 1e6)``), so that ``+.3`` is exactly 300000 and comparisons never suffer
from floating point.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class TimeKind(enum.Enum):
    """How an event's time is written (packetdrill ``enum event_time_t``)."""

    ABSOLUTE = "absolute"  # 0.100        — seconds since the script started
    RELATIVE = "relative"  # +0.100       — seconds after the previous event
    ANY = "any"  # *            — any time (outbound packets only)
    ABSOLUTE_RANGE = "absolute range"  # 0.1~0.2  (outbound packets only)
    RELATIVE_RANGE = "relative range"  # +0.1~+0.2 (outbound packets only)


@dataclass(frozen=True, slots=True)
class EventTime:
    """When an event happens: ``start`` (and ``end`` for ranges) in microseconds."""

    kind: TimeKind
    start: int = 0
    end: int | None = None

    @property
    def relative(self) -> bool:
        return self.kind in (TimeKind.RELATIVE, TimeKind.RELATIVE_RANGE)

    def __str__(self) -> str:
        def s(us: int) -> str:
            return f"{us / 1e6:g}"

        if self.kind is TimeKind.ANY:
            return "*"
        if self.kind is TimeKind.ABSOLUTE:
            return s(self.start)
        if self.kind is TimeKind.RELATIVE:
            return f"+{s(self.start)}"
        if self.kind is TimeKind.ABSOLUTE_RANGE:
            return f"{s(self.start)}~{s(self.end or 0)}"
        return f"+{s(self.start)}~+{s(self.end or 0)}"


@dataclass(frozen=True, slots=True)
class TcpOption:
    """One TCP option as written: ``kind`` (``mss``, ``sackOK``, ``TS``, ``nop``, ``wscale``,
    ``eol``, ``sack``, ``FO``, ``md5``) and its values (``mss 1460`` → ``(1460,)``;
    ``TS val 100 ecr 0`` → ``(100, 0)``; ``sack 1:10 20:30`` → ``(1, 10, 20, 30)``)."""

    kind: str
    values: tuple[int | str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "TS":
            return f"TS val {self.values[0]} ecr {self.values[1]}"
        if self.kind == "sack":
            pairs = zip(self.values[::2], self.values[1::2])
            return "sack " + " ".join(f"{a}:{b}" for a, b in pairs)
        return " ".join([self.kind, *(str(v) for v in self.values)])


@dataclass(frozen=True, slots=True)
class Packet:
    """A TCP segment line: ``<`` (``inbound``: the script injects it) or ``>`` (the stack
    under test must send it).

    ``flags`` is the flag word as written (``S``, ``S.``, ``P.``, ``F.``, ``R``, ``.``,
    ``-``); ``seq`` and ``end`` the relative sequence numbers ``start:end(len)``;
    ``ack`` and ``window`` are None when not written (a ``>`` line then does not check
    them); ``options`` is None for ``<...>`` (do not check), else the list (empty when
    no options were written: the segment must carry none).
    """

    inbound: bool
    flags: str
    seq: int
    end: int
    ack: int | None
    window: int | None
    options: tuple[TcpOption, ...] | None

    @property
    def length(self) -> int:
        return self.end - self.seq

    def __str__(self) -> str:
        text = f"{'<' if self.inbound else '>'} {self.flags} {self.seq}:{self.end}({self.length})"
        if self.ack is not None:
            text += f" ack {self.ack}"
        if self.window is not None:
            text += f" win {self.window}"
        if self.options is None:
            text += " <...>"
        elif self.options:
            text += " <" + ",".join(str(o) for o in self.options) + ">"
        return text


# -- system call expressions ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ellipsis_:
    """``...`` — "don't care" (an argument tcpbook fills in, or does not check)."""

    def __str__(self) -> str:
        return "..."


ELLIPSIS = Ellipsis_()


@dataclass(frozen=True, slots=True)
class Symbol:
    """A name such as ``SOCK_STREAM`` or ``O_NONBLOCK`` (its value is looked up when run)."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class BitOr:
    """``A|B``."""

    left: Any
    right: Any

    def __str__(self) -> str:
        return f"{self.left}|{self.right}"


@dataclass(frozen=True, slots=True)
class Assign:
    """``name=value`` inside braces (``{onoff=1, linger=0}``)."""

    name: str
    value: Any

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


@dataclass(frozen=True, slots=True)
class Call:
    """``htons(8080)``, ``inet_addr("192.0.2.1")`` inside a sockaddr."""

    name: str
    args: tuple[Any, ...]

    def __str__(self) -> str:
        return f"{self.name}({', '.join(str(a) for a in self.args)})"


@dataclass(frozen=True, slots=True)
class ArrayExpr:
    """``[1]`` — a pointer to a value (``setsockopt``'s option value, ``getsockopt``'s output)."""

    items: tuple[Any, ...]

    def __str__(self) -> str:
        return "[" + ", ".join(str(i) for i in self.items) + "]"


@dataclass(frozen=True, slots=True)
class StructExpr:
    """``{onoff=1, linger=0}`` or ``{sa_family=AF_INET, …}``."""

    items: tuple[Any, ...]

    def field(self, name: str) -> Any:
        for item in self.items:
            if isinstance(item, Assign) and item.name == name:
                return item.value
        return None

    def __str__(self) -> str:
        return "{" + ", ".join(str(i) for i in self.items) + "}"


@dataclass(frozen=True, slots=True)
class Syscall:
    """``name(args) = result [ERRNO (note)]``; ``end`` is the blocking call's return time
    (``+0...0.1 accept(…)``: it starts at ``+0`` and returns at ``0.1``), None for a call
    written as non-blocking."""

    name: str
    args: tuple[Any, ...]
    result: Any
    errno: str | None = None
    note: str | None = None
    end: int | None = None

    def __str__(self) -> str:
        text = f"{self.name}({', '.join(str(a) for a in self.args)}) = {self.result}"
        if self.errno:
            text += f" {self.errno}"
        if self.note:
            text += f" ({self.note})"
        return text


@dataclass(frozen=True, slots=True)
class Command:
    """A shell command in backquotes (``sysctl -q net.ipv4.tcp_syn_retries=2``): never run."""

    text: str

    def __str__(self) -> str:
        return f"`{self.text}`"


@dataclass(frozen=True, slots=True)
class Code:
    """A ``%{ … }%`` snippet of Python that packetdrill runs after the test: never run."""

    text: str

    def __str__(self) -> str:
        return "%{ " + " ".join(self.text.split())[:60] + " }%"


Action = Packet | Syscall | Command | Code


@dataclass(frozen=True, slots=True)
class ScriptEvent:
    """One event of the script: where it is (``line``), when (``time``) and what (``action``)."""

    line: int
    time: EventTime
    action: Action

    def __str__(self) -> str:
        action = self.action
        if isinstance(action, Syscall) and action.end is not None:
            return f"{self.time}...{action.end / 1e6:g} {action}"
        return f"{self.time} {action}"


@dataclass
class Script:
    """A parsed script: its ``events`` in order, the ``--options`` it sets, and the
    commands outside any event (an init command before the first event, a cleanup
    command after the last), which tcpbook reports and never runs."""

    events: list[ScriptEvent]
    options: dict[str, str] = field(default_factory=dict)
    option_lines: dict[str, int] = field(default_factory=dict)
    commands: list[tuple[int, Command]] = field(default_factory=list)
    source: str = "<script>"

    def __len__(self) -> int:
        return len(self.events)
