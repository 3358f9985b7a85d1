"""The network between endpoints: delay, random loss and deterministic drop rules.

A :class:`Link` decides, for each segment handed to it, whether it arrives and when.
It owns the only randomness of a run — a :class:`random.Random` seeded from ``seed`` —
so the same parameters and seed give the same losses, every time.

Drop rules
----------
One text syntax, used by the Python API, the command line and the explorers::

    SENDER:KIND[:N]

* ``SENDER`` — ``client``, ``server`` or another endpoint's name;
* ``KIND`` — ``SYN``, ``SYN-ACK``, ``ACK`` (a pure ACK: no data, SYN, FIN or RST),
  ``DATA`` (carries payload), ``FIN`` (any FIN), ``FIN-ACK`` (a FIN with ACK set), ``RST``
  or ``ANY``;
* ``N`` — which occurrence of that kind from that sender, 1-based (default 1), or ``*``
  for every one.

``server:SYN-ACK:*`` — the server's SYN,ACKs never arrive; ``client:ACK:1`` — the
handshake's final ACK is lost; ``client:DATA:3`` — the third data segment is lost.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from .errors import ParameterError, check_nonnegative, check_probability
from .segment import ACK, FIN, RST, SYN, Segment

KINDS = ("SYN", "SYN-ACK", "ACK", "DATA", "FIN", "FIN-ACK", "RST", "ANY")
_RULE_RE = re.compile(r"^([A-Za-z][\w.-]*):([A-Za-z-]+)(?::(\*|\d+))?$")
_RULE_HELP = "SENDER:KIND[:N] with KIND one of " + ", ".join(KINDS) + " and N a number >= 1 or *"


def segment_matches(segment: Segment, kind: str) -> bool:
    """Does ``segment`` count as a ``kind`` for drop rules?"""
    f = segment.flags
    if kind == "ANY":
        return True
    if kind == "SYN":
        return bool(f & SYN) and not f & ACK
    if kind == "SYN-ACK":
        return bool(f & SYN) and bool(f & ACK)
    if kind == "RST":
        return bool(f & RST)
    if kind == "FIN":
        return bool(f & FIN)
    if kind == "FIN-ACK":
        return bool(f & FIN) and bool(f & ACK)
    if kind == "DATA":
        return bool(segment.payload)
    if kind == "ACK":
        return bool(f & ACK) and not segment.payload and not f & (SYN | FIN | RST)
    raise ParameterError("kind", kind, "one of " + ", ".join(KINDS))


@dataclass
class DropRule:
    """Drop the ``occurrence``-th segment of ``kind`` sent by ``sender`` (None: every one)."""

    sender: str
    kind: str
    occurrence: int | None = 1
    seen: int = field(default=0, compare=False)

    @classmethod
    def parse(cls, text: str) -> DropRule:
        """Parse ``SENDER:KIND[:N]``; raise :class:`ParameterError` naming what is wrong."""
        if not isinstance(text, str):
            raise ParameterError("drop", text, _RULE_HELP)
        m = _RULE_RE.match(text.strip())
        if not m:
            raise ParameterError("drop", text, _RULE_HELP)
        sender, kind, n = m.group(1), m.group(2).upper(), m.group(3)
        if kind not in KINDS:
            raise ParameterError("drop", text, _RULE_HELP)
        if n is None:
            occurrence: int | None = 1
        elif n == "*":
            occurrence = None
        else:
            occurrence = int(n)
            if occurrence < 1:
                raise ParameterError("drop", text, _RULE_HELP)
        return cls(sender, kind, occurrence)

    def __str__(self) -> str:
        return f"{self.sender}:{self.kind}:{'*' if self.occurrence is None else self.occurrence}"

    def fresh(self) -> DropRule:
        return DropRule(self.sender, self.kind, self.occurrence)

    def check(self, segment: Segment) -> bool:
        """Count ``segment`` if it is of this rule's kind; True if it must be dropped."""
        if segment.src != self.sender or not segment_matches(segment, self.kind):
            return False
        self.seen += 1
        return self.occurrence is None or self.seen == self.occurrence


def parse_drop_rules(rules: str | list[str] | tuple[str, ...] | None) -> list[DropRule]:
    """Accept one rule, a comma-separated string of rules, or a list of them."""
    if rules is None:
        return []
    if isinstance(rules, (DropRule,)):
        return [rules.fresh()]
    if isinstance(rules, str):
        rules = [r for r in rules.split(",") if r.strip()]
    if not isinstance(rules, (list, tuple)):
        raise ParameterError("drop", rules, "a list of rules " + _RULE_HELP)
    return [r.fresh() if isinstance(r, DropRule) else DropRule.parse(r) for r in rules]


@dataclass(frozen=True)
class Delivery:
    """What the link decided for one segment."""

    dropped: bool
    arrival: float | None
    reason: str = ""


class Link:
    """A symmetric path: ``delay`` seconds one way (plus optional ``jitter``), loss.

    **One path delivers in order** (a FIFO, like a real route): jitter varies each
    segment's delay, but a segment never arrives before one sent earlier in the same
    direction.  Reordering happens only when asked: with probability ``reorder`` a segment
    takes a second, longer path (``reorder_delay`` more seconds) and may be overtaken.

    Parameters
    ----------
    delay:
        One-way propagation delay in seconds (RTT = 2 × delay).
    loss:
        Probability that any segment is lost, independently of all others.
    loss_by_sender:
        Per-direction loss: ``{"client": 0.1}`` loses 10% of what the client sends
        (overrides ``loss`` for that sender).
    drop_rules:
        Deterministic drops in the ``SENDER:KIND[:N]`` syntax (see module docstring).
    jitter:
        Extra delay drawn uniformly from [0, jitter) per segment (still in order).
    reorder:
        Probability that a segment takes the second path (and may be overtaken).
    reorder_delay:
        How much longer the second path is, in seconds.
    seed:
        Seed of the link's random generator.
    """

    def __init__(
        self,
        delay: float = 0.05,
        loss: float = 0.0,
        *,
        loss_by_sender: dict[str, float] | None = None,
        drop_rules: str | list[str] | None = None,
        jitter: float = 0.0,
        seed: int = 0,
        hold: dict[tuple[str, str, int], float] | None = None,
        reorder: float = 0.0,
        reorder_delay: float = 0.05,
    ) -> None:
        self.delay = check_nonnegative("delay", delay)
        self.loss = check_probability("loss", loss)
        self.loss_by_sender = {k: check_probability(f"loss for {k}", v) for k, v in (loss_by_sender or {}).items()}
        self.rules = parse_drop_rules(drop_rules)
        self.jitter = check_nonnegative("jitter", jitter)
        self.reorder = check_probability("reorder", reorder)
        self.reorder_delay = check_nonnegative("reorder_delay", reorder_delay)
        self._last_arrival: dict[tuple[str, str], float] = {}  # per direction: FIFO
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ParameterError("seed", seed, "an integer")
        self.seed = seed
        self.rng = random.Random(seed)
        # (sender, kind, occurrence) -> extra delay; used by scenarios to hold a segment back
        self.hold = dict(hold or {})
        self._hold_seen: dict[tuple[str, str], int] = {}

    def may_drop(self) -> bool:
        """Could a segment sent from now on still be lost (random loss, or a drop rule
        not used up yet)?"""
        if self.loss or any(self.loss_by_sender.values()):
            return True
        return any(rule.occurrence is None or rule.seen < rule.occurrence for rule in self.rules)

    @classmethod
    def checked(
        cls, delay: float, loss: float, loss_by_sender: dict[str, float], rules: list[DropRule], jitter: float, seed: int,
        reorder: float = 0.0, reorder_delay: float = 0.05,
    ) -> Link:
        """A link from values a :class:`~tcpbook.params.Param` declaration has already
        checked (a prepared scenario builds thousands): no second validation."""
        link = cls.__new__(cls)
        link.delay, link.loss, link.loss_by_sender, link.jitter, link.seed = delay, loss, loss_by_sender, jitter, seed
        link.reorder, link.reorder_delay, link._last_arrival = reorder, reorder_delay, {}
        link.rules = [rule.fresh() for rule in rules]
        link.rng = random.Random(seed)
        link.hold, link._hold_seen = {}, {}
        return link

    def decide(self, segment: Segment, now: float) -> Delivery:
        """Drop or deliver ``segment`` sent at ``now``; every rule sees every segment."""
        reason, arrival = self.route(segment, now)
        return Delivery(bool(reason), arrival, reason)

    def route(self, segment: Segment, now: float) -> tuple[str, float | None]:
        """``("", arrival time)`` for a segment that gets through, ``(why, None)`` for one
        that does not (the driver's fast form of :meth:`decide`)."""
        ruled = None
        for rule in self.rules:  # every rule counts every segment of its kind
            if rule.check(segment) and ruled is None:
                ruled = rule
        loss = self.loss_by_sender.get(segment.src, self.loss) if self.loss_by_sender else self.loss
        # Draw even when a rule drops the segment, so adding a rule does not reshuffle
        # the random losses of every later segment.
        lost = loss > 0 and self.rng.random() < loss
        extra = self.rng.random() * self.jitter if self.jitter else 0.0
        second_path = self.reorder > 0 and self.rng.random() < self.reorder
        if ruled is not None:
            return f"rule {ruled}", None
        if lost:
            return "loss", None
        if self.hold:
            for (sender, kind, n), held in self.hold.items():
                if segment.src == sender and segment_matches(segment, kind):
                    count = self._hold_seen.get((sender, kind), 0) + 1
                    self._hold_seen[(sender, kind)] = count
                    if count == n:
                        extra += held
                        second_path = True  # held back on a slower path: later segments may pass it
        arrival = now + self.delay + extra
        if second_path:
            return "", arrival + (self.reorder_delay if self.reorder else 0.0)
        direction = (segment.src, segment.dst)
        last = self._last_arrival.get(direction)
        if last is not None and arrival < last:
            arrival = last  # one path is a FIFO: never ahead of an earlier segment
        self._last_arrival[direction] = arrival
        return "", arrival
