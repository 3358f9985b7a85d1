"""What can go wrong with a script, as exceptions that carry the script's line.

* :class:`ScriptSyntaxError` — the script cannot be read: a token or a construct the
  grammar does not allow, or one tcpbook cannot run (an unsupported system call, socket
  option or packet type).  The command line prints it as one line and exits with 2.
* A script that runs but does not match what the model does is not an exception: it is
  a :class:`~tcpbook.packetdrill.runner.DrillResult` whose ``failure`` says where and why
  (exit status 1).
"""

from __future__ import annotations

from ..errors import TcpbookError


class ScriptSyntaxError(TcpbookError, ValueError):
    """A script tcpbook cannot parse or cannot run, at ``line`` (1-based).

    >>> str(ScriptSyntaxError(7, "expected ':' after the start sequence number, found 'ack'"))
    "line 7: expected ':' after the start sequence number, found 'ack'"
    """

    def __init__(self, line: int, message: str, *, source: str | None = None) -> None:
        self.line = line
        self.reason = message
        self.source = source
        where = f"{source}:{line}" if source else f"line {line}"
        super().__init__(f"{where}: {message}")

    def located(self, source: str) -> ScriptSyntaxError:
        """The same error, naming the script file."""
        return ScriptSyntaxError(self.line, self.reason, source=source)
