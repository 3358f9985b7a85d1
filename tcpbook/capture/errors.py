"""What can go wrong while reading a capture, and how the reader says so.

Real capture files are messy: tcpdump is killed while it writes, a filter keeps one
direction only, a tunnel hides the packets inside an encryption.  The reader sorts what
goes wrong into two kinds:

* a problem that makes the file useless (not a capture at all, corrupt, no TCP in it)
  stops the reading with one :class:`CaptureError` sentence that names the file and
  says why — never a traceback;
* a problem that only hides part of the picture (packets of a link type it does not
  know, a file cut short, fragments that never completed) is *counted* by
  :class:`Problems` and becomes one warning per kind: in the trace's
  ``params["warnings"]``, as a note at the start of the trace, and as a
  :class:`CaptureWarning` through Python's ``warnings``.
"""

from __future__ import annotations

from ..errors import TcpbookError


class CaptureError(TcpbookError, ValueError):
    """The file cannot be read as a capture of one TCP connection; the message says why."""


class CaptureWarning(UserWarning):
    """The capture was read, but something in it could not be used or is incomplete."""


class Problems:
    """What went wrong without stopping the reading; each kind becomes one warning.

    A capture of a busy link may hold a million packets the reader skips (ARP, UDP,
    another protocol): one line per *kind*, with a count and the first packet's number,
    tells the learner more than a million lines would.
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.first: dict[str, int] = {}  # kind -> first packet number
        self.messages: list[str] = []  # one-off warnings, in order

    def count(self, kind: str, packet: int) -> None:
        """One more packet of ``kind`` (a phrase such as ``"were encrypted (IPsec ESP)…"``)."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.first.setdefault(kind, packet)

    def warn(self, message: str) -> None:
        """A warning that happens once (the file ends early, one direction only, …)."""
        self.messages.append(message)

    def lines(self) -> list[str]:
        """Every warning, one sentence each: the one-off ones first, then the counts."""
        out = list(self.messages)
        for kind, n in self.counts.items():
            out.append(f"{n} packet{'s' if n != 1 else ''} {kind} (first: packet {self.first[kind]})")
        return out
