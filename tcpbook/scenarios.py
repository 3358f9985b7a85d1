"""The scenario catalogue: named, parameterised runs, and :func:`simulate`.

Every scenario takes the *common parameters* (see :data:`COMMON_DEFAULTS` and the
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
from dataclasses import dataclass, field
from typing import Any

from .apps import Client, Closer, Server, payload
from .endpoint import Endpoint
from .errors import ParameterError, check_nonnegative, check_positive, check_probability
from .link import Link, parse_drop_rules
from .network import Network
from .profiles import NULLABLE_PARAMETERS, PROFILE_PARAMETERS, PROFILES, Profile, get_profile
from .segment import SEQ_SPACE, Flag, Segment
from .trace import Trace

# Parameters every scenario understands, with their defaults.
COMMON_DEFAULTS: dict[str, Any] = {
    "profile": "linux",
    "loss": 0.0,  # probability that any segment is lost
    "loss_client": None,  # loss of segments sent by the client (overrides loss)
    "loss_server": None,  # loss of segments sent by the server (overrides loss)
    "drop": (),  # drop rules, SENDER:KIND[:N]
    "seed": 0,  # seed of the link's random generator
    "rtt": 0.1,  # round-trip time in seconds (one-way delay = rtt / 2)
    "jitter": 0.0,  # extra one-way delay drawn from [0, jitter): allows reordering
    "isn_client": 100,  # the client's initial sequence number
    "isn_server": 300,  # the server's initial sequence number
    "until": None,  # stop the run at this virtual time (None: when nothing is left to do)
}

PARAMETER_HELP: dict[str, str] = {
    "profile": "timing profile: linux (Linux >= 6.5 defaults) or rfc (RFC 793/1122 era)",
    "loss": "probability in [0, 1] that any segment is lost",
    "loss_client": "loss probability of segments the client sends (overrides loss)",
    "loss_server": "loss probability of segments the server sends (overrides loss)",
    "drop": "drop rule SENDER:KIND[:N], e.g. server:SYN-ACK:* (repeatable)",
    "seed": "seed of the random losses (same seed, same run)",
    "rtt": "round-trip time in seconds",
    "jitter": "random extra one-way delay in [0, jitter) seconds (reordering)",
    "isn_client": "client's initial sequence number (0 .. 2**32-1)",
    "isn_server": "server's initial sequence number (0 .. 2**32-1)",
    "until": "stop the run at this virtual time in seconds",
    "bytes": "bytes the client's application sends",
    "close_delay": "seconds the passive closer waits after end-of-file before it closes",
    "closer": "who closes first: client or server",
    "close_at": "time at which the (first) close happens, seconds",
    "response_bytes": "bytes the server sends back after the client's half-close",
    "how": "abort flavour: unread (close with unread data) or abort (ABORT call)",
    "attack_rate": "spoofed SYNs per second",
    "attack_duration": "seconds the flood lasts",
    "attack_pattern": "spoofed SYN arrivals: even (evenly spaced) or poisson (random, same mean rate)",
    "clients": "number of legitimate clients",
    "client_interval": "seconds between legitimate clients' connection attempts",
    "client_start": "time of the first legitimate connection attempt",
    "crash": "the client's host dies right after send() returns",
    "old_isn": "sequence number of the stale SYN from an earlier connection",
    "port": "server port the client connects to",
}


@dataclass(frozen=True)
class Scenario:
    """A named run: what it shows, its own parameters and a builder."""

    name: str
    summary: str
    builder: Callable[[Network, Profile, dict[str, Any]], dict[str, Any] | None]
    defaults: dict[str, Any] = field(default_factory=dict)
    profile_defaults: dict[str, Any] = field(default_factory=dict)

    def parameters(self) -> dict[str, Any]:
        """Every parameter this scenario accepts, with its default."""
        params = dict(COMMON_DEFAULTS)
        for name in PROFILE_PARAMETERS:
            params[name] = self.profile_defaults.get(name)
        params.update(self.defaults)
        return params


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, summary: str, defaults: dict[str, Any] | None = None, profile_defaults: dict[str, Any] | None = None):  # noqa: ANN201
    """Register a scenario builder under ``name``."""

    def register(builder: Callable[[Network, Profile, dict[str, Any]], dict[str, Any] | None]):  # noqa: ANN202
        SCENARIOS[name] = Scenario(name, summary, builder, dict(defaults or {}), dict(profile_defaults or {}))
        return builder

    return register


def _client_server(net: Network, profile: Profile, p: dict[str, Any]) -> tuple[Endpoint, Endpoint]:
    client = Endpoint("client", profile, isn=p["isn_client"])
    server = Endpoint("server", profile, isn=p["isn_server"])
    return client, server


def _open_and_send(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    """The client connects and sends ``bytes`` (maybe none); nobody closes."""
    client, server = _client_server(net, profile, p)
    net.add(client, Client(data=payload(p["bytes"], p["seed"]), after_send=None))
    net.add(server, Server(close_on_eof=False))


scenario("handshake", "three-way handshake only (client sends BYTES right after, if any)", {"bytes": 0})(_open_and_send)
scenario("transfer", "handshake, then the client sends BYTES; nobody closes", {"bytes": 14600})(_open_and_send)


@scenario(
    "close",
    "open, then CLOSER closes; the other side closes CLOSE_DELAY s after end-of-file",
    {"bytes": 0, "closer": "client", "close_delay": 0.2},
)
def _close(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    data = payload(p["bytes"], p["seed"])
    if p["closer"] == "client":
        net.add(client, Client(data=data, after_send="close"))
        net.add(server, Server(close_delay=p["close_delay"]))
    else:
        net.add(client, Client(data=data, after_send=None))
        client_app = net.apps["client"][0]
        client_app.after_send = None
        net.apps["client"].append(_CloseOnEof(p["close_delay"]))
        net.add(server, Server(close_on_eof=False, close_at=0.0))


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
    {"bytes": 4380, "close_delay": 0.2, "crash": False},
)
def _full(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    net.add(client, Client(data=payload(p["bytes"], p["seed"]), after_send="close", crash_after_send=p["crash"]))
    net.add(server, Server(close_delay=p["close_delay"]))


@scenario("simultaneous-open", "both sides connect() to each other at once; the SYNs cross", {"bytes": 0})
def _simultaneous_open(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    net.add(client, Client(peer="server", port=5001, local_port=5000, data=payload(p["bytes"], p["seed"]), after_send=None))
    net.add(server, Client(peer="client", port=5000, local_port=5001, after_send=None))


@scenario("simultaneous-close", "both sides close at CLOSE_AT; the FINs cross (CLOSING)", {"close_at": 1.0})
def _simultaneous_close(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    net.add(client, Client(after_send=None), Closer("server", p["close_at"]))
    net.add(server, Server(close_on_eof=False), Closer("client", p["close_at"]))


@scenario(
    "half-close",
    "client sends BYTES and half-closes; the server keeps sending RESPONSE_BYTES from CLOSE-WAIT",
    {"bytes": 1000, "response_bytes": 8000, "close_delay": 0.0},
)
def _half_close(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    net.add(client, Client(data=payload(p["bytes"], p["seed"]), after_send="shutdown"))
    net.add(server, Server(response=payload(p["response_bytes"], p["seed"] + 1), close_delay=p["close_delay"]))


@scenario(
    "old-duplicate-syn",
    "a stale SYN from an old connection arrives first and is rejected with RST (RFC 9293 Figure 8)",
    {"old_isn": None},
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
    ghost = Segment("client", "server", 40000, 80, old_isn, 0, Flag.SYN, mss=profile.mss, note="old duplicate")
    net.inject(ghost, 0.0)


@scenario("refused", "connect() to a port nobody listens on: RST, ECONNREFUSED", {"port": 81})
def _refused(net: Network, profile: Profile, p: dict[str, Any]) -> None:
    client, server = _client_server(net, profile, p)
    net.add(client, Client(port=p["port"], after_send=None))
    net.add(server, Server(port=80, close_on_eof=False))


@scenario(
    "abort",
    "the server closes with unread data (how=unread) or the client aborts (how=abort): RST",
    {"bytes": 3000, "how": "unread", "close_at": 0.5},
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
    {
        "attack_rate": 50.0,
        "attack_duration": 30.0,
        "clients": 10,
        "client_interval": 2.0,
        "client_start": 5.0,
        "bytes": 100,
        "attack_pattern": "even",
    },
    profile_defaults={"syn_backlog": 32, "syncookies": False},
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
        net.inject(Segment(f"spoofed-{k}", "server", port, 80, isn, 0, Flag.SYN, mss=1460, note="spoofed"), t)
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
    allowed = sc.parameters()
    for key in params:
        if key not in allowed:
            raise ParameterError(key, params[key], f"a parameter of scenario {sc.name!r}: {', '.join(sorted(allowed))}")
    p = {**allowed, **params}
    if p["profile"] not in PROFILES and not isinstance(p["profile"], Profile):
        raise ParameterError("profile", p["profile"], f"one of {', '.join(PROFILES)}")
    check_probability("loss", p["loss"])
    for key in ("loss_client", "loss_server"):
        if p[key] is not None:
            check_probability(key, p[key])
    p["drop"] = tuple(str(r) for r in parse_drop_rules(p["drop"]))
    if isinstance(p["seed"], bool) or not isinstance(p["seed"], int):
        raise ParameterError("seed", p["seed"], "an integer")
    check_nonnegative("rtt", p["rtt"])
    check_nonnegative("jitter", p["jitter"])
    for key in ("isn_client", "isn_server"):
        if isinstance(p[key], bool) or not isinstance(p[key], int) or not 0 <= p[key] < SEQ_SPACE:
            raise ParameterError(key, p[key], "an integer from 0 to 4294967295")
    if p["until"] is not None:
        check_positive("until", p["until"])
    if "bytes" in p:
        check_nonnegative("bytes", p["bytes"], integer=True)
        if p["bytes"] > 200_000_000:
            raise ParameterError("bytes", p["bytes"], "an integer from 0 to 200000000")
    for key in ("close_delay", "close_at", "response_bytes"):
        if key in p and p[key] is not None:
            check_nonnegative(key, p[key], integer=key == "response_bytes")
    if "closer" in p and p["closer"] not in ("client", "server"):
        raise ParameterError("closer", p["closer"], "client or server")
    if "how" in p and p["how"] not in ("unread", "abort"):
        raise ParameterError("how", p["how"], "unread or abort")
    if "crash" in p and not isinstance(p["crash"], bool):
        raise ParameterError("crash", p["crash"], "True or False")
    if "port" in p and (isinstance(p["port"], bool) or not isinstance(p["port"], int) or not 1 <= p["port"] <= 65535):
        raise ParameterError("port", p["port"], "an integer from 1 to 65535")
    old_isn = p.get("old_isn")
    if old_isn is not None and (not isinstance(old_isn, int) or not 0 <= old_isn < SEQ_SPACE or old_isn == p["isn_client"]):
        raise ParameterError("old_isn", old_isn, "an integer from 0 to 4294967295 other than isn_client")
    if sc.name == "syn-flood":
        check_nonnegative("attack_rate", p["attack_rate"])
        check_nonnegative("attack_duration", p["attack_duration"])
        if p["attack_pattern"] not in ("even", "poisson"):
            raise ParameterError("attack_pattern", p["attack_pattern"], "even or poisson")
        if p["attack_rate"] * p["attack_duration"] > 1_000_000:
            raise ParameterError("attack_rate", p["attack_rate"], "a rate whose flood (rate x duration) is at most 1000000 SYNs")
        check_positive("clients", p["clients"], integer=True, minimum=1)
        if p["clients"] > 1000:
            raise ParameterError("clients", p["clients"], "an integer from 1 to 1000")
        check_nonnegative("client_interval", p["client_interval"])
        check_nonnegative("client_start", p["client_start"])
    return p


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
    ``syn_backlog`` …) and the scenario's own (see :func:`describe`).  A wrong
    name or value raises :class:`~tcpbook.errors.ParameterError`.
    """
    sc = get_scenario(scenario_name)
    p = validate_params(sc, params)
    overrides = {name: p[name] for name in PROFILE_PARAMETERS if p.get(name) is not None}
    for name in NULLABLE_PARAMETERS:
        if name in params and params[name] is None:
            overrides[name] = None
    profile = get_profile(p["profile"], **overrides)
    loss_by_sender = {}
    if p["loss_client"] is not None:
        loss_by_sender["client"] = p["loss_client"]
    if p["loss_server"] is not None:
        loss_by_sender["server"] = p["loss_server"]
    link = Link(delay=p["rtt"] / 2, loss=p["loss"], loss_by_sender=loss_by_sender, drop_rules=list(p["drop"]), jitter=p["jitter"], seed=p["seed"])
    net = Network(link)
    extra = sc.builder(net, profile, p) or {}
    net.run(until=p["until"])
    stats_fn = extra.get("stats")
    record = {
        "scenario": sc.name,
        **{
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in p.items()
            if not (k in PROFILE_PARAMETERS and v is None and k not in params)
        },
    }
    if isinstance(record["profile"], Profile):
        record["profile"] = record["profile"].name
    return net.trace(record, stats_fn() if stats_fn else None)


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name`` (raises :class:`ParameterError` listing them all)."""
    if name not in SCENARIOS:
        raise ParameterError("scenario", name, "one of " + ", ".join(SCENARIOS))
    return SCENARIOS[name]


def describe(name: str) -> str:
    """One paragraph: what the scenario does and its own parameters with defaults."""
    sc = get_scenario(name)
    own = ", ".join(f"{k}={v!r}" for k, v in sc.defaults.items())
    return f"{sc.name}: {sc.summary}" + (f" (parameters: {own})" if own else "")
