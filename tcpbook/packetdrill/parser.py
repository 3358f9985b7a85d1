"""packetdrill's grammar, as a recursive-descent parser: tokens → :class:`~tcpbook.packetdrill.script.Script`.

The grammar is packetdrill's (``parser.y``; its ``Syntax.md`` prints it), restricted to
TCP over the default IP layer.  In its own notation::

    script       : option* command? event* command?
    option       : OPTION '=' (INTEGER | FLOAT | WORD | STRING | IP_ADDR)
    event        : event_time action
    event_time   : '+' time | time | '*' | time '~' time | '+' time '~' '+' time
    time         : FLOAT | INTEGER                            (seconds, never negative)
    action       : packet | syscall | COMMAND | CODE
    packet       : ('<' | '>') flags seq ['ack' INTEGER] ['win' INTEGER] [tcp_options]
    flags        : WORD ['.'] | '.' | '-'                     (letters from S F R P U E W)
    seq          : INTEGER ':' INTEGER '(' INTEGER ')'        (end = start + length)
    tcp_options  : '<' '...' '>' | '<' tcp_option (',' tcp_option)* '>'
    tcp_option   : 'nop' | 'eol' | 'mss' INTEGER | 'wscale' INTEGER | 'sackOK'
                 | 'sack' (INTEGER ':' INTEGER)+ | 'TS' 'val' INTEGER 'ecr' INTEGER
                 | 'FO' [WORD | INTEGER] | 'md5' (WORD | INTEGER)
    syscall      : ['...' time] WORD '(' [expr (',' expr)*] ')' '=' expr [WORD [note]] [note]
    expr         : operand ('|' operand)*
    operand      : '...' | INTEGER | HEX | STRING ['...'] | WORD ['=' expr | '(' args ')']
                 | '[' [expr (',' expr)*] ']' | '{' [expr (',' expr)*] '}'
    note         : '(' anything but ')' ')'

plus packetdrill's semantic rules (``parser.y``'s ``semantic_error`` calls): no negative
time; a range must not run backwards; ``*`` and ranges only on outbound packets;
``<...>`` only on outbound packets; an inbound packet must give its window; a
sequence range must agree with its length; each number in range for its header field.
Every error names the line (:class:`~tcpbook.packetdrill.errors.ScriptSyntaxError`).

Not supported, and said so at the line that uses it: UDP and ICMP packets, IP-layer
annotations (``[ect0]``, ``(tos 0x…)``), explicit ports (``8080>80``), encapsulation
(GRE, MPLS) — tcpbook models TCP only.
"""

from __future__ import annotations

from typing import Any

from .errors import ScriptSyntaxError
from .lexer import Token, tokenize
from .script import (
    ELLIPSIS,
    ArrayExpr,
    Assign,
    BitOr,
    Call,
    Code,
    Command,
    EventTime,
    Packet,
    Script,
    ScriptEvent,
    StructExpr,
    Symbol,
    Syscall,
    TcpOption,
    TimeKind,
)

FLAG_LETTERS = "SFRPUEW"  # packetdrill's is_tcp_flag_set(): SYN FIN RST PSH URG ECE CWR ('.' is ACK)
_U16, _U32 = 0xFFFF, 0xFFFFFFFF
_UNSUPPORTED_PACKETS = {"udp": "UDP packets", "icmp": "ICMP packets", "gre": "GRE encapsulation", "mpls": "MPLS encapsulation",
                        "ipv4": "explicit IPv4 headers", "ipv6": "explicit IPv6 headers"}


def parse(text: str, source: str = "<script>") -> Script:
    """Parse the text of a packetdrill script.

    >>> script = parse("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\\n+0 > S 0:0(0) <mss 1460>\\n")
    >>> [str(e) for e in script.events]
    ['0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', '+0 > S 0:0(0) <mss 1460>']
    """
    try:
        return _Parser(tokenize(text), source).script()
    except ScriptSyntaxError as exc:
        raise exc.located(source) from None


class _Parser:
    def __init__(self, tokens: list[Token], source: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.source = source

    # -- token plumbing ---------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "EOF":
            self.pos += 1
        return token

    def error(self, message: str, token: Token | None = None) -> ScriptSyntaxError:
        return ScriptSyntaxError((token or self.tok).line, message)

    def expect_char(self, char: str, what: str) -> Token:
        if not self.tok.is_char(char):
            raise self.error(f"expected {char!r} {what}, found {self.tok}")
        return self.take()

    def integer(self, what: str, low: int = 0, high: int | None = None) -> int:
        token = self.tok
        if token.kind not in ("INTEGER", "HEX"):
            raise self.error(f"expected {what} (a whole number), found {token}")
        self.take()
        value = int(token.text, 0) if token.kind == "HEX" else int(token.text)
        if value < low or (high is not None and value > high):
            limit = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise self.error(f"{what} {value} is out of range: expected {limit}", token)
        return value

    # -- script ------------------------------------------------------------------------------

    def script(self) -> Script:
        script = Script(events=[], source=self.source)
        while self.tok.kind == "OPTION":
            name_token = self.take()
            self.expect_char("=", f"after the option {name_token.text}")
            value = self.take()
            if value.kind not in ("INTEGER", "FLOAT", "WORD", "STRING", "IP_ADDR", "HEX", "COMMAND"):
                raise self.error(f"expected a value for {name_token.text}, found {value}", value)
            name = name_token.text[2:]
            script.options[name] = value.text.strip('"')
            script.option_lines[name] = name_token.line
        while self.tok.kind == "COMMAND":  # init command(s), before any timed event
            token = self.take()
            script.commands.append((token.line, Command(token.text[1:-1])))
        while self.tok.kind != "EOF":
            if self.tok.kind == "COMMAND" and self.peek().kind == "EOF":  # a cleanup command at the end
                token = self.take()
                script.commands.append((token.line, Command(token.text[1:-1])))
                break
            script.events.append(self.event())
        return script

    def event(self) -> ScriptEvent:
        first = self.tok
        time = self.event_time()
        action = self.action()
        if time.end is not None and time.end < time.start:
            raise self.error("time range is backwards (its end comes before its start)", first)
        outbound = isinstance(action, Packet) and not action.inbound
        if time.kind is TimeKind.ANY and not outbound:
            raise self.error("event time * can only be used with outbound packets (>)", first)
        if time.kind in (TimeKind.ABSOLUTE_RANGE, TimeKind.RELATIVE_RANGE) and not outbound:
            raise self.error("event time range can only be used with outbound packets (>)", first)
        return ScriptEvent(first.line, time, action)

    def time(self) -> int:
        token = self.tok
        if token.kind not in ("FLOAT", "INTEGER"):
            raise self.error(f"expected a time in seconds (like 0, +0.1 or *), found {token}")
        self.take()
        if token.text.startswith("-"):
            raise self.error(f"negative time {token.text}", token)
        return round(float(token.text) * 1_000_000)  # packetdrill keeps microseconds

    def event_time(self) -> EventTime:
        if self.tok.is_char("*"):
            self.take()
            return EventTime(TimeKind.ANY)
        if self.tok.is_char("+"):
            self.take()
            start = self.time()
            if self.tok.is_char("~"):
                self.take()
                self.expect_char("+", "before the end of a relative time range (+a~+b)")
                return EventTime(TimeKind.RELATIVE_RANGE, start, self.time())
            return EventTime(TimeKind.RELATIVE, start)
        start = self.time()
        if self.tok.is_char("~"):
            self.take()
            if self.tok.is_char("+"):
                raise self.error("a time range is either absolute (a~b) or relative (+a~+b), not both")
            return EventTime(TimeKind.ABSOLUTE_RANGE, start, self.time())
        return EventTime(TimeKind.ABSOLUTE, start)

    def action(self) -> Packet | Syscall | Command | Code:
        token = self.tok
        if token.is_char("<") or token.is_char(">"):
            return self.packet()
        if token.kind == "COMMAND":
            self.take()
            return Command(token.text[1:-1])
        if token.kind == "CODE":
            self.take()
            return Code(token.text[2:-2])
        if token.kind == "WORD" or token.kind == "ELLIPSIS":
            return self.syscall()
        raise self.error(f"expected a packet (< or >), a system call, a `command` or %{{code}}%, found {token}")

    # -- packets -----------------------------------------------------------------------------

    def packet(self) -> Packet:
        direction = self.take()
        inbound = direction.text == "<"
        if self.tok.kind == "WORD" and self.tok.text.lower() in _UNSUPPORTED_PACKETS:
            raise self.error(f"{_UNSUPPORTED_PACKETS[self.tok.text.lower()]} are not supported: tcpbook models TCP only")
        if self.tok.is_char("[") or self.tok.is_char("("):
            raise self.error("IP-layer annotations ([ect0], (tos …), (flowlabel …)) are not supported: the model has no IP layer")
        if self.tok.kind == "INTEGER" and self.peek().is_char(">"):
            raise self.error("explicit ports (like 8080>80) are not supported: tcpbook drives one connection")
        flags = self.flags()
        start = self.integer("start sequence number", 0, _U32)
        self.expect_char(":", "between the start and end sequence numbers (start:end(length))")
        end = self.integer("end sequence number", 0, _U32)
        self.expect_char("(", "before the payload length (start:end(length))")
        length_token = self.tok
        length = self.integer("payload length", 0, _U16)
        self.expect_char(")", "after the payload length")
        if end != start + length:
            raise self.error(f"inconsistent TCP sequence numbers and payload size: {start}:{end} is not {length} bytes", length_token)
        ack = window = None
        if self.tok.is_word("ack"):
            self.take()
            ack = self.integer("ack sequence number", 0, _U32)
        if self.tok.is_word("win"):
            self.take()
            window = self.integer("TCP window", 0, _U16)
        if self.tok.is_word("urg"):
            raise self.error("urgent pointers (urg) are not supported: the model has no urgent data")
        options: tuple[TcpOption, ...] | None = ()
        if self.tok.is_char("<"):
            options = self.tcp_options(inbound)
        if inbound and window is None:
            raise self.error("window must be specified for inbound packets (add win N)", direction)
        return Packet(inbound, flags, start, end, ack, window, options)

    def flags(self) -> str:
        token = self.tok
        if token.is_char("."):
            self.take()
            return "."
        if token.is_char("-"):
            self.take()
            return "-"
        if token.kind != "WORD":
            raise self.error(f"expected TCP flags (S, S., P., F., R, ., -), found {token}")
        self.take()
        bad = sorted({c for c in token.text if c not in FLAG_LETTERS})
        if bad:
            raise self.error(f"unknown TCP flag {bad[0]!r} in {token.text!r}: flags are letters from {FLAG_LETTERS} and '.' for ACK", token)
        if self.tok.is_char("."):
            self.take()
            return token.text + "."
        return token.text

    def tcp_options(self, inbound: bool) -> tuple[TcpOption, ...] | None:
        opener = self.take()
        if self.tok.kind == "ELLIPSIS":
            self.take()
            self.expect_char(">", "after <...")
            if inbound:
                raise self.error("<...> for TCP options can only be used with outbound packets (>)", opener)
            return None
        options = [self.tcp_option()]
        while self.tok.is_char(","):
            self.take()
            options.append(self.tcp_option())
        self.expect_char(">", "at the end of the TCP options")
        return tuple(options)

    def tcp_option(self) -> TcpOption:
        token = self.tok
        if token.kind != "WORD":
            raise self.error(f"expected a TCP option (mss, sackOK, TS, nop, wscale, eol, sack, FO, md5), found {token}")
        self.take()
        name = token.text
        if name in ("nop", "eol", "sackOK"):
            return TcpOption(name)
        if name == "mss":
            return TcpOption(name, (self.integer("mss value", 0, _U16),))
        if name == "wscale":
            return TcpOption(name, (self.integer("window scale shift count", 0, 0xFF),))
        if name == "TS":
            if not self.tok.is_word("val"):
                raise self.error(f"expected 'val' after TS (TS val N ecr M), found {self.tok}")
            self.take()
            val = self.integer("ts val", 0, _U32)
            if not self.tok.is_word("ecr"):
                raise self.error(f"expected 'ecr' after the TS val (TS val N ecr M), found {self.tok}")
            self.take()
            return TcpOption(name, (val, self.integer("ecr val", 0, _U32)))
        if name == "sack":
            blocks: list[int] = []
            while self.tok.kind == "INTEGER" and self.peek().is_char(":"):
                blocks.append(self.integer("SACK left sequence number", 0, _U32))
                self.take()
                blocks.append(self.integer("SACK right sequence number", 0, _U32))
            if not blocks:
                raise self.error(f"expected SACK blocks (left:right …) after sack, found {self.tok}")
            return TcpOption(name, tuple(blocks))
        if name in ("FO", "FOEXP", "md5"):
            if self.tok.kind in ("WORD", "INTEGER", "HEX"):
                return TcpOption(name, (self.take().text,))
            if name == "md5":
                raise self.error(f"expected the MD5 key after md5, found {self.tok}")
            return TcpOption(name)
        raise self.error(f"unknown TCP option {name!r} (known: mss, sackOK, TS, nop, wscale, eol, sack, FO, md5)", token)

    # -- system calls ------------------------------------------------------------------------

    def syscall(self) -> Syscall:
        end = None
        if self.tok.kind == "ELLIPSIS":
            self.take()
            end = self.time()
        name_token = self.tok
        if name_token.kind != "WORD":
            raise self.error(f"expected a system call name after ...{end / 1e6 if end else ''}, found {name_token}")
        self.take()
        self.expect_char("(", f"after the system call name {name_token.text}")
        args: list[Any] = []
        if not self.tok.is_char(")"):
            args.append(self.expression())
            while self.tok.is_char(","):
                self.take()
                args.append(self.expression())
        self.expect_char(")", f"at the end of {name_token.text}'s arguments")
        if not self.tok.is_char("="):  # said at the call's line, not at the next token's
            raise self.error(f"expected '=' before {name_token.text}()'s expected result (name(...) = result), found {self.tok}", name_token)
        self.take()
        result = self.expression()
        errno = note = None
        if self.tok.kind == "WORD":
            errno = self.take().text
        if self.tok.is_char("("):
            note = self.note()
        return Syscall(name_token.text, tuple(args), result, errno, note, end)

    def note(self) -> str:
        opener = self.take()
        words: list[str] = []
        while not self.tok.is_char(")"):
            if self.tok.kind == "EOF":
                raise self.error("a note in parentheses that never ends (no ')')", opener)
            words.append(self.take().text)
        self.take()
        return " ".join(words)

    def expression(self) -> Any:
        value = self.operand()
        while self.tok.is_char("|"):
            self.take()
            value = BitOr(value, self.operand())
        return value

    def operand(self) -> Any:
        token = self.tok
        if token.kind == "ELLIPSIS":
            self.take()
            return ELLIPSIS
        if token.kind == "INTEGER":
            self.take()
            return int(token.text)
        if token.kind == "HEX":
            self.take()
            return int(token.text, 16)
        if token.kind == "STRING":
            self.take()
            if self.tok.kind == "ELLIPSIS":
                self.take()
            return token.text[1:-1]
        if token.kind == "WORD":
            self.take()
            if self.tok.is_char("="):
                self.take()
                return Assign(token.text, self.expression())
            if self.tok.is_char("("):
                self.take()
                args = [] if self.tok.is_char(")") else self._list(")")
                self.expect_char(")", f"after {token.text}(...)'s arguments")
                return Call(token.text, tuple(args))
            return Symbol(token.text)
        if token.is_char("["):
            self.take()
            items = [] if self.tok.is_char("]") else self._list("]")
            self.expect_char("]", "at the end of the array")
            return ArrayExpr(tuple(items))
        if token.is_char("{"):
            self.take()
            items = [] if self.tok.is_char("}") else self._list("}")
            self.expect_char("}", "at the end of the braces")
            return StructExpr(tuple(items))
        raise self.error(f"expected an expression (a number, a NAME, ..., [..] or {{..}}), found {token}")

    def _list(self, closer: str) -> list[Any]:
        items = [self.expression()]
        while self.tok.is_char(","):
            self.take()
            items.append(self.expression())
        return items
