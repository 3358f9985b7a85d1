"""The errors tcpbook raises, each named for what went wrong.

* :class:`ParameterError` — a wrong parameter.  It is a :class:`ValueError`, and its
  message names the parameter, the value given and what is allowed, so the command
  line can print it as one line.
* :class:`TcpUserError` subclasses — a user call the RFC forbids in the current
  state; the messages are RFC 9293's own ("connection does not exist",
  "connection closing", …).
"""

from __future__ import annotations

from typing import Any


class TcpbookError(Exception):
    """Base class of every error tcpbook raises on purpose."""


class ParameterError(TcpbookError, ValueError):
    """A parameter has a value that is not allowed.

    >>> str(ParameterError("loss", 1.5, "a probability between 0 and 1"))
    'loss=1.5 is not allowed: expected a probability between 0 and 1'
    """

    def __init__(self, name: str, value: Any, allowed: str) -> None:
        self.name = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"{name}={value!r} is not allowed: expected {allowed}")


class TraceFormatError(TcpbookError, ValueError):
    """A document that is not a tcpbook trace (``Trace.from_json``): says where and why."""


class TcpUserError(TcpbookError):
    """A user call (OPEN, SEND, RECEIVE, CLOSE) the connection's state forbids (RFC 9293 §3.10)."""


class ConnectionDoesNotExist(TcpUserError):
    """SEND/RECEIVE/CLOSE on a connection that was never opened or is already gone."""

    def __init__(self, call: str) -> None:
        super().__init__(f"error: connection does not exist ({call})")


class ConnectionClosing(TcpUserError):
    """SEND (or CLOSE again) after this side has already closed."""

    def __init__(self, call: str) -> None:
        super().__init__(f"error: connection closing ({call})")


class ConnectionAlreadyExists(TcpUserError):
    """OPEN on a connection that is already open."""

    def __init__(self, call: str) -> None:
        super().__init__(f"error: connection already exists ({call})")


class ConnectionReset(TcpUserError):
    """A call on a connection the peer reset (the socket error ECONNRESET)."""

    def __init__(self, call: str) -> None:
        super().__init__(f"error: connection reset ({call})")


def check_probability(name: str, value: Any) -> float:
    """Return ``value`` as a float in [0, 1] or raise :class:`ParameterError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ParameterError(name, value, "a probability between 0 and 1")
    return float(value)


def check_nonnegative(name: str, value: Any, *, integer: bool = False, allow_none: bool = False) -> Any:
    """Return ``value`` if it is a non-negative number (an int when ``integer``)."""
    if value is None and allow_none:
        return None
    kind = "an integer" if integer else "a number"
    extra = " or None" if allow_none else ""
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or value < 0 or value != value:
        raise ParameterError(name, value, f"{kind} >= 0{extra}")
    return value


def check_positive(name: str, value: Any, *, integer: bool = False, minimum: float | None = None) -> Any:
    """Return ``value`` if it is a number > 0 (or >= ``minimum``)."""
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or value != value:
        raise ParameterError(name, value, f"{kind} {'>= ' + str(minimum) if minimum is not None else '> 0'}")
    if (minimum is not None and value < minimum) or (minimum is None and value <= 0):
        raise ParameterError(name, value, f"{kind} {'>= ' + str(minimum) if minimum is not None else '> 0'}")
    return value
