"""packetdrill scripts, run against tcpbook's model of Linux TCP.

`packetdrill <https://github.com/google/packetdrill>`_ is the TCP world's test language
(the Linux kernel's own TCP tests are written in it): a line per system call with its
expected result, a line per segment the remote side injects (``<``) and per segment the
stack under test must send (``>``), each at an absolute or relative time::

    0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
    +0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
    +0  bind(3, ..., ...) = 0
    +0  listen(3, 1) = 0
    +0  < S 0:0(0) win 65535 <mss 1460>
    +0  > S. 0:0(0) ack 1 <mss 1460>
    +.1 < . 1:1(0) ack 1 win 65535
    +0  accept(3, ..., ...) = 4

:func:`tcpbook.drill` parses such a script, runs it against a sans-IO endpoint with the
``linux`` profile, and says whether the model did what the script says — and if not,
where: the line, the field, expected against actual, and the trace up to there.  A
passing script is a scenario like any other: its trace draws as a ladder and a state
diagram.

* :mod:`~tcpbook.packetdrill.lexer`, :mod:`~tcpbook.packetdrill.parser` — the language;
* :mod:`~tcpbook.packetdrill.sockets` — system calls as Linux answers them;
* :mod:`~tcpbook.packetdrill.runner` — the clock, the timing rules, the matching.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

from ..errors import ParameterError
from ..profiles import Profile
from .errors import ScriptSyntaxError
from .parser import parse
from .runner import TOLERANCE_PERCENT, TOLERANCE_USECS, DrillResult, Failure, run_script
from .script import Script

__all__ = ["TOLERANCE_PERCENT", "TOLERANCE_USECS", "DrillResult", "Failure", "Script", "ScriptSyntaxError", "drill", "parse"]

MAX_SCRIPT_BYTES = 1 << 20  # a script is a few hundred lines; a megabyte is not a script


def drill(
    path_or_text: str | os.PathLike[str],
    *,
    profile: str | Profile = "linux",
    strict_options: bool = False,
    tolerance_usecs: int | None = None,
    tolerance_percent: float | None = None,
    **overrides: Any,
) -> DrillResult:
    """Run a packetdrill script against the model and return a :class:`DrillResult`.

    ``path_or_text`` is a path to a ``.pkt`` file, or the script's text itself (anything
    with a newline in it is taken as text).  The local socket is a sans-IO endpoint with
    ``profile`` (``linux``; ``overrides`` change its parameters, as ``syn_retries=2``
    would ``sysctl net.ipv4.tcp_syn_retries=2``); the remote side is the script.

    The result's ``passed`` says whether every ``>`` segment, every return value and
    errno, and every time matched (within packetdrill's tolerance: ``tolerance_usecs``,
    default 4000 µs, or ``tolerance_percent``, default 12.5 % of the time since the
    previous event, whichever is larger; ``--tolerance_usecs=…`` in the script sets them
    too); ``failure`` says where the first mismatch was; ``trace`` is the run (up to the
    failure) for ``to_text()``, ``to_json()`` and the pictures.

    TCP options the model does not implement (SACK, timestamps, window scaling …) are
    parsed and, on ``>`` lines, not checked but listed in ``ignored_options``;
    ``strict_options=True`` fails on them instead.  Shell commands and code snippets are
    never run: they are listed in ``skipped``.

    Raises :class:`ScriptSyntaxError` (a ``ValueError`` naming the line) for a script
    that cannot be parsed or uses what tcpbook cannot run, and
    :class:`~tcpbook.errors.ParameterError` for a bad argument.

    >>> result = drill('''0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
    ... +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
    ... +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
    ... +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
    ... +.05 < S. 0:0(0) ack 1 win 65535 <mss 1460>
    ... +0 > . 1:1(0) ack 1
    ... ''')
    >>> result.passed, [str(e.state) for e in result.trace.state_changes]
    (True, ['SYN-SENT', 'ESTABLISHED'])
    """
    if not isinstance(strict_options, bool):
        raise ParameterError("strict_options", strict_options, "True or False")
    for name, value, kind in (("tolerance_usecs", tolerance_usecs, int), ("tolerance_percent", tolerance_percent, (int, float))):
        if value is not None and (isinstance(value, bool) or not isinstance(value, kind) or value < 0 or value != value):
            raise ParameterError(name, value, "a number >= 0")
    text, source = _read(path_or_text)
    return run_script(text, source=source, profile=profile, strict_options=strict_options, tolerance_usecs=tolerance_usecs,
                      tolerance_percent=tolerance_percent, **overrides)


def _read(path_or_text: str | os.PathLike[str]) -> tuple[str, str]:
    """The script's text and the name errors should give it."""
    if isinstance(path_or_text, str) and "\n" in path_or_text:
        return path_or_text, "<script>"
    if not isinstance(path_or_text, (str, os.PathLike)):
        raise ParameterError("path_or_text", type(path_or_text).__name__, "a path to a .pkt file or the script's text")
    path = pathlib.Path(path_or_text)
    if not path.is_file():
        raise ParameterError("script", str(path_or_text), "a packetdrill script file (or the script's text)")
    if path.stat().st_size > MAX_SCRIPT_BYTES:
        raise ParameterError("script", str(path_or_text), f"a script of at most {MAX_SCRIPT_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8"), str(path_or_text)
    except UnicodeDecodeError:
        raise ParameterError("script", str(path_or_text), "a text file (UTF-8)") from None
