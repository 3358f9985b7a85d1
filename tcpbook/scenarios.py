"""The scenario catalogue: named, parameterised runs, and :func:`simulate`.

Every scenario takes the *common parameters* (see :data:`COMMON_PARAMS` and the
profile parameters of :mod:`tcpbook.profiles`) plus a few of its own.  The names are
the same in Python, on the command line (``--syn-retries``) and in the explorers.

>>> trace = simulate("handshake", loss=0.0, seed=1)
>>> [e.label() for e in trace.segments]
['SYN seq=100', 'SYN,ACK seq=300 ack=101', 'ACK seq=101 ack=301']
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .apps import Client, Closer, ExitingClient, SendAt, Server
from .endpoint import Endpoint
from .errors import ParameterError
from .link import DropRule, Link
from .network import Network
from .params import Param, ParamSet
from .payload import Payload as payload
from .profiles import PROFILE_PARAMETERS, PROFILE_PARAMS, PROFILES, Profile, get_profile
from .segment import ACK, SEQ_SPACE, SYN, Segment
from .trace import Trace

_LONG = 1e6  # seconds: the longest delay or duration a parameter may ask for (11.6 days)
MAX_BYTES = 200_000_000  # the largest amount an application may send in one run


def _drop_rule(text: Any) -> str:
    return str(DropRule.parse(text))


# Parameters every scenario understands.
COMMON_PARAMS: tuple[Param, ...] = (
    Param("profile", str, "linux", "timing profile: linux (Linux >= 6.5 defaults) or rfc (RFC 793/1122 era)", choices=tuple(PROFILES)),
    Param("loss", float, 0.0, "probability that any segment is lost", "", 0, 1),
    Param("loss_client", float, None, "loss probability of segments the client sends", "", 0, 1, none_means="same as loss"),
    Param("loss_server", float, None, "loss probability of segments the server sends", "", 0, 1, none_means="same as loss"),
    Param("drop", list, (), "drop rules SENDER:KIND[:N], e.g. server:SYN-ACK:* (repeatable)", item_check=_drop_rule),
    Param("seed", int, 0, "seed of the random losses (same seed, same run)", "", -(2**63), 2**63 - 1),
    Param("rtt", float, 0.1, "round-trip time", "s", 0, 3600),
    Param("jitter", float, 0.0, "random extra one-way delay in [0, jitter); one path stays in order", "s", 0, 3600),
    Param("reorder", float, 0.0, "probability that a segment takes a second, longer path (and may be overtaken)", "", 0, 1),
    Param("reorder_delay", float, 0.05, "how much longer the second path is", "s", 0, 3600),
    Param("isn_client", int, 100, "the client's initial sequence number", "", 0, SEQ_SPACE - 1),
    Param("isn_server", int, 300, "the server's initial sequence number", "", 0, SEQ_SPACE - 1),
    Param("until", float, None, "stop the run at this virtual time", "s", 0, _LONG, none_means="when nothing is left to do"),
)
COMMON_DEFAULTS: dict[str, Any] = {p.name: p.default for p in COMMON_PARAMS}

# The scenarios' own parameters; a scenario may give one its own default (Param.with_default).
BYTES = Param("bytes", int, 0, "bytes the client's application sends", "bytes", 0, MAX_BYTES)
CLOSE_DELAY = Param("close_delay", float, 0.2, "seconds the passive closer waits after end-of-file before it closes", "s", 0, _LONG)
CLOSER = Param("closer", str, "client", "who closes first", choices=("client", "server"))
CLOSE_AT = Param("close_at", float, 1.0, "time at which the (first) close happens", "s", 0, _LONG)
RESPONSE_BYTES = Param("response_bytes", int, 8000, "bytes the server sends back after the client's half-close", "bytes", 0, MAX_BYTES)
HOW = Param("how", str, "unread", "abort flavour: unread (close with unread data) or abort (ABORT call)", choices=("unread", "abort"))
CRASH = Param("crash", bool, False, "the client's host (the machine, not just the program) dies right after send() returns")
LINGER = Param("linger", float, None, "SO_LINGER's l_linger: 0 makes close() abort with a RST, discarding unsent data; "
               "more only makes close() block that long (the segments are the same)", "s", 0, _LONG, none_means="off: a normal close")
UNREAD = Param("unread", int, 0, "bytes the server sends first and the client never reads before it exits", "bytes", 0, 1_000_000)
CRASH_AT = Param("crash_at", float, 0.25, "when the host crashes (power off: no FIN, no RST, buffers lost)", "s", 0, _LONG)
REBOOT_AT = Param("reboot_at", float, None, "when the crashed host is back, with no connections", "s", 0, _LONG, none_means="never")
SEND_AT = Param("send_at", float, None, "when the surviving side sends 100 bytes to the crashed one", "s", 0, _LONG,
                none_means="it never sends: the connection stays half-open")
READ_RATE = Param("read_rate", float, None, "the receiving application reads this many bytes per second", "bytes/s", 1, 1e9,
                  none_means="it reads everything at once")
RECONNECT_AT = Param("reconnect_at", float, 1.0, "when the client connects again from the same port", "s", 0, _LONG)
SECOND_ISN = Param("second_isn", int, None, "the client's ISN for the new connection", "", 0, SEQ_SPACE - 1,
                   none_means="the next ISN of the client's clock: newer than the old connection's")
DUPLICATE_AT = Param("duplicate_at", float, 5.0, "when an old duplicate of the client's last ACK reaches the server", "s", 0, _LONG)
OLD_ISN = Param("old_isn", int, None, "sequence number of the stale SYN", "", 0, SEQ_SPACE - 1, none_means="isn_client - 10")
PORT = Param("port", int, 81, "server port the client connects to", "", 1, 65535)
ATTACK_RATE = Param("attack_rate", float, 50.0, "spoofed SYNs per second", "SYN/s", 0, 100_000)
ATTACK_DURATION = Param("attack_duration", float, 30.0, "seconds the flood lasts", "s", 0, 10_000)
ATTACK_PATTERN = Param("attack_pattern", str, "poisson", "spoofed SYN arrivals: poisson (random) or even (evenly spaced, same mean rate)", choices=("poisson", "even"))
CLIENTS = Param("clients", int, 10, "number of legitimate clients", "", 1, 1000)
CLIENT_INTERVAL = Param("client_interval", float, 2.0, "seconds between legitimate clients' connection attempts", "s", 0, 10_000)
CLIENT_START = Param("client_start", float, 5.0, "time of the first legitimate connection attempt", "s", 0, 10_000)
MAX_FLOOD = 1_000_000  # spoofed SYNs in one run (attack_rate × attack_duration)

Builder = Callable[[Network, Profile, dict[str, Any]], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Scenario:
    """A named run: what it shows, its own parameters, its profile defaults and a builder."""

    name: str
    summary: str
    builder: Builder
    own: tuple[Param, ...] = ()
    profile_defaults: tuple[tuple[str, Any], ...] = ()  # profile values this scenario starts from

    @property
    def defaults(self) -> dict[str, Any]:
        """The scenario's own parameters with their defaults."""
        return {p.name: p.default for p in self.own}

    @property
    def params(self) -> ParamSet:
        """Every parameter it accepts — the common ones, the profile's, its own."""
        cached = self.__dict__.get("_params")
        if cached is None:
            profile_defaults = dict(self.profile_defaults)
            profile = [_scenario_level(p, profile_defaults.get(p.name)) for p in PROFILE_PARAMS]
            cached = ParamSet((*COMMON_PARAMS, *profile, *self.own))
            object.__setattr__(self, "_params", cached)
        return cached

    def parameters(self) -> dict[str, Any]:
        """Every parameter this scenario accepts, with its default (None: the profile's value)."""
        return self.params.defaults()

    def validate(self, given: dict[str, Any]) -> dict[str, Any]:
        """Every parameter's value for a run with ``given`` (each checked)."""
        p = self.params.check_all(given, owner=f"scenario {self.name!r}")
        self.check_together(p)
        return p

    def check_together(self, p: dict[str, Any]) -> None:
        """Checks that involve more than one parameter."""
        if self.name == "syn-flood" and p["attack_rate"] * p["attack_duration"] > MAX_FLOOD:
            raise ParameterError("attack_rate", p["attack_rate"], f"a rate whose flood (rate x duration) is at most {MAX_FLOOD} SYNs")
        if p.get("old_isn") is not None and p["old_isn"] == p["isn_client"]:
            raise ParameterError("old_isn", p["old_isn"], "an integer from 0 to 4294967295 other than isn_client")


def _scenario_level(param: Param, default: Any) -> Param:
    """A profile parameter as a scenario sees it: left at None it takes the profile's value
    (a nullable one, set to None on purpose, means its own None: "no count" …)."""
    if default is not None:
        return param.with_default(default)
    if param.none_means:
        return param
    return Param(param.name, param.kind, None, param.help, param.unit, param.low, param.high, param.choices, "the profile's value")


def _profile_overrides(given: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    """The profile fields this run changes: set to a value, or a nullable one set to None."""
    nullable = {param.name for param in PROFILE_PARAMS if param.none_means}
    return {name: p[name] for name in PROFILE_PARAMETERS if p[name] is not None or (name in given and name in nullable)}


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    name: str, summary: str, own: tuple[Param, ...] | dict[str, Any] = (), profile_defaults: dict[str, Any] | None = None
):  # noqa: ANN201
    """Register a scenario builder under ``name``, with its own parameters.

    ``own`` declares them: :class:`~tcpbook.params.Param` objects, or — for parameters
    some scenario already declares (``bytes``, ``close_delay``, ``response_bytes`` …) — a
    dict of name → this scenario's default.
    """
    if isinstance(own, dict):
        own = tuple(_known_param(key).with_default(value) for key, value in own.items())
    for param in own:
        if not isinstance(param, Param):
            raise ParameterError("own", param, "Param declarations (tcpbook.params.Param) or a dict of known names")

    def register(builder: Builder) -> Builder:
        SCENARIOS[name] = Scenario(name, summary, builder, tuple(own), tuple((profile_defaults or {}).items()))
        return builder

    return register


def _known_param(name: str) -> Param:
    for sc in SCENARIOS.values():
        for param in sc.own:
            if param.name == name:
                return param
    known = sorted({p.name for sc in SCENARIOS.values() for p in sc.own})
    raise ParameterError(name, name, f"a parameter some scenario declares ({', '.join(known)}), or a tcpbook.params.Param")


def _client_server(net: Network, profile: Profile, p: dict[str, Any]) -> tuple[Endpoint, Endpoint]:
    client = Endpoint("client", profile, isn=p["isn_client"])
    server = Endpoint("server", profile, isn=p["isn_server"])
    return client, server


def _open_and_send(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    """The client connects and sends ``bytes`` (maybe none); nobody closes."""
    client, server = _client_server(net, profile, p)
    net.add(client, Client(data=payload(p["bytes"], p["seed"]), after_send=None))
    net.add(server, Server(close_on_eof=False, read_rate=p.get("read_rate")))


scenario("handshake", "three-way handshake only (client sends BYTES right after, if any)", (BYTES,))(_open_and_send)
scenario(
    "transfer",
    "handshake, then the client sends BYTES (the server reading at READ_RATE); nobody closes",
    (BYTES.with_default(14600), READ_RATE),
)(_open_and_send)


@scenario(
    "close",
    "open, then CLOSER closes; the other side closes CLOSE_DELAY s after end-of-file",
    (BYTES, CLOSER, CLOSE_DELAY, LINGER),
)
def _close(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    data = payload(p["bytes"], p["seed"])
    if p["closer"] == "client":
        net.add(client, Client(data=data, after_send="close", linger=p["linger"]))
        net.add(server, Server(close_delay=p["close_delay"]))
    else:
        net.add(client, Client(data=data, after_send=None))
        client_app = net.apps["client"][0]
        client_app.after_send = None
        net.apps["client"].append(_CloseOnEof(p["close_delay"]))
        net.add(server, Server(close_on_eof=False, close_at=0.0, linger=p["linger"]))


@dataclass
class _CloseOnEof:
    """The client as the passive closer: close ``delay`` s after end-of-file."""

    delay: float

    def start(self, net: Network, endpoint: Endpoint) -> None:
        return None

    def on_notice(self, net: Network, endpoint: Endpoint, notice: Any) -> None:
        if notice.action == "eof":
            net.at(net.now + self.delay, _close_if_open, net, endpoint, notice.peer)


def _close_if_open(net: Network, endpoint: Endpoint, peer: str) -> None:
    conn = endpoint.connection(peer)
    if not conn.fin_requested and conn.state.value in ("ESTABLISHED", "CLOSE-WAIT"):
        conn.close(net.now)


@scenario(
    "full",
    "open, the client sends BYTES and closes; the server closes CLOSE_DELAY s after end-of-file",
    (BYTES.with_default(4380), CLOSE_DELAY, CRASH, LINGER),
)
def _full(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    client_app = Client(data=payload(p["bytes"], p["seed"]), after_send="close", crash_after_send=p["crash"], linger=p["linger"])
    net.add(client, client_app)
    net.add(server, Server(close_delay=p["close_delay"]))


@scenario(
    "exit",
    "the client sends BYTES and its program exits at once: the kernel still delivers them, then a FIN "
    "(a RST with UNREAD bytes left unread, or LINGER 0)",
    (BYTES.with_default(4380), UNREAD, LINGER, CLOSE_DELAY),
)
def _exit(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    net.add(client, ExitingClient(data=payload(p["bytes"], p["seed"]), unread=p["unread"], linger=p["linger"]))
    net.add(server, Server(close_delay=p["close_delay"], greeting=payload(p["unread"], p["seed"] + 1)))


@scenario(
    "crash",
    "the client's machine dies at CRASH_AT during a transfer of BYTES: nothing more is sent; the server "
    "finds out only by sending (SEND_AT), from a RST if the host was rebooted (REBOOT_AT)",
    (BYTES.with_default(100_000), CRASH_AT, REBOOT_AT, SEND_AT),
)
def _crash_scenario(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    net.add(client, Client(data=payload(p["bytes"], p["seed"]), after_send=None))
    apps: list[Any] = [Server(close_on_eof=False)]
    if p["send_at"] is not None:
        apps.append(SendAt("client", p["send_at"], 100, p["seed"] + 1))
    net.add(server, *apps)
    net.at(p["crash_at"], net.crash, "client")
    if p["reboot_at"] is not None:
        if p["reboot_at"] < p["crash_at"]:
            raise ParameterError("reboot_at", p["reboot_at"], f"a time after crash_at={p['crash_at']:g}")
        net.at(p["reboot_at"], net.reboot, "client")


@scenario(
    "dead-peer",
    "an idle connection whose server machine dies at CRASH_AT: the client learns it by keepalive "
    "(--keepalive true) or by sending (SEND_AT) and giving up on its time budget",
    (CRASH_AT.with_default(10.0), SEND_AT.with_default(None)),
)
def _dead_peer(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client = Endpoint("client", profile, isn=p["isn_client"])
    # SO_KEEPALIVE is a socket option: here the client's (the server only answers probes).
    server = Endpoint("server", profile.with_overrides(keepalive=False), isn=p["isn_server"])
    apps: list[Any] = [Client(data=b"", after_send=None)]
    if p["send_at"] is not None:
        apps.append(SendAt("server", p["send_at"], 100, p["seed"]))
    net.add(client, *apps)
    net.add(server, Server(close_on_eof=False))
    net.at(p["crash_at"], net.crash, "server")


@scenario(
    "time-wait-reuse",
    "the server closes first and holds TIME-WAIT; the client connects again from the same port at "
    "RECONNECT_AT: a newer SYN is accepted (RFC 6191), an older one is not",
    (BYTES.with_default(1000), RECONNECT_AT, SECOND_ISN),
)
def _time_wait_reuse(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    first = Client(data=payload(p["bytes"], p["seed"]), after_send=None, local_port=40000)
    second = _Reconnect("server", 80, p["reconnect_at"], 40000, p["second_isn"])
    net.add(client, first, _CloseOnEof(0.0), second)
    net.add(server, Server(close_on_eof=False, close_at=0.3))


@scenario(
    "time-wait-rst",
    "the client holds TIME-WAIT; an old duplicate of its last ACK reaches the closed server at "
    "DUPLICATE_AT, whose RST ends TIME-WAIT early (tcp_rfc1337 = 0) or is ignored (rfc1337 true)",
    (BYTES.with_default(1000), DUPLICATE_AT),
)
def _time_wait_rst(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    net.add(client, Client(data=payload(p["bytes"], p["seed"]), after_send="close", local_port=40000))
    net.add(server, Server(close_delay=0.0))
    # the client's last ACK: after its data and FIN, acknowledging the server's FIN
    seq = (p["isn_client"] + 1 + p["bytes"] + 1) % SEQ_SPACE
    ack = (p["isn_server"] + 2) % SEQ_SPACE
    duplicate = Segment("client", "server", 40000, 80, seq, ack, ACK, note="old duplicate")
    net.inject(duplicate, max(0.0, p["duplicate_at"] - p["rtt"] / 2))


@dataclass
class _Reconnect:
    """connect() again to ``peer``:``port`` at ``at`` from ``local_port`` (with ``isn``)."""

    peer: str
    port: int
    at: float
    local_port: int
    isn: int | None

    def start(self, net: Network, endpoint: Endpoint) -> None:
        net.at(self.at, self._connect, net, endpoint)

    def on_notice(self, net: Network, endpoint: Endpoint, notice: Any) -> None:
        return None

    def _connect(self, net: Network, endpoint: Endpoint) -> None:
        old = endpoint.connections.get((self.local_port, self.peer, self.port))
        if old is not None:  # still open (it is the server that holds TIME-WAIT, not us)
            return
        endpoint.connect(net.now, self.peer, self.port, local_port=self.local_port, isn=self.isn)


@scenario("simultaneous-open", "both sides connect() to each other at once; the SYNs cross", (BYTES,))
def _simultaneous_open(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    net.add(client, Client(peer="server", port=5001, local_port=5000, data=payload(p["bytes"], p["seed"]), after_send=None))
    net.add(server, Client(peer="client", port=5000, local_port=5001, after_send=None))


@scenario("simultaneous-close", "both sides close at CLOSE_AT; the FINs cross (CLOSING)", (CLOSE_AT,))
def _simultaneous_close(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    net.add(client, Client(after_send=None), Closer("server", p["close_at"]))
    net.add(server, Server(close_on_eof=False), Closer("client", p["close_at"]))


@scenario(
    "half-close",
    "client sends BYTES and half-closes; the server keeps sending RESPONSE_BYTES from CLOSE-WAIT",
    (BYTES.with_default(1000), RESPONSE_BYTES, CLOSE_DELAY.with_default(0.0)),
)
def _half_close(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    net.add(client, Client(data=payload(p["bytes"], p["seed"]), after_send="shutdown"))
    net.add(server, Server(response=payload(p["response_bytes"], p["seed"] + 1), close_delay=p["close_delay"]))


@scenario(
    "old-duplicate-syn",
    "a stale SYN from an old connection arrives first and is rejected with RST (RFC 9293 Figure 8)",
    (OLD_ISN,),
)
def _old_duplicate(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    old_isn = p["old_isn"] if p["old_isn"] is not None else (p["isn_client"] - 10) % SEQ_SPACE
    delay = p["rtt"] / 2
    # The real SYN (the client's second SYN on the wire: the stale one counts as its
    # first) is held up long enough for the stale one to be answered and rejected
    # first, as in the RFC's figure.
    net.link.hold[("client", "SYN", 2)] = 2.5 * delay
    net.add(client, Client(local_port=40000, after_send=None))
    net.add(server, Server(close_on_eof=False))
    ghost = Segment("client", "server", 40000, 80, old_isn, 0, SYN, mss=profile.mss, note="old duplicate")
    net.inject(ghost, 0.0)


@scenario("refused", "connect() to a port nobody listens on: RST, ECONNREFUSED", (PORT,))
def _refused(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    net.add(client, Client(port=p["port"], after_send=None))
    net.add(server, Server(port=80, close_on_eof=False))


@scenario(
    "abort",
    "the server closes with unread data (how=unread) or the client aborts (how=abort): RST",
    (BYTES.with_default(3000), HOW, CLOSE_AT.with_default(0.5)),
)
def _abort(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    data = payload(p["bytes"], p["seed"])
    if p["how"] == "unread":
        net.add(client, Client(data=data, after_send=None))
        net.add(server, Server(read=False, close_on_eof=False, close_at=p["close_at"]))
    else:
        net.add(client, Client(data=data, after_send="abort", close_delay=p["close_at"]))
        net.add(server, Server(close_on_eof=False))


@scenario(
    "syn-flood",
    "spoofed SYNs fill the SYN queue; legitimate CLIENTS try to connect (SYN cookies optional)",
    (ATTACK_RATE, ATTACK_DURATION, CLIENTS, CLIENT_INTERVAL, CLIENT_START, BYTES.with_default(100), ATTACK_PATTERN),
    profile_defaults={"backlog": 128},
)
def _syn_flood(net: Network, profile: Profile, p: dict[str, Any]) -> dict[str, Any]:
    server = Endpoint("server", profile, isn=p["isn_server"])
    listener_holder: dict[str, Any] = {}

    class _Listening(Server):
        def start(self, net: Network, endpoint: Endpoint) -> None:
            listener_holder["listener"] = endpoint.listen(0.0, self.port)

    net.add(server, _Listening())
    rate, duration = p["attack_rate"], p["attack_duration"]
    rng = random.Random(p["seed"] + 7919)  # the attacker's own generator
    if p["attack_pattern"] == "even":
        times = [k / rate for k in range(int(math.floor(rate * duration + 1e-9)))]
    else:
        # Poisson arrivals at the same mean rate: exponential gaps (its own generator, so
        # the spoofed ports and ISNs stay those of the even pattern)
        arrivals, times, t = random.Random(p["seed"] + 7920), [], 0.0
        while rate > 0:
            t += arrivals.expovariate(rate)
            if t >= duration:
                break
            times.append(t)
    count = len(times)
    for k, t in enumerate(times):
        port = 1024 + rng.randrange(60000)
        isn = rng.randrange(SEQ_SPACE)
        net.inject(Segment(f"spoofed-{k}", "server", port, 80, isn, 0, SYN, mss=1460, note="spoofed"), t)
    names = []
    for i in range(p["clients"]):
        name = f"client-{i + 1}"
        names.append(name)
        ep = Endpoint(name, profile, isn=(p["isn_client"] + 1000 * i) % SEQ_SPACE)
        net.add(ep, Client(connect_at=p["client_start"] + i * p["client_interval"], data=payload(p["bytes"], p["seed"] + i)))

    def stats() -> dict[str, Any]:
        served = [n for n in names if any(c.established_at is not None for c in net.endpoints[n].all_connections)]
        times = []
        for n in names:
            for c in net.endpoints[n].all_connections:
                if c.established_at is not None:
                    start = p["client_start"] + names.index(n) * p["client_interval"]
                    times.append(round(c.established_at - start, 6))
        listener = listener_holder.get("listener")
        return {
            "legitimate_clients": len(names),
            "legitimate_served": len(served),
            "served_share": round(len(served) / len(names), 6) if names else None,
            "connect_times": times,
            "spoofed_syns": count,
            **(listener.stats if listener is not None else {}),
        }

    return {"stats": stats}


def validate_params(sc: Scenario, params: dict[str, Any]) -> dict[str, Any]:
    """Merge ``params`` with the scenario's defaults and check every value."""
    return sc.validate(params)


def simulate(scenario_name: str = "full", **params: Any) -> Trace:
    """Run scenario ``scenario_name`` with ``params`` and return its :class:`Trace`.

    The model: two endpoints (``client`` and ``server``; the SYN flood has more)
    running :class:`~tcpbook.endpoint.Endpoint`, joined by a
    :class:`~tcpbook.link.Link` with one-way delay ``rtt / 2``, random ``loss`` and
    deterministic ``drop`` rules, on a virtual clock.  Applications
    (:mod:`tcpbook.apps`) connect, send, read and close as the scenario says.  The
    same scenario, parameters and seed always give the identical trace.

    Parameters are the common ones (``profile``, ``loss``, ``loss_client``,
    ``loss_server``, ``drop``, ``seed``, ``rtt``, ``jitter``, ``isn_client``,
    ``isn_server``, ``until``), any profile parameter (``syn_retries``,
    ``synack_retries``, ``mss``, ``time_wait``, ``delayed_ack``, ``syncookies``,
    ``syn_backlog`` …) and the scenario's own (see :func:`describe`, or
    :func:`parameter_table`).  A wrong name or value raises
    :class:`~tcpbook.errors.ParameterError`; a run that does not end within its event
    budget raises :class:`~tcpbook.simulator.RunDidNotFinish`.
    """
    return prepare(scenario_name, **params)()


def prepare(scenario_name: str, **params: Any) -> Run:
    """Scenario ``scenario_name`` with ``params`` checked once, ready to run: call the
    result (optionally with another ``seed``) for a :class:`Trace`.  A Monte Carlo that
    runs one scenario thousands of times checks its parameters once.

    >>> run = prepare("handshake", loss=0.3)
    >>> [run(seed=s).segments[0].dropped for s in range(3)] == [run(seed=s).segments[0].dropped for s in range(3)]
    True
    """
    return Run(get_scenario(scenario_name), params)


class Run:
    """A scenario with its parameters checked and its profile built (see :func:`prepare`)."""

    def __init__(self, scenario: Scenario, params: dict[str, Any]) -> None:
        self.scenario = scenario
        self.params = scenario.validate(params)
        self.profile = get_profile(self.params["profile"], **_profile_overrides(params, self.params))
        record = {"scenario": scenario.name}
        for k, v in self.params.items():
            if v is None and k in PROFILE_PARAMETERS and k not in params:
                continue  # a profile parameter nobody set: the profile's value, not recorded
            record[k] = list(v) if isinstance(v, tuple) else v
        self.record = record
        p = self.params
        self._loss_by_sender = {name: p[f"loss_{name}"] for name in ("client", "server") if p[f"loss_{name}"] is not None}
        self._seed = scenario.params["seed"]
        self._rules = [DropRule.parse(rule) for rule in p["drop"]]  # parsed once; each run counts afresh

    def __call__(self, seed: int | None = None) -> Trace:
        """Run once (with ``seed`` instead of the prepared one, if given) and return the trace."""
        p, record = self.params, self.record
        if seed is not None and seed != p["seed"]:
            seed = self._seed.check(seed)
            p, record = {**p, "seed": seed}, {**record, "seed": seed}
        else:
            record = dict(record)
        link = Link.checked(
            p["rtt"] / 2, p["loss"], self._loss_by_sender, self._rules, p["jitter"], p["seed"], p["reorder"], p["reorder_delay"]
        )
        net = Network(link)
        extra = self.scenario.builder(net, self.profile, p) or {}
        _check_rule_senders(p["drop"], net)
        net.run(until=p["until"])
        stats_fn = extra.get("stats")
        return net.trace(record, stats_fn() if stats_fn else None)


def _check_rule_senders(rules: tuple[str, ...], net: Network) -> None:
    """A drop rule must name someone who sends in this run (a typo would match nothing)."""
    for rule in rules:
        sender = rule.split(":", 1)[0]
        if not net.can_send(sender):
            raise ParameterError("drop", rule, f"a rule whose SENDER sends in this run: {', '.join(net.senders())}")


def parameter_table(name: str) -> list[dict[str, Any]]:
    """The parameters of scenario ``name`` as rows (name, default, allowed, meaning) — for
    the API documentation and for instructors' handouts."""
    sc = get_scenario(name)
    own = {p.name for p in sc.own}
    rows = []
    for p in sc.params:
        default = p.default
        if default is None and p.name in PROFILE_PARAMETERS:
            default = "profile"
        rows.append({"name": p.name, "scope": "scenario" if p.name in own else ("profile" if p.name in PROFILE_PARAMETERS else "common"),
                     "default": list(default) if isinstance(default, tuple) else default, "allowed": p.allowed(), "meaning": p.help})
    return rows


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name`` (raises :class:`ParameterError` listing them all)."""
    if name not in SCENARIOS:
        raise ParameterError("scenario", name, "one of " + ", ".join(SCENARIOS))
    return SCENARIOS[name]


def describe(name: str) -> str:
    """One paragraph: what the scenario does and its own parameters with defaults."""
    sc = get_scenario(name)
    own = ", ".join(f"{p.name}={p.default!r}" for p in sc.own)
    return f"{sc.name}: {sc.summary}" + (f" (parameters: {own})" if own else "")
