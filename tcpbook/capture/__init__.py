"""Load a capture of a real TCP connection (pcap or pcapng) into a :class:`~tcpbook.trace.Trace`.

A capture file records packets, not states: tcpdump cannot see that a socket moved
from FIN-WAIT-1 to FIN-WAIT-2.  :func:`read_capture` *infers* the states the way a
learner would with the state diagram in hand: it replays the captured segments, in
order, through the arcs of :data:`tcpbook.table.TRANSITIONS`.

* The side that sends the first SYN is the ``client`` (CLOSED --active OPEN--> SYN-SENT);
  the other is the ``server``.  If the server ever answers with a SYN,ACK it must have
  been listening, so it starts in LISTEN.  A socket connected to its own address and
  port (a *self-connect*: TCP's simultaneous open with itself) is one endpoint,
  ``self``, that sends every segment to itself.
* What a side *sends* reveals its own moves: its first FIN means the application
  called close() (``CLOSE``); a retransmitted SYN, SYN,ACK or FIN is a ``timeout``
  self-loop; a RST from a synchronized state is an ``ABORT``.
* What a side *receives* moves it along the diagram: ``rcv SYN``, ``rcv SYN,ACK``,
  ``rcv ACK of SYN``, ``rcv FIN``, ``rcv ACK of FIN``, ``rcv FIN,ACK of FIN``,
  ``rcv RST``…

A capture is taken at one place, so a segment it shows may still have been lost
further on.  The peer's behaviour tells: a segment that uses sequence space (SYN, FIN,
data) and is never acknowledged before it is sent again was lost; a pure ACK of a FIN
(or of a SYN) that is followed by a retransmission of that FIN (or SYN,ACK) was lost.
Such segments are marked ``dropped`` with ``drop_reason`` starting with
``"inferred"`` and have no effect on the receiver.  Timers are invisible: a capture never
shows TIME-WAIT ending or connect() giving up, so those arcs are not drawn.  A capture
of one direction only (a filter such as ``dst port 80``, asymmetric routing) has no
answers to judge by: nothing is inferred lost, and a warning says so.

Times are relative to the first packet of the connection.  Byte counts come from
sequence numbers (``bytes_sent`` is what a side put on the wire, each byte once;
``bytes_delivered`` what the other side acknowledged); MD5 digests from the payload
actually captured.  When the capture did not keep every payload byte (tcpdump's
``-s`` snap length, packets the capture missed) the digests are not computed: the
trace says the payload is partial instead of claiming a mismatch.

**What the reader understands.**  Classic pcap (micro- and nanosecond, either byte
order, Kuznetzov's modified pcap), pcapng (several sections, several interfaces with
their own link type and time resolution), both gzip-compressed or not.  Link types:
Ethernet (with 802.1Q/802.1ad VLAN tags, MPLS, PPPoE), Linux "cooked" captures SLL and
SLL2 (``tcpdump -i any``), raw IPv4/IPv6, BSD loopback.  IPv4 with options and IPv6
with extension headers (hop-by-hop, routing, destination options, AH, jumbograms);
IPv4 and IPv6 fragments are reassembled; tunnels (IP-in-IP, 6in4, 4in6, GRE, VXLAN,
Geneve) are opened and the inner connection is the one shown.  Frames larger than
65,535 bytes (loopback, GSO) are read whole.  TCP Fast Open data on the SYN counts
as data.  Several connections one after another on one address/port pair are
separate connections.

**What it refuses**, always with one :class:`CaptureError` sentence and never a
traceback: a missing file, a file that is not a capture, a corrupt one, one without a
TCP connection, or with several when neither ``port`` nor ``connection`` picks one.
A file that simply ends inside a packet (tcpdump killed while writing) is read up to
there, with a warning.  Problems that do not stop the reading — packets of a link type
it does not know, encrypted (ESP) packets, fragments that never completed — become
warnings: ``trace.params["warnings"]``, a note at the start of the trace, and a
:class:`CaptureWarning` through ``warnings``.

The reader decodes the headers itself with ``struct`` rather than with Scapy:
Scapy takes about 300 µs to dissect one packet (a minute for a 200 MB capture) where
reading the dozen fields TCP's state machine needs takes a few; Scapy remains the
reference the tests compare every decoded field with.  Every step is linear in the
size of the file, and memory grows with the number of segments, not with the payload:
payload bytes are read a second time, from the file, to compute the digests.

**The modules, in the order a packet meets them.**  Each one's docstring explains its
step.

* ``tcpbook.capture.errors``: :class:`CaptureError`, :class:`CaptureWarning`, and the
  counting of problems that do not stop the reading;
* ``tcpbook.capture.files``: pcap and pcapng records, gzip, files cut short;
* ``tcpbook.capture.fragments``: IPv4 and IPv6 fragments put back together;
* ``tcpbook.capture.decode``: link layer, IP, tunnels, the TCP header — a
  :class:`CapturedSegment`;
* ``tcpbook.capture.conversations``: the segments grouped into connections, and the
  choice of one;
* ``tcpbook.capture.sequence``: sequence numbers unwrapped into stream positions;
* ``tcpbook.capture.losses``: which segments the peer's answers show were lost;
* ``tcpbook.capture.moves``: what sending and receiving a segment do to the states;
* ``tcpbook.capture.digests``: byte counts and MD5 digests of the streams;
* ``tcpbook.capture.replay``: :func:`read_capture` — all of it, into a trace.
"""

from __future__ import annotations

from ..outcome import DIGEST_UNKNOWN
from .conversations import ConnectionSummary, connections
from .decode import LINK_TYPES, MAX_ENCAPSULATION, MAX_SEGMENTS, CapturedSegment, read_segments
from .digests import MAX_OUT_OF_ORDER
from .errors import CaptureError, CaptureWarning
from .files import MAX_RECORD
from .fragments import MAX_FRAGMENT_BYTES
from .replay import SELF, read_capture
from .sequence import MAX_WINDOW, SEQ_SPACE

__all__ = [
    "DIGEST_UNKNOWN",
    "LINK_TYPES",
    "MAX_ENCAPSULATION",
    "MAX_FRAGMENT_BYTES",
    "MAX_OUT_OF_ORDER",
    "MAX_RECORD",
    "MAX_SEGMENTS",
    "MAX_WINDOW",
    "SELF",
    "SEQ_SPACE",
    "CaptureError",
    "CaptureWarning",
    "CapturedSegment",
    "ConnectionSummary",
    "connections",
    "read_capture",
    "read_segments",
]
