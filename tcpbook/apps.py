"""Small scripted applications that use the endpoints the way programs use sockets.

Each one is told, through ``on_notice`` (see :class:`tcpbook.network.App`), what its endpoint reports (``connected``,
``data``, ``eof``, ``error``, ``ready`` …) and reacts with socket calls.  Scenarios
(:mod:`tcpbook.scenarios`) are made of these; instructors can write their own — any
object with ``start(net, endpoint)`` and ``on_notice(net, endpoint, notice)`` works.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .endpoint import Endpoint
from .events import AppEvent as AppNotice
from .network import Network
from .payload import Data, Payload, payload
from .vocabulary import State

__all__ = ["Client", "Closer", "Data", "ExitingClient", "Payload", "SendAt", "Server", "payload"]


@dataclass
class Client:
    """connect(); send ``data``; then close (or shutdown, or abort, or nothing).

    ``after_send`` is one of ``"close"`` (close(2) once everything is queued),
    ``"shutdown"`` (half-close: FIN, but keep reading), ``"abort"`` (RST) or ``None``
    (keep the connection open).  ``close_delay`` waits that long after sending.
    ``crash_after_send`` makes the host vanish right after send() returns: the kernel
    dies with it, so nothing still in the send buffer is ever (re)transmitted.
    ``linger=0`` is SO_LINGER {1, 0}: the close aborts with a RST.
    """

    peer: str = "server"
    port: int = 80
    connect_at: float = 0.0
    data: Data = b""
    after_send: str | None = "close"
    close_delay: float = 0.0
    local_port: int | None = None
    crash_after_send: bool = False
    close_on_eof: bool = True
    linger: float | None = None
    _closed: bool = field(default=False, init=False)

    def start(self, net: Network, endpoint: Endpoint) -> None:
        net.at(self.connect_at, self._connect, net, endpoint)

    def _connect(self, net: Network, endpoint: Endpoint) -> None:
        endpoint.connect(net.now, self.peer, self.port, local_port=self.local_port)

    def on_notice(self, net: Network, endpoint: Endpoint, notice: AppNotice) -> None:
        if notice.action == "connected":
            if self.data:
                endpoint.send(net.now, self.data, self.peer)
            if self.crash_after_send:
                net.at(net.now, _crash, net, endpoint)
                return
            if self.after_send is not None:
                net.at(net.now + self.close_delay, self._finish, net, endpoint)
        elif notice.action == "data":
            endpoint.read(net.now, self.peer)
        elif notice.action == "eof" and self.after_send == "shutdown" and self.close_on_eof:
            net.at(net.now, self._close_after_eof, net, endpoint)

    def _finish(self, net: Network, endpoint: Endpoint) -> None:
        conn = endpoint.connection(self.peer)
        if conn.state is State.CLOSED:
            return
        if self.after_send == "close":
            conn.close(net.now, linger=self.linger)
        elif self.after_send == "shutdown":
            conn.close(net.now, half=True)
        elif self.after_send == "abort":
            conn.abort(net.now)

    def _close_after_eof(self, net: Network, endpoint: Endpoint) -> None:
        conn = endpoint.connection(self.peer)
        if conn.state is not State.CLOSED:
            conn.close(net.now, linger=self.linger)


def _crash(net: Network, endpoint: Endpoint) -> None:
    net.crash(endpoint.name)


@dataclass
class ExitingClient:
    """connect(); send ``data``; then the *program* exits — right after send() returns.

    The process is gone, the kernel is not: exiting closes the socket as close() would
    (RFC 9293 §3.10.4, Linux ``tcp_close``), and the kernel goes on delivering and
    retransmitting what was queued, then sends the FIN.  Two exceptions turn the FIN into
    a RST and throw the unsent data away: ``unread`` — the server sent that many bytes
    and the program exits without reading them (it waits until they have arrived; RFC
    2525 §2.17) — and ``linger=0`` (SO_LINGER {1, 0}).
    """

    peer: str = "server"
    port: int = 80
    data: Data = b""
    unread: int = 0
    linger: float | None = None
    _arrived: int = field(default=0, init=False)
    _exited: bool = field(default=False, init=False)

    def start(self, net: Network, endpoint: Endpoint) -> None:
        net.at(0.0, endpoint.connect, net.now, self.peer, self.port)

    def on_notice(self, net: Network, endpoint: Endpoint, notice: AppNotice) -> None:
        if notice.action == "connected":
            if self.data:
                endpoint.send(net.now, self.data, self.peer)
            if self.unread == 0:
                self._exit(net, endpoint)
        elif notice.action == "data":  # never read: it stays in the receive buffer
            self._arrived += notice.nbytes
            if self._arrived >= self.unread and not self._exited:
                # The process runs after the kernel has handled every packet that arrived
                # at this instant (its ACKs included), as a woken process does.
                net.at(net.now, self._exit, net, endpoint)

    def _exit(self, net: Network, endpoint: Endpoint) -> None:
        if not self._exited:
            self._exited = True
            endpoint.close(net.now, self.peer, linger=self.linger)


@dataclass
class SendAt:
    """Send ``nbytes`` to ``peer`` at time ``at`` (on a connection that exists by then)."""

    peer: str
    at: float
    nbytes: int
    seed: int = 0

    def start(self, net: Network, endpoint: Endpoint) -> None:
        net.at(self.at, self._send, net, endpoint)

    def on_notice(self, net: Network, endpoint: Endpoint, notice: AppNotice) -> None:
        return None

    def _send(self, net: Network, endpoint: Endpoint) -> None:
        conn = next((c for c in endpoint.connections.values() if c.peer == self.peer), None)
        if conn is not None and conn.state in (State.ESTABLISHED, State.CLOSE_WAIT):  # (else: nothing to send on)
            conn.send(Payload(self.nbytes, self.seed), net.now)


@dataclass
class Server:
    """listen(); accept every connection; read (or not); on end-of-file, optionally
    send a response, then close ``close_delay`` seconds later.

    ``read=False`` leaves received data unread (closing then sends a RST);
    ``read_rate`` (bytes per second) reads slowly instead, a chunk at a time, so the
    receive buffer fills and the window closes; ``greeting`` is sent as soon as a
    connection is accepted; ``close_at`` closes at a fixed time instead of on
    end-of-file; ``linger=0`` makes the close an abort (SO_LINGER {1, 0}).
    """

    port: int = 80
    read: bool = True
    response: Data = b""
    close_on_eof: bool = True
    close_delay: float = 0.0
    close_at: float | None = None
    listen_at: float = 0.0
    read_rate: float | None = None
    greeting: Data = b""
    linger: float | None = None
    _reading: bool = field(default=False, init=False)

    READ_CHUNK = 4096  # bytes a slow reader takes at a time

    def start(self, net: Network, endpoint: Endpoint) -> None:
        net.at(self.listen_at, endpoint.listen, net.now, self.port)

    def on_notice(self, net: Network, endpoint: Endpoint, notice: AppNotice) -> None:
        if notice.action == "ready":
            conn = endpoint.accept(net.now, self.port)
            if conn is not None and self.greeting:
                conn.send(self.greeting, net.now)
            if conn is not None and self.close_at is not None:
                net.at(max(self.close_at, net.now), self._close, net, endpoint, conn.peer)
        elif notice.action == "data" and self.read:
            if self.read_rate is None:
                endpoint.read(net.now, notice.peer)
            elif not self._reading:
                self._reading = True
                net.at(net.now + self.READ_CHUNK / self.read_rate, self._read_slowly, net, endpoint, notice.peer)
        elif notice.action == "eof" and self.close_on_eof and self.close_at is None:
            if self.response:
                endpoint.send(net.now, self.response, notice.peer)
            net.at(net.now + self.close_delay, self._close, net, endpoint, notice.peer)

    def _read_slowly(self, net: Network, endpoint: Endpoint, peer: str) -> None:
        """Take one chunk; come back for the next one while data waits."""
        conn = endpoint.connection(peer)
        if conn.state is State.CLOSED:
            self._reading = False
            return
        conn.read(net.now, self.READ_CHUNK)
        if conn.rcv.unread:
            net.at(net.now + self.READ_CHUNK / self.read_rate, self._read_slowly, net, endpoint, peer)
        else:
            self._reading = False

    def _close(self, net: Network, endpoint: Endpoint, peer: str | None) -> None:
        conn = endpoint.connection(peer)
        if conn.state in (State.CLOSED, State.LISTEN) or conn.fin_requested:
            return
        if conn.rcv.unread and self.read_rate is not None:  # a slow reader finishes reading first
            net.at(net.now + self.READ_CHUNK / self.read_rate, self._close, net, endpoint, peer)
            return
        conn.close(net.now, linger=self.linger)


@dataclass
class Closer:
    """For simultaneous close: close at ``close_at`` (or when established, if later)."""

    peer: str
    close_at: float

    def start(self, net: Network, endpoint: Endpoint) -> None:
        net.at(self.close_at, self._close, net, endpoint)

    def on_notice(self, net: Network, endpoint: Endpoint, notice: AppNotice) -> None:
        if notice.action == "data":
            endpoint.read(net.now, self.peer)
        elif notice.action == "connected" and net.now >= self.close_at:
            net.at(net.now, self._close, net, endpoint)

    def _close(self, net: Network, endpoint: Endpoint) -> None:
        try:
            conn = endpoint.connection(self.peer)
        except Exception:  # not connected yet: close when the connection is established
            return
        if conn.state in (State.ESTABLISHED, State.CLOSE_WAIT) and not conn.fin_requested:
            conn.close(net.now)
