"""The system calls of a script, played against the sans-IO endpoint as Linux would answer them.

packetdrill runs each system call of a script for real and checks its return value and
``errno``.  Here the calls go to a :class:`~tcpbook.endpoint.Endpoint` (the ``linux``
profile by default) through a small POSIX socket layer: file descriptors, ``O_NONBLOCK``,
each socket's options, and the pending socket error (Linux ``sk_err``), with the return
values and errno Linux gives.  Where Linux's answer depends on more than RFC 9293 says,
the rule below names the kernel function it follows:

* ``connect()`` on a non-blocking socket returns ``EINPROGRESS``; again while the
  handshake runs ``EALREADY``; the first time after it completed 0, then ``EISCONN``;
  after it failed the error itself (``ECONNREFUSED``, ``ETIMEDOUT``), once
  (``__inet_stream_connect``).
* ``write()``/``send()`` before the connection is established: ``EAGAIN`` on a
  non-blocking socket (or it blocks); on a socket never connected ``EPIPE``; after a RST
  the pending error once (``ECONNRESET``, or ``EPIPE`` if the RST came in CLOSE-WAIT,
  ``tcp_reset``) and ``EPIPE`` from then on; after ``shutdown(SHUT_WR)`` ``EPIPE``
  (``tcp_sendmsg_locked``, ``sk_stream_error``).  SIGPIPE is ignored, as packetdrill does.
* ``read()``/``recv()``: the bytes there are (up to the count); with none, 0 once the
  peer's FIN arrived, else the pending error once, 0 after ``shutdown(SHUT_RD)`` or a
  reset, ``ENOTCONN`` on a socket never connected or listening, ``EAGAIN`` on a
  non-blocking socket (or it blocks) (``tcp_recvmsg_locked``).
* ``accept()`` with an empty accept queue: ``EAGAIN`` or it blocks.  The accepted socket
  is blocking (``accept()`` does not copy ``O_NONBLOCK``) and carries the listener's
  options.
* ``shutdown()``: ``SHUT_WR`` sends the FIN (``tcp_shutdown``), ``SHUT_RD`` only makes
  reads return 0; on a closed socket ``ENOTCONN``; on a listener ``SHUT_RD`` (or
  ``SHUT_RDWR``) stops it listening and ``SHUT_WR`` does nothing (``inet_shutdown``).
* ``getsockopt(SO_ERROR)`` returns the pending error and clears it (``sock_error``).

Options: ``SO_REUSEADDR`` (accepted; the model never refuses a bind), ``SO_KEEPALIVE``,
``SO_LINGER``, ``TCP_NODELAY`` (accepted and reported back; the model has no Nagle
algorithm, so every socket sends as with ``TCP_NODELAY`` 1), ``TCP_MAXSEG``,
``TCP_KEEPIDLE``, ``TCP_KEEPINTVL``, ``TCP_KEEPCNT``, ``TCP_SYNCNT``,
``TCP_USER_TIMEOUT`` — each with Linux's ``EINVAL`` limits (``do_tcp_setsockopt``).

Numbers (``SOCK_STREAM``, ``O_NONBLOCK``, ``EINPROGRESS`` …) are Linux's (x86-64 and
the generic ABI), fixed here rather than read from the machine, so a script runs the
same everywhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..endpoint import Connection, Endpoint
from ..errors import ParameterError
from ..events import AppEvent, StateEvent
from ..profiles import Profile
from ..vocabulary import AppAction, State
from .errors import ScriptSyntaxError
from .script import ELLIPSIS, ArrayExpr, Assign, BitOr, Call, Ellipsis_, StructExpr, Symbol, Syscall

# Linux's numbers (include/uapi/asm-generic/errno-base.h, errno.h; socket.h; fcntl.h; tcp.h).
ERRNO: dict[str, tuple[int, str]] = {
    "EPERM": (1, "Operation not permitted"),
    "EBADF": (9, "Bad file descriptor"),
    "EAGAIN": (11, "Resource temporarily unavailable"),
    "EWOULDBLOCK": (11, "Resource temporarily unavailable"),
    "EINVAL": (22, "Invalid argument"),
    "EPIPE": (32, "Broken pipe"),
    "ENOTSOCK": (88, "Socket operation on non-socket"),
    "ENOPROTOOPT": (92, "Protocol not available"),
    "EOPNOTSUPP": (95, "Operation not supported"),
    "EADDRINUSE": (98, "Address already in use"),
    "ECONNABORTED": (103, "Software caused connection abort"),
    "ECONNRESET": (104, "Connection reset by peer"),
    "EISCONN": (106, "Transport endpoint is already connected"),
    "ENOTCONN": (107, "Transport endpoint is not connected"),
    "ETIMEDOUT": (110, "Connection timed out"),
    "ECONNREFUSED": (111, "Connection refused"),
    "EALREADY": (114, "Operation already in progress"),
    "EINPROGRESS": (115, "Operation now in progress"),
}
ERRNO_NAME = {number: name for name, (number, _) in reversed(ERRNO.items())}

SYMBOLS: dict[str, int] = {
    "AF_INET": 2, "AF_INET6": 10, "PF_INET": 2, "PF_INET6": 10, "AF_UNSPEC": 0,
    "SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_NONBLOCK": 0o4000, "SOCK_CLOEXEC": 0o2000000,
    "IPPROTO_IP": 0, "IPPROTO_TCP": 6, "IPPROTO_UDP": 17, "SOL_SOCKET": 1, "SOL_TCP": 6, "SOL_IP": 0,
    "O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_NONBLOCK": 0o4000,
    "F_GETFL": 3, "F_SETFL": 4,
    "SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2,
    "MSG_NOSIGNAL": 0x4000, "MSG_DONTWAIT": 0x40,
    "SO_REUSEADDR": 2, "SO_ERROR": 4, "SO_KEEPALIVE": 9, "SO_LINGER": 13,
    "TCP_NODELAY": 1, "TCP_MAXSEG": 2, "TCP_KEEPIDLE": 4, "TCP_KEEPINTVL": 5, "TCP_KEEPCNT": 6, "TCP_SYNCNT": 7,
    "TCP_USER_TIMEOUT": 18,
    # known to Linux, not to the model: named so that a script using them is told so
    "SO_SNDBUF": 7, "SO_RCVBUF": 8, "SO_REUSEPORT": 15, "TCP_CORK": 3, "TCP_DEFER_ACCEPT": 9, "TCP_WINDOW_CLAMP": 10,
    "TCP_INFO": 11, "TCP_QUICKACK": 12, "TCP_CONGESTION": 13, "TCP_FASTOPEN": 23, "TCP_NOTSENT_LOWAT": 25,
    "NULL": 0,
    **{name: number for name, (number, _) in ERRNO.items()},
}  # fmt: skip

_SOCKET_OPTIONS = {  # (level, name) -> the option's name; SOL_TCP and IPPROTO_TCP are both 6
    (1, 2): "SO_REUSEADDR", (1, 4): "SO_ERROR", (1, 9): "SO_KEEPALIVE", (1, 13): "SO_LINGER",
    (6, 1): "TCP_NODELAY", (6, 2): "TCP_MAXSEG", (6, 4): "TCP_KEEPIDLE", (6, 5): "TCP_KEEPINTVL",
    (6, 6): "TCP_KEEPCNT", (6, 7): "TCP_SYNCNT", (6, 18): "TCP_USER_TIMEOUT",
}  # fmt: skip
_SETTABLE = frozenset(_SOCKET_OPTIONS.values()) - {"SO_ERROR"}
# Linux's limits (include/net/tcp.h MAX_TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, MAX_TCP_SYNCNT, TCP_MIN_MSS, MAX_TCP_WINDOW)
_INT_LIMITS = {"TCP_KEEPIDLE": (1, 32767), "TCP_KEEPINTVL": (1, 32767), "TCP_KEEPCNT": (1, 127), "TCP_SYNCNT": (1, 127),
               "TCP_MAXSEG": (88, 32767)}

#: The argument counts each supported call accepts, by call name.
CALLS: dict[str, tuple[int, ...]] = {
    "socket": (3,), "bind": (3,), "listen": (2,), "accept": (3,), "connect": (3,),
    "write": (3,), "send": (4,), "read": (3,), "recv": (4,), "close": (1,), "shutdown": (2,),
    "fcntl": (2, 3), "setsockopt": (5,), "getsockopt": (5,),
}  # fmt: skip
_CONNECTED_STATES = frozenset({State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT, State.CLOSING,
                               State.LAST_ACK, State.TIME_WAIT})


def errno_text(name: str) -> str:
    number, text = ERRNO[name]
    return f"{name} ({text})"


# -- static checks ---------------------------------------------------------------------------


def symbols_in(expr: Any) -> list[str]:
    """Every symbol name an expression uses (field names of ``{a=b}`` are not symbols)."""
    if isinstance(expr, Symbol):
        return [expr.name]
    if isinstance(expr, BitOr):
        return symbols_in(expr.left) + symbols_in(expr.right)
    if isinstance(expr, Assign):
        return symbols_in(expr.value)
    if isinstance(expr, (ArrayExpr, StructExpr)):
        return [name for item in expr.items for name in symbols_in(item)]
    if isinstance(expr, Call):
        return []  # htons(8080), inet_addr("…"): a sockaddr, which tcpbook fills in
    return []


def evaluate(expr: Any) -> Any:
    """An expression's value: ints stay ints, symbols are looked up, ``A|B`` is or-ed,
    ``[x]`` a list, ``{a=b}`` a dict; ``...`` stays ELLIPSIS."""
    if isinstance(expr, Symbol):
        return SYMBOLS[expr.name]
    if isinstance(expr, BitOr):
        return evaluate(expr.left) | evaluate(expr.right)
    if isinstance(expr, ArrayExpr):
        return [evaluate(item) for item in expr.items]
    if isinstance(expr, StructExpr):
        return {item.name: evaluate(item.value) for item in expr.items if isinstance(item, Assign)}
    return expr


def check_syscall(call: Syscall, line: int) -> None:
    """Refuse, before anything runs, a call tcpbook cannot play: an unknown call, a wrong
    number of arguments, an unknown symbol or errno, an unsupported option or command."""
    counts = CALLS.get(call.name)
    if counts is None:
        raise ScriptSyntaxError(line, f"{call.name}() is not supported (supported: {', '.join(CALLS)})")
    if len(call.args) not in counts:
        want = " or ".join(str(c) for c in counts)
        raise ScriptSyntaxError(line, f"{call.name}() takes {want} arguments, not {len(call.args)}")
    for expr in (*call.args, call.result):
        for name in symbols_in(expr):
            if name not in SYMBOLS:
                raise ScriptSyntaxError(line, f"unknown symbol {name} in {call.name}()")
    if not isinstance(call.result, int):
        raise ScriptSyntaxError(line, f"{call.name}()'s expected result must be a number, not {call.result}")
    if call.errno is not None and call.errno not in ERRNO:
        raise ScriptSyntaxError(line, f"unknown errno {call.errno} (known: {', '.join(sorted(ERRNO))})")
    args = [evaluate(a) for a in call.args]
    if call.name in ("setsockopt", "getsockopt"):
        level, name = args[1], args[2]
        option = _SOCKET_OPTIONS.get((level, name)) if isinstance(level, int) and isinstance(name, int) else None
        if option is None or (call.name == "setsockopt" and option not in _SETTABLE):
            shown = f"{call.args[1]}, {call.args[2]}"
            known = ", ".join(sorted(_SETTABLE if call.name == "setsockopt" else _SOCKET_OPTIONS.values()))
            raise ScriptSyntaxError(line, f"{call.name}({shown}) is not supported (supported: {known})")
    if call.name == "fcntl" and args[1] not in (SYMBOLS["F_GETFL"], SYMBOLS["F_SETFL"]):
        raise ScriptSyntaxError(line, f"fcntl command {call.args[1]} is not supported (supported: F_GETFL, F_SETFL)")
    if call.name == "socket" and isinstance(args[1], int) and args[1] & 0xF != SYMBOLS["SOCK_STREAM"]:
        raise ScriptSyntaxError(line, "only SOCK_STREAM sockets are supported: tcpbook models TCP")
    if call.name == "bind" and not (args[1] is ELLIPSIS and args[2] is ELLIPSIS):
        raise ScriptSyntaxError(line, "bind()'s address and length must be ... (tcpbook picks the address, as packetdrill does)")


# -- the socket layer -----------------------------------------------------------------------


@dataclass
class Outcome:
    """What a call returned: ``value`` and, when it failed, ``errno``'s name."""

    value: int
    errno: str | None = None
    check: Callable[[], tuple[str, str, str] | None] | None = None  # getsockopt: its output against the script's, (field, expected, actual) when they differ

    def __str__(self) -> str:
        return f"{self.value}" + (f" {errno_text(self.errno)}" if self.errno else "")


def fail(errno: str) -> Outcome:
    return Outcome(-1, errno)


#: A call that cannot complete yet, polled again after the clock moves (it returns None while still waiting).
Waiter = Callable[[float], "Outcome | None"]


@dataclass
class Socket:
    """One file descriptor: its options (a :class:`~tcpbook.profiles.Profile`), flags and state."""

    fd: int
    profile: Profile
    nonblocking: bool = False
    connection: Connection | None = None
    listening: bool = False
    connect_reported: bool = False  # connect() has told the program it is connected
    shut_rd: bool = False
    linger: tuple[int, int] | None = None
    reuseaddr: int = 0
    nodelay: int = 0
    error: str | None = None  # the pending socket error (Linux sk_err)
    notified: set[str] = field(default_factory=set)


class SocketLayer:
    """The program under test: its file descriptors on ``endpoint``, talking to ``remote``.

    ``port`` is where it listens or connects to (packetdrill's default 8080).
    ``flush`` carries out the endpoint's effects (the driver's job) after each call.
    """

    def __init__(self, endpoint: Endpoint, remote: str, port: int, flush: Callable[[], None]) -> None:
        self.endpoint = endpoint
        self.remote = remote
        self.port = port
        self.flush = flush
        self.sockets: dict[int, Socket] = {}
        self._handlers: dict[str, Callable[[Socket | None, list[Any], Syscall, float], Outcome | Waiter]] = {
            "socket": self._socket, "bind": self._bind, "listen": self._listen, "accept": self._accept,
            "connect": self._connect, "write": self._write, "send": self._write, "read": self._read, "recv": self._read,
            "close": self._close, "shutdown": self._shutdown, "fcntl": self._fcntl, "setsockopt": self._setsockopt,
            "getsockopt": self._getsockopt,
        }  # fmt: skip

    # the endpoint's application: pending errors, as Linux's tcp_reset / tcp_write_err / tcp_done set sk_err
    def start(self, net: Any, endpoint: Endpoint) -> None:
        pass

    def on_notice(self, net: Any, endpoint: Endpoint, notice: AppEvent) -> None:
        if notice.action != AppAction.ERROR:
            return
        # The notice is delivered after the segment or timer that caused it was handled,
        # so the connection is already CLOSED: the state it was reset in is the last arc's.
        before = next((e.old for e in reversed(net.events) if isinstance(e, StateEvent) and e.endpoint == endpoint.name
                       and e.state == State.CLOSED.value), None)
        for sock in self.sockets.values():
            conn = sock.connection
            if conn is not None and conn.error == notice.detail and notice.detail not in sock.notified:
                sock.notified.add(notice.detail)
                # tcp_reset: a RST in CLOSE-WAIT sets EPIPE, not ECONNRESET
                in_close_wait = before == State.CLOSE_WAIT.value
                sock.error = "EPIPE" if in_close_wait and notice.detail == "ECONNRESET" else str(notice.detail)

    # -- calls -----------------------------------------------------------------------------

    def call(self, call: Syscall, now: float) -> Outcome | Waiter:
        """Make ``call`` at ``now``: its :class:`Outcome`, or a waiter if it would block."""
        args = [evaluate(a) for a in call.args]
        sock = None
        if call.name != "socket":
            sock = self.sockets.get(args[0]) if isinstance(args[0], int) else None
            if sock is None:
                return fail("EBADF")
        try:
            return self._handlers[call.name](sock, args, call, now)
        finally:
            self.flush()

    def _take_error(self, sock: Socket) -> str | None:
        error, sock.error = sock.error, None
        return error

    def _socket(self, sock: Socket | None, args: list[Any], call: Syscall, now: float) -> Outcome:
        fd = call.result if call.result >= 0 else max([2, *self.sockets]) + 1
        nonblocking = isinstance(args[1], int) and bool(args[1] & SYMBOLS["SOCK_NONBLOCK"])
        self.sockets[fd] = Socket(fd, self.endpoint.profile, nonblocking=nonblocking)
        return Outcome(fd)

    def _bind(self, sock: Socket, args: list[Any], call: Syscall, now: float) -> Outcome:
        return Outcome(0)

    def _listen(self, sock: Socket, args: list[Any], call: Syscall, now: float) -> Outcome:
        if sock.connection is not None:
            return fail("EINVAL")
        if not sock.listening:
            if self.port in self.endpoint.listeners:
                return fail("EADDRINUSE")
            self.endpoint.listen(now, self.port, backlog=args[1] if isinstance(args[1], int) else None, profile=sock.profile)
            sock.listening = True
        return Outcome(0)

    def _accept(self, sock: Socket, args: list[Any], call: Syscall, now: float) -> Outcome | Waiter:
        if not sock.listening:
            return fail("EINVAL")

        def attempt(t: float) -> Outcome | None:
            conn = self.endpoint.accept(t, self.port)
            if conn is None:
                return None
            fd = call.result if call.result >= 0 else max([2, *self.sockets]) + 1
            self.sockets[fd] = Socket(fd, conn.profile, connection=conn, connect_reported=True)
            return Outcome(fd)

        done = attempt(now)
        if done is not None:
            return done
        return fail("EAGAIN") if sock.nonblocking else attempt

    def _connect(self, sock: Socket, args: list[Any], call: Syscall, now: float) -> Outcome | Waiter:
        if sock.listening:
            return fail("EISCONN")
        conn = sock.connection
        if conn is None:
            conn = sock.connection = self.endpoint.connect(now, self.remote, self.port, profile=sock.profile)
            if sock.nonblocking:
                return fail("EINPROGRESS")
        elif sock.connect_reported:
            return fail("EISCONN")

        def attempt(t: float) -> Outcome | None:
            if conn.state in (State.SYN_SENT, State.SYN_RECEIVED):
                return None
            if conn.state is State.CLOSED and conn.established_at is None:
                return fail(self._take_error(sock) or "ECONNABORTED")
            sock.connect_reported = True
            return Outcome(0)

        if conn.state in (State.SYN_SENT, State.SYN_RECEIVED) and sock.nonblocking:
            return fail("EALREADY")
        return attempt(now) or attempt

    def _write(self, sock: Socket, args: list[Any], call: Syscall, now: float) -> Outcome | Waiter:
        count = args[2]
        if not isinstance(count, int) or count < 0:
            return fail("EINVAL")
        conn = sock.connection

        def attempt(t: float) -> Outcome | None:
            if conn is None or sock.listening:
                return fail("EPIPE")
            if conn.state in (State.SYN_SENT, State.SYN_RECEIVED):
                return None
            if sock.error is not None:
                return fail(self._take_error(sock) or "EPIPE")
            if conn.state not in (State.ESTABLISHED, State.CLOSE_WAIT) or conn.fin_requested:
                return fail("EPIPE")
            conn.send(bytes(count), t)
            return Outcome(count)

        if conn is not None and conn.state in (State.SYN_SENT, State.SYN_RECEIVED):
            if sock.error is not None:
                return fail(self._take_error(sock) or "EPIPE")
            return fail("EAGAIN") if sock.nonblocking else attempt
        return attempt(now) or attempt

    def _read(self, sock: Socket, args: list[Any], call: Syscall, now: float) -> Outcome | Waiter:
        count = args[2]
        if not isinstance(count, int) or count < 0:
            return fail("EINVAL")
        conn = sock.connection
        if sock.listening or conn is None:
            return fail("ENOTCONN")

        def attempt(t: float) -> Outcome | None:
            if conn.rcv.unread:  # data already received stays readable even after a reset (tcp_recvmsg_locked)
                data = conn.read(t, count) if conn.state is not State.CLOSED else conn.rcv.read(count)
                return Outcome(len(data))
            if conn.rcv.fin_received:
                return Outcome(0)  # SOCK_DONE: end of file
            if sock.error is not None:
                return fail(self._take_error(sock) or "ECONNRESET")
            if sock.shut_rd or (conn.state is State.CLOSED and (conn.established_at is not None or conn.error)):
                return Outcome(0)  # RCV_SHUTDOWN (our shutdown, or tcp_done after a reset)
            if conn.state is State.CLOSED:
                return fail("ENOTCONN")
            return None

        done = attempt(now)
        if done is not None:
            return done
        return fail("EAGAIN") if sock.nonblocking else attempt

    def _close(self, sock: Socket, args: list[Any], call: Syscall, now: float) -> Outcome:
        del self.sockets[sock.fd]
        if sock.listening and self.port in self.endpoint.listeners:
            self.endpoint.stop_listening(now, self.port)
        conn = sock.connection
        if conn is not None and conn.state is not State.CLOSED and not (conn.fin_requested and conn.read_closed):
            conn.close(now, linger=0 if sock.linger is not None and sock.linger[0] and sock.linger[1] == 0 else None)
        return Outcome(0)

    def _shutdown(self, sock: Socket, args: list[Any], call: Syscall, now: float) -> Outcome:
        how = args[1]
        if how not in (0, 1, 2):
            return fail("EINVAL")
        if sock.listening:  # inet_shutdown, TCP_LISTEN: SHUT_WR does nothing; with SHUT_RD it stops listening
            if how in (0, 2):
                sock.listening = False
                self.endpoint.stop_listening(now, self.port)
            return Outcome(0)
        conn = sock.connection
        if conn is None or conn.state is State.CLOSED:
            return fail("ENOTCONN")
        if how in (0, 2):
            sock.shut_rd = True
        if how in (1, 2) and not conn.fin_requested:
            if conn.state is State.SYN_SENT:
                conn.close(now)  # tcp_disconnect: a connection not yet made is dropped
            else:
                conn.close(now, half=True)
        return Outcome(0)

    def _fcntl(self, sock: Socket, args: list[Any], call: Syscall, now: float) -> Outcome:
        if args[1] == SYMBOLS["F_GETFL"]:
            return Outcome(SYMBOLS["O_RDWR"] | (SYMBOLS["O_NONBLOCK"] if sock.nonblocking else 0))
        sock.nonblocking = bool(args[2] & SYMBOLS["O_NONBLOCK"])
        return Outcome(0)

    @staticmethod
    def _int_value(value: Any) -> int | None:
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], int):
            return value[0]
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def _setsockopt(self, sock: Socket, args: list[Any], call: Syscall, now: float) -> Outcome:
        option = _SOCKET_OPTIONS[(args[1], args[2])]
        value = args[3]
        if option == "SO_LINGER":
            if not isinstance(value, dict) or "onoff" not in value or "linger" not in value:
                return fail("EINVAL")
            sock.linger = (value["onoff"], value["linger"])
            return Outcome(0)
        number = self._int_value(value)
        if number is None:
            return fail("EINVAL")
        low, high = _INT_LIMITS.get(option, (None, None))
        if low is not None and not low <= number <= high:  # type: ignore[operator]
            return fail("EINVAL")
        if option == "SO_REUSEADDR":
            sock.reuseaddr = int(bool(number))
            return Outcome(0)
        if option == "TCP_NODELAY":
            sock.nodelay = int(bool(number))
            return Outcome(0)
        if option == "TCP_USER_TIMEOUT" and number < 0:
            return fail("EINVAL")
        changes: dict[str, Any] = {
            "SO_KEEPALIVE": {"keepalive": bool(number)},
            "TCP_KEEPIDLE": {"keepidle": float(number)},
            "TCP_KEEPINTVL": {"keepintvl": float(number)},
            "TCP_KEEPCNT": {"keepcnt": number},
            "TCP_SYNCNT": {"syn_retries": number},
            "TCP_MAXSEG": {"mss": number},
            "TCP_USER_TIMEOUT": {"user_timeout": number / 1000 if number else None},
        }[option]
        try:
            profile = sock.profile.with_overrides(**changes)
        except ParameterError:
            return fail("EINVAL")
        self._apply(sock, profile, now)
        return Outcome(0)

    def _apply(self, sock: Socket, profile: Profile, now: float) -> None:
        sock.profile = profile
        if sock.connection is not None:
            sock.connection.set_options(profile, now)
        elif sock.listening:
            self.endpoint.listeners[self.port].profile = profile

    def _getsockopt(self, sock: Socket, args: list[Any], call: Syscall, now: float) -> Outcome:
        option = _SOCKET_OPTIONS[(args[1], args[2])]
        p = sock.profile
        actual: Any
        if option == "SO_ERROR":
            error = self._take_error(sock)
            actual = ERRNO[error][0] if error else 0
        elif option == "SO_LINGER":
            onoff, linger = sock.linger or (0, 0)
            actual = {"onoff": onoff, "linger": linger}
        else:
            actual = {
                "SO_REUSEADDR": sock.reuseaddr, "SO_KEEPALIVE": int(p.keepalive), "TCP_NODELAY": sock.nodelay,
                "TCP_MAXSEG": p.mss, "TCP_KEEPIDLE": int(p.keepidle), "TCP_KEEPINTVL": int(p.keepintvl),
                "TCP_KEEPCNT": p.keepcnt, "TCP_SYNCNT": p.syn_retries if p.syn_retries is not None else 0,
                "TCP_USER_TIMEOUT": round(p.user_timeout * 1000) if p.user_timeout else 0,
            }[option]  # fmt: skip
        expected = args[3]

        def check() -> tuple[str, str, str] | None:
            if isinstance(expected, Ellipsis_):
                return None
            want = expected[0] if isinstance(expected, list) and len(expected) == 1 else expected
            if want == actual or want is ELLIPSIS:
                return None
            def named(value: Any) -> str:
                name = ERRNO_NAME.get(value) if option == "SO_ERROR" and isinstance(value, int) else None
                return f"{value} ({name})" if name else str(value)

            return f"getsockopt {option}", named(want), named(actual)

        return Outcome(0, check=check)


def describe_profile_changes(profile: Profile, base: Profile) -> dict[str, Any]:
    """The fields in which a socket's options differ from the host's (for the report)."""
    return {f.name: getattr(profile, f.name) for f in dataclasses.fields(Profile) if getattr(profile, f.name) != getattr(base, f.name)}
