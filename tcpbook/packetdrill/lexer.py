"""The tokens of a packetdrill script, each with the line it starts on.

packetdrill's own lexer (``lexer.l`` in its repository, summarised in its ``Syntax.md``)
defines the words of the language; this is the same vocabulary, written as one regular
expression per token kind and tried in a fixed order at each position:

* comments ``// …`` to the end of the line and ``/* … */`` are skipped, as is whitespace
  (newlines included: packetdrill's grammar, not the line breaks, says where an event
  ends, so an event may span lines);
* ``%{ … }%`` is a code snippet (Python that packetdrill runs after the test) and
  ```…``` a shell command; both become one token each;
* ``--name=value`` at the top is a command-line option given inside the script;
* ``...`` (ELLIPSIS), numbers (``FLOAT`` like ``.3`` or ``0.100``, ``INTEGER`` like
  ``-1``, ``HEX`` like ``0x2``), dotted IPv4 addresses, ``WORD`` (``S``, ``ack``,
  ``EINPROGRESS``, ``setsockopt``), double-quoted ``STRING``;
* every other character stands for itself (``< > ( ) [ ] { } , = : ~ * + | . -``).

A character that fits none of these (a stray ``@``, an unterminated comment or string)
is a :class:`~tcpbook.packetdrill.errors.ScriptSyntaxError` naming its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ScriptSyntaxError

#: Token kinds, in the order they are tried (earlier wins at the same position).
_TOKEN_SPEC: tuple[tuple[str, str], ...] = (
    ("NEWLINE", r"\n"),
    ("SPACE", r"[ \t\r\f\v]+"),
    ("LINE_COMMENT", r"//[^\n]*"),
    ("BLOCK_COMMENT", r"/\*(?:[^*]|\*(?!/))*\*/"),
    ("CODE", r"%\{(?:[^}]|\}(?!%))*\}%"),
    ("COMMAND", r"`(?:\\.|[^`\\])*`"),
    ("OPTION", r"--[A-Za-z0-9_]+"),
    ("ELLIPSIS", r"\.\.\."),
    ("IP_ADDR", r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+"),
    ("HEX", r"0x[0-9A-Fa-f]+"),
    ("FLOAT", r"-?[0-9]*\.[0-9]+"),
    ("INTEGER", r"-?[0-9]+"),
    ("WORD", r"[A-Za-z_][A-Za-z0-9_]*"),
    ("STRING", r'"(?:\\.|[^"\\])*"'),
    ("CHAR", r"[<>()\[\]{},=:~*+|.\-;]"),
)
_MASTER = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _TOKEN_SPEC))
_SKIPPED = frozenset({"SPACE", "LINE_COMMENT", "BLOCK_COMMENT"})


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its ``kind`` (``WORD``, ``INTEGER``, ``CHAR`` …), its ``text`` as written,
    and the ``line`` (1-based) on which it starts."""

    kind: str
    text: str
    line: int

    def is_char(self, char: str) -> bool:
        """Is this the single character ``char`` (``<``, ``(``, ``=`` …)?"""
        return self.kind == "CHAR" and self.text == char

    def is_word(self, *words: str) -> bool:
        """Is this one of ``words`` (case as written: packetdrill's keywords are case-sensitive)?"""
        return self.kind == "WORD" and self.text in words

    def __str__(self) -> str:
        return repr(self.text) if self.kind != "EOF" else "the end of the script"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens (comments and whitespace dropped), ending with an ``EOF`` token.

    >>> [t.text for t in tokenize("+0.1 < S. 0:0(0) ack 1 win 5840 // the SYN,ACK")]
    ['+', '0.1', '<', 'S', '.', '0', ':', '0', '(', '0', ')', 'ack', '1', 'win', '5840', '']
    """
    tokens: list[Token] = []
    line = 1
    pos = 0
    end = len(text)
    match = _MASTER.match
    while pos < end:
        found = match(text, pos)
        if found is None:
            raise ScriptSyntaxError(line, _stray(text, pos))
        kind = found.lastgroup or ""
        value = found.group()
        if kind == "NEWLINE":
            line += 1
        elif kind not in _SKIPPED:
            tokens.append(Token(kind, value, line))
        line += value.count("\n") if kind != "NEWLINE" else 0
        pos = found.end()
    tokens.append(Token("EOF", "", line))
    return tokens


def _stray(text: str, pos: int) -> str:
    """Why nothing matches at ``pos``: an unterminated comment, string or command, or a stray character."""
    rest = text[pos:]
    for opener, what in (("/*", "a /* comment that never ends (no */)"), ("%{", "a %{ code block that never ends (no }%)"),
                         ("`", "a `shell command` that never ends (no closing backquote)"),
                         ('"', "a string that never ends (no closing double quote)")):
        if rest.startswith(opener):
            return what
    return f"unexpected character {rest[0]!r}"
