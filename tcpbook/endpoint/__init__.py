"""A sans-IO TCP endpoint: RFC 9293 connection management, driven from outside.

Where to look:

* :mod:`~tcpbook.endpoint.host` — :class:`~tcpbook.endpoint.host.Endpoint`, a host: the socket calls, and which
  connection or listener an arriving segment belongs to;
* :mod:`~tcpbook.endpoint.listener` — :class:`~tcpbook.endpoint.listener.Listener`, LISTEN with its SYN and accept
  queues and SYN cookies (§3.10.7.2);
* :mod:`~tcpbook.endpoint.connection` — :class:`~tcpbook.endpoint.connection.Connection`, one TCB, with a method per
  event of RFC 9293 §3.10 and per check of §3.10.7.4 ("what does TCP do with a SYN in
  SYN-RECEIVED?" — :meth:`~tcpbook.endpoint.connection.Connection.check_syn`);
* :mod:`~tcpbook.endpoint.sender` — what to send and resend (RFC 6298, RFC 5681);
* :mod:`~tcpbook.endpoint.sendspace`, :mod:`~tcpbook.endpoint.receivespace` — the send and
  receive sequence spaces of §3.3.1;
* :mod:`~tcpbook.endpoint.rtt`, :mod:`~tcpbook.endpoint.timers` — the RTO and the timers;
* :mod:`~tcpbook.endpoint.effects` — what the endpoint asks its driver to do.

*Sans-IO* (like h11's ``Connection``) means no clock, no sockets and no randomness inside:
the :class:`~tcpbook.network.Network` is one driver, a test can be another.
"""

from ..ledger import ByteLedger
from .connection import Connection
from .effects import AppNotice, CancelTimer, Effect, Note, SetTimer, StateChange, Transmit
from .host import Endpoint
from .listener import COOKIE_MSS_TABLE, Listener

__all__ = [
    "COOKIE_MSS_TABLE",
    "AppNotice",
    "ByteLedger",
    "CancelTimer",
    "Connection",
    "Effect",
    "Endpoint",
    "Listener",
    "Note",
    "SetTimer",
    "StateChange",
    "Transmit",
]
