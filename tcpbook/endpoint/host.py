"""A host running TCP: the sockets API of one machine, and the demultiplexer.

An :class:`Endpoint` has a name (``"client"``, ``"server"``), a timing
:class:`~tcpbook.profiles.Profile`, its connections (one
:class:`~tcpbook.endpoint.connection.Connection` per 4-tuple) and its listeners.  It is
*sans-IO*: no clock, no sockets, no randomness.  You drive it with three kinds of input,
always passing the current time —

* user calls: :meth:`~Endpoint.listen`, :meth:`~Endpoint.connect`, :meth:`~Endpoint.send`,
  :meth:`~Endpoint.read`, :meth:`~Endpoint.close`, :meth:`~Endpoint.shutdown`,
  :meth:`~Endpoint.abort`, :meth:`~Endpoint.accept`;
* arriving segments: :meth:`~Endpoint.receive`;
* timer expiries: :meth:`~Endpoint.timer_expired` —

and after each input collect what it wants done with :meth:`~Endpoint.take_effects`.
"""

from __future__ import annotations

from ..errors import ConnectionAlreadyExists, ConnectionDoesNotExist, ConnectionReset
from ..ledger import ByteLedger
from ..payload import Data
from ..profiles import Profile
from ..segment import ACK, RST, SEQ_SPACE, Segment
from ..table import next_state
from ..vocabulary import SYNCHRONIZED, AppAction, Event, NoteKind, SocketError, State, Timer
from .connection import Connection
from .effects import AppNotice, Effect, Note, StateChange, Transmit
from .listener import Listener


class Endpoint:
    """A host running TCP: its connections, its listeners, and its effects queue.

    Parameters
    ----------
    name:
        How the trace and the drop rules call it (``"client"``, ``"server"``).
    profile:
        The :class:`~tcpbook.profiles.Profile` with its timers and limits.
    isn:
        Initial sequence number of its first connection (later ones add 64000 each,
        deterministically; real stacks use a clock plus a keyed hash, RFC 6528).
    cookie_secret:
        The key of its SYN cookies.
    """

    def __init__(self, name: str, profile: Profile, *, isn: int = 0, cookie_secret: str = "tcpbook") -> None:
        self.name = name
        self.profile = profile
        self.isn = isn % SEQ_SPACE
        self.cookie_secret = cookie_secret
        self.connections: dict[tuple[int, str, int], Connection] = {}  # (local port, peer, peer port)
        self.all_connections: list[Connection] = []  # every connection ever made, in order
        self.listeners: dict[int, Listener] = {}
        self.ledger = ByteLedger()
        self._by_cid: dict[int, Connection] = {}
        # Effects not carried out yet, in order.  A driver either takes them all
        # (take_effects) or, on its hot path, carries them out in place and clears the
        # list (tcpbook.network.Network.flush): no copy per event.
        self.pending: list[Effect] = []
        self.emit = self.pending.append  # how connections and listeners hand us their effects
        self._next_port = 40000

    def __repr__(self) -> str:
        return f"<Endpoint {self.name} {len(self.connections)} connections>"

    # -- driver interface ---------------------------------------------------------------

    def take_effects(self) -> list[Effect]:
        """Everything the endpoint wants done since the last call, in order."""
        effects = self.pending[:]
        self.pending.clear()
        return effects

    def receive(self, segment: Segment, now: float) -> None:
        """A segment arrives from the network: to its connection, else to a listener on its
        port, else it is answered with a RST (RFC 9293 §3.10.7.1)."""
        conn = self.connections.get((segment.dst_port, segment.src, segment.src_port))
        if conn is not None:
            conn.segment_arrives(segment, now)
            return
        listener = self.listeners.get(segment.dst_port)
        if listener is not None:
            listener.segment_arrives(segment, now)
            return
        self.reply_rst(segment, now)

    def timer_expired(self, cid: int, kind: Timer, now: float) -> None:
        """Timer ``kind`` of connection ``cid`` fired."""
        conn = self._by_cid.get(cid)
        if conn is not None:
            conn.timer_expired(kind, now)

    def only_keepalive_left(self, cid: int) -> Connection | None:
        """Connection ``cid`` if it is idle and alive, with nothing but answered keepalive
        probes ahead of it; else None."""
        conn = self._by_cid.get(cid)
        return conn if conn is not None and conn.only_keepalive_left() else None

    def answers_probes(self, peer: str, local_port: int, peer_port: int) -> bool:
        """Would our connection with ``peer`` (on these ports) answer a keepalive probe?"""
        conn = self.connections.get((local_port, peer, peer_port))
        return conn is not None and conn.state in SYNCHRONIZED and conn.state is not State.TIME_WAIT

    # -- user calls -------------------------------------------------------------------------

    def listen(self, now: float, port: int = 80, *, backlog: int | None = None, profile: Profile | None = None) -> Listener:
        """Passive OPEN (RFC 9293 §3.10.1): CLOSED --passive OPEN--> LISTEN on ``port``.

        ``backlog`` is listen(2)'s argument (default: the profile's ``backlog``), capped
        by ``somaxconn``.  ``profile`` is the listening socket's own options (its
        ``setsockopt`` calls); the connections it accepts inherit them, as Linux's child
        sockets inherit their listener's (``sk_clone_lock``).
        """
        if port in self.listeners:
            raise ConnectionAlreadyExists("LISTEN")
        arc = next_state(State.CLOSED, Event.PASSIVE_OPEN)
        options = profile or self.profile
        listener = Listener(
            endpoint=self.name,
            port=port,
            profile=options,
            cookie_secret=self.cookie_secret,
            emit=self.emit,
            new_connection=lambda peer, peer_port, iss=None: self._new_connection(
                port, peer, peer_port, listener=listener, iss=iss, profile=listener.profile),
            reply_rst=self.reply_rst,
            backlog=backlog,
        )
        self.listeners[port] = listener
        self.emit(AppNotice(now, self.name, None, AppAction.LISTEN, detail=f"port {port}"))
        self.emit(StateChange(now, self.name, None, arc.source, arc.target, arc.event))
        return listener

    def stop_listening(self, now: float, port: int = 80) -> None:
        """CLOSE on a listening socket: LISTEN --CLOSE--> CLOSED."""
        if port not in self.listeners:
            raise ConnectionDoesNotExist("CLOSE")
        arc = next_state(State.LISTEN, Event.CLOSE)
        del self.listeners[port]
        self.emit(StateChange(now, self.name, None, arc.source, arc.target, arc.event))

    def connect(
        self, now: float, peer: str, port: int = 80, *, local_port: int | None = None, isn: int | None = None, profile: Profile | None = None
    ) -> Connection:
        """Active OPEN toward ``peer``:``port``; returns the new connection (in SYN-SENT).
        ``isn`` replaces the host's next initial sequence number; ``profile`` is the
        socket's own options (``setsockopt`` before ``connect``: ``TCP_SYNCNT``,
        ``TCP_MAXSEG``, ``SO_KEEPALIVE`` …), the host's profile by default."""
        if local_port is None:
            local_port = self._next_port
            self._next_port += 1
        if (local_port, peer, port) in self.connections:
            raise ConnectionAlreadyExists("OPEN")
        conn = self._new_connection(local_port, peer, port, iss=isn, profile=profile)
        self.emit(AppNotice(now, self.name, peer, AppAction.CONNECT, detail=f"port {port}"))
        conn.open_active(now)
        return conn

    def connection(self, peer: str | None = None) -> Connection:
        """The (most recent) connection with ``peer`` (or the most recent one)."""
        for conn in reversed(self.all_connections):
            if peer is None or conn.peer == peer:
                return conn
        raise ConnectionDoesNotExist("lookup")

    def accept(self, now: float, port: int = 80) -> Connection | None:
        """accept(2): take the oldest established connection from the accept queue (None if empty)."""
        listener = self.listeners.get(port)
        if listener is None:
            raise ConnectionDoesNotExist("ACCEPT")
        conn = listener.accept()
        if conn is not None:
            self.emit(AppNotice(now, self.name, conn.peer, AppAction.ACCEPT))
        return conn

    def send(self, now: float, data: Data, peer: str | None = None) -> None:
        """SEND ``data`` on the connection with ``peer``."""
        self._user_connection("SEND", peer).send(data, now)

    def close(self, now: float, peer: str | None = None, *, linger: float | None = None) -> None:
        """CLOSE the connection with ``peer`` (like close(2); ``linger=0``: SO_LINGER 0, abort)."""
        self._user_connection("CLOSE", peer).close(now, linger=linger)

    def shutdown(self, now: float, peer: str | None = None) -> None:
        """Half-close: send FIN but keep receiving (shutdown(SHUT_WR))."""
        self._user_connection("SHUTDOWN", peer).close(now, half=True)

    def abort(self, now: float, peer: str | None = None) -> None:
        """ABORT the connection with ``peer`` (RST where the RFC says so)."""
        self._user_connection("ABORT", peer).abort(now)

    def read(self, now: float, peer: str | None = None, nbytes: int | None = None) -> bytes:
        """RECEIVE: read delivered bytes from the connection with ``peer``."""
        return self._user_connection("RECEIVE", peer).read(now, nbytes)

    def _user_connection(self, call: str, peer: str | None) -> Connection:
        for conn in reversed(self.all_connections):
            if peer is None or conn.peer == peer:
                if conn.state is State.CLOSED:
                    if conn.error is SocketError.ECONNRESET:
                        raise ConnectionReset(call)
                    raise ConnectionDoesNotExist(call)
                return conn
        raise ConnectionDoesNotExist(call)

    # -- inside the stack ---------------------------------------------------------------

    def _new_connection(
        self, local_port: int, peer: str, peer_port: int, *, listener: Listener | None = None, iss: int | None = None, profile: Profile | None = None
    ) -> Connection:
        if iss is None:
            iss = (self.isn + 64000 * len(self.all_connections)) % SEQ_SPACE
        conn = Connection(
            endpoint=self.name,
            profile=profile or self.profile,
            cid=len(self.all_connections),
            local_port=local_port,
            peer=peer,
            peer_port=peer_port,
            iss=iss,
            emit=self.emit,
            forget=self.forget,
            ledger=self.ledger,
            listener=listener,
            redeliver=self._syn_after_time_wait,
        )
        self.connections[(local_port, peer, peer_port)] = conn
        self._by_cid[conn.cid] = conn
        self.all_connections.append(conn)
        return conn

    def _syn_after_time_wait(self, seg: Segment, now: float, isn: int) -> None:
        """A SYN ended a TIME-WAIT connection (RFC 6191): the listener on its port takes it,
        with ``isn`` as our ISN; with no listener it is answered as for no connection."""
        listener = self.listeners.get(seg.dst_port)
        if listener is None:
            self.reply_rst(seg, now)
            return
        listener.segment_arrives(seg, now, isn=isn)

    def forget(self, conn: Connection) -> None:
        """``conn`` is gone (CLOSED, or a request reset back to LISTEN): delete its TCB."""
        self.connections.pop((conn.local_port, conn.peer, conn.peer_port), None)
        self._by_cid.pop(conn.cid, None)
        if conn.listener is not None:
            conn.listener.forget(conn)

    def reply_rst(self, seg: Segment, now: float) -> None:
        """RFC 9293 §3.10.7.1: a segment for no connection gets a RST (unless it is one):
        ``<SEQ=SEG.ACK><CTL=RST>`` if it carried an ACK, else
        ``<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>``.  A listener answers an ACK the same
        way (§3.10.7.2: "any acknowledgment is bad if it arrives on a connection still in
        the LISTEN state")."""
        if seg.flags & RST:
            return
        if seg.flags & ACK:
            rst = Segment(self.name, seg.src, seg.dst_port, seg.src_port, seg.ack, 0, RST, window=0)
        else:
            rst = Segment(self.name, seg.src, seg.dst_port, seg.src_port, 0, (seg.seq + seg.seg_len) % SEQ_SPACE, RST | ACK, window=0)
        where = "listening socket" if seg.dst_port in self.listeners else "no socket"
        self.emit(Note(now, self.name, f"{where} on port {seg.dst_port} for this ACK: answered with RST" if where == "listening socket"
                       else f"no socket for port {seg.dst_port}: answered with RST", NoteKind.NO_SOCKET, peer=seg.src, port=seg.dst_port))
        self.emit(Transmit(rst, False))
