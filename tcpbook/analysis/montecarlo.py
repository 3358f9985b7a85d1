"""Monte Carlo sweeps: run many seeded trials per point, estimate, and set the models beside.

Every sweep takes a grid of parameters and a ``seed`` and returns a tidy :class:`Table`:
one row per point and quantity (``metric``), with the estimate, its 95 % confidence
interval, the sample size and, where there is one, the model's value::

    >>> t = sweep_handshake([0.0, 0.2], [1], trials=2000, seed=1)
    >>> t.where(metric="p_client", loss=0.2).rows[0]["model"] < 1
    True

Two engines:

* ``engine="event"`` runs :func:`tcpbook.simulate` once per trial (about 0.2 ms for a
  handshake): every detail of the stack, one trial at a time;
* ``engine="fast"`` (handshake only) draws all trials of a point at once with
  :mod:`tcpbook.analysis.fastpath` — the same model, about 100 times faster.

Confidence intervals: Wilson's score interval for probabilities (good near 0 and 1),
mean ± 1.96 standard errors for means.  The same seed gives the same table, byte for
byte: each point gets its own random stream, derived from ``(seed, point index)``.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ParameterError, check_nonnegative, check_positive, check_probability
from ..profiles import Profile, get_profile
from ..scenarios import prepare, simulate
from ..trace import Trace
from . import models
from .fastpath import check_trials, sample_handshake, sample_transmissions

Z95 = 1.959963984540054  # the 97.5 % point of the standard normal


# -- the table ------------------------------------------------------------------------------


@dataclass
class Table:
    """A tidy table: a list of rows (dicts) sharing the same ``columns``.

    Small on purpose (no pandas needed): filter with :meth:`where`, pull a column with
    :meth:`column`, print with :meth:`to_text`, save with :meth:`to_csv`.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.columns:
            cols: list[str] = []
            for row in self.rows:
                cols.extend(k for k in row if k not in cols)
            self.columns = tuple(cols)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]

    def where(self, **conditions: Any) -> Table:
        """Rows whose columns equal the given values (floats compared to 1e-12)."""

        def match(row: dict[str, Any]) -> bool:
            for key, want in conditions.items():
                got = row.get(key)
                if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
                    if abs(got - want) > 1e-12:
                        return False
                elif got != want:
                    return False
            return True

        return Table([r for r in self.rows if match(r)], self.columns)

    def column(self, name: str) -> list[Any]:
        """The values of one column, in row order."""
        if name not in self.columns:
            raise ParameterError("column", name, "one of " + ", ".join(self.columns))
        return [r.get(name) for r in self.rows]

    def array(self, name: str) -> np.ndarray:
        """A column as a float array (``None`` becomes NaN)."""
        return np.array([math.nan if v is None else float(v) for v in self.column(name)])

    def to_text(self, columns: Sequence[str] | None = None, digits: int = 4) -> str:
        """A fixed-width text table."""
        cols = list(columns or self.columns)

        def fmt(v: Any) -> str:
            if v is None:
                return "-"
            if isinstance(v, float):
                return "nan" if math.isnan(v) else ("inf" if math.isinf(v) else f"{v:.{digits}g}")
            return str(v)

        cells = [[fmt(r.get(c)) for c in cols] for r in self.rows]
        widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
        lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths))]
        lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
        return "\n".join(lines)

    def to_csv(self) -> str:
        """CSV text (repr of floats: exact, so equal tables give equal bytes)."""
        out = [",".join(self.columns)]
        for r in self.rows:
            vals = []
            for c in self.columns:
                v = r.get(c)
                vals.append("" if v is None else (repr(v) if isinstance(v, float) else str(v)))
            out.append(",".join(vals))
        return "\n".join(out) + "\n"

    def __str__(self) -> str:
        return self.to_text()


# -- statistics -----------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a probability from ``successes`` out of ``n``.

    >>> [round(x, 4) for x in wilson_interval(0, 10)]
    [0.0, 0.2775]
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values: np.ndarray, z: float = Z95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean ± ``z`` standard errors (NaN when empty)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(v.mean())
    if v.size < 2:
        return (mean, math.nan, math.nan)
    se = float(v.std(ddof=1)) / math.sqrt(v.size)
    return (mean, mean - z * se, mean + z * se)


def _prop_row(base: dict[str, Any], metric: str, hits: int, n: int, model: float | None) -> dict[str, Any]:
    lo, hi = wilson_interval(hits, n)
    return {
        **base,
        "metric": metric,
        "estimate": hits / n if n else math.nan,
        "ci_low": lo,
        "ci_high": hi,
        "n": n,
        "model": model,
    }


def _mean_row(base: dict[str, Any], metric: str, values: np.ndarray, model: float | None) -> dict[str, Any]:
    mean, lo, hi = mean_interval(values)
    return {
        **base,
        "metric": metric,
        "estimate": mean,
        "ci_low": lo,
        "ci_high": hi,
        "n": int(np.size(values)),
        "model": model,
    }


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """Plain Python floats rounded to 12 significant digits: stable text and CSV."""
    out = {}
    for k, v in row.items():
        if isinstance(v, (float, np.floating)):
            v = float(v)
            v = v if (math.isnan(v) or math.isinf(v)) else float(f"{v:.12g}")
        elif isinstance(v, np.integer):
            v = int(v)
        out[k] = v
    return out


# -- progress -------------------------------------------------------------------------------


def progress_enabled(progress: bool | None) -> bool:
    """Show a bar? ``True``/``False`` decide; ``None`` means: only on a terminal, and not
    when ``TCPBOOK_PROGRESS=0``."""
    if progress is not None:
        return bool(progress)
    if os.environ.get("TCPBOOK_PROGRESS", "") == "0":
        return False
    return sys.stderr.isatty()


def _progress(items: Iterable[Any], total: int, desc: str, progress: bool | None) -> Iterable[Any]:
    if not progress_enabled(progress):
        return items
    from tqdm.auto import tqdm

    # delay=1: the bar appears only for sweeps that run longer than a second
    return tqdm(items, total=total, desc=desc, delay=1.0, leave=False)


def _point_seed(seed: int, index: int) -> np.random.SeedSequence:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError("seed", seed, "an integer >= 0")
    return np.random.SeedSequence([int(seed), int(index)])


def _trial_seeds(ss: np.random.SeedSequence, trials: int) -> list[int]:
    return [int(x) for x in ss.generate_state(trials, dtype=np.uint32)]


def _values(name: str, values: Any, check: Callable[[str, Any], Any]) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        values = [values]
    values = list(values)
    if not values:
        raise ParameterError(name, values, "at least one value")
    for v in values:
        check(name, v)
    return values


def _check_retries(name: str, v: Any) -> None:
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= 64):
        raise ParameterError(name, v, "an integer from 0 to 64 or None")


def _check_bool(name: str, v: Any) -> None:
    if not isinstance(v, bool):
        raise ParameterError(name, v, "True or False")


def _check_engine(engine: str, allowed: tuple[str, ...]) -> None:
    if engine not in allowed:
        raise ParameterError("engine", engine, " or ".join(allowed))


def _established_at(trace: Trace, name: str) -> float:
    at = trace.established_at(name)
    return math.inf if at is None else at


# -- handshake ------------------------------------------------------------------------------

HANDSHAKE_METRICS = ("p_client", "p_server", "mean_client_time", "mean_server_time")


def handshake_times(
    loss: float,
    trials: int,
    *,
    seed: int | np.random.SeedSequence = 0,
    engine: str = "fast",
    progress: bool | None = None,
    **params: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Times at which the client and the server reached ESTABLISHED (``inf``: never),
    one entry per trial.  ``params`` go to the scenario (``syn_retries``, ``rtt`` …)."""
    _check_engine(engine, ("fast", "event"))
    n = check_trials(trials)
    ss = seed if isinstance(seed, np.random.SeedSequence) else _point_seed(seed, 0)
    if engine == "fast":
        sample = sample_handshake(n, loss, seed=np.random.default_rng(ss), **params)
        return sample.client_time, sample.server_time
    client = np.empty(n)
    server = np.empty(n)
    seeds = _trial_seeds(ss, n)
    run = prepare("handshake", loss=loss, **params)  # parameters checked once, not per trial
    for i, s in enumerate(_progress(seeds, n, "handshakes", progress)):
        trace = run(seed=s)
        client[i] = _established_at(trace, "client")
        server[i] = _established_at(trace, "server")
    return client, server


def sweep_handshake(
    losses: Sequence[float] | float = tuple(round(0.05 * i, 2) for i in range(11)),
    syn_retries: Sequence[int | None] | int | None = tuple(range(7)),
    trials: int = 100_000,
    seed: int = 0,
    *,
    engine: str = "fast",
    profile: str = "linux",
    rtt: float = 0.1,
    progress: bool | None = None,
    **params: Any,
) -> Table:
    """The handshake over ``losses`` × ``syn_retries``: ``trials`` runs per point.

    Metrics per point: ``p_client`` and ``p_server`` (probability each side reaches
    ESTABLISHED), ``mean_client_time`` and ``mean_server_time`` (seconds from
    ``connect()``, over the trials that got there).  Columns ``model`` (the geometric
    model: :func:`~tcpbook.analysis.models.geometric_p_established`, …) and, for
    ``mean_client_time``, ``cardwell`` (eq. 4 with ``T_s`` = the profile's initial RTO;
    it has no retry cap) and ``uncapped`` (the geometric model with no cap, on the
    profile's timeout schedule).
    """
    _check_engine(engine, ("fast", "event"))
    loss_list = _values("losses", losses, check_probability)
    retries_list = _values("syn_retries", syn_retries, _check_retries)
    n = check_trials(trials)
    grid = list(itertools.product(retries_list, loss_list))
    rows: list[dict[str, Any]] = []
    desc = f"handshake sweep ({engine})"
    for index, (retries, loss) in enumerate(_progress(grid, len(grid), desc, progress)):
        prof = get_profile(profile, syn_retries=retries, **{k: v for k, v in params.items() if k in _PROFILE_KEYS})
        sched = models.handshake_schedule(prof)
        client, server = handshake_times(
            loss,
            n,
            seed=_point_seed(seed, index),
            engine=engine,
            profile=profile,
            rtt=rtt,
            syn_retries=retries,
            **params,
        )
        base = {"engine": engine, "loss": float(loss), "syn_retries": retries, "attempts": sched.attempts}
        rows.extend(_handshake_rows(base, client, server, prof, sched, loss, rtt, params))
    return Table([_clean(r) for r in rows], _HANDSHAKE_COLUMNS)


_HANDSHAKE_COLUMNS = (
    "engine",
    "loss",
    "syn_retries",
    "attempts",
    "metric",
    "estimate",
    "ci_low",
    "ci_high",
    "n",
    "model",
    "cardwell",
    "uncapped",
)


def _handshake_rows(
    base: dict[str, Any],
    client: np.ndarray,
    server: np.ndarray,
    prof: Profile,
    sched: models.HandshakeSchedule,
    loss: float,
    rtt: float,
    params: dict[str, Any],
) -> list[dict[str, Any]]:
    """The four rows of one point of :func:`sweep_handshake`: each side's probability of
    reaching ESTABLISHED and its mean time, each beside its models."""
    n = client.size
    lc = params.get("loss_client", loss) if params.get("loss_client") is not None else loss
    ls = params.get("loss_server", loss) if params.get("loss_server") is not None else loss
    ok_c, ok_s = np.isfinite(client), np.isfinite(server)
    linear = prof.linear_syn_timeouts
    rows = [
        _prop_row(base, "p_client", int(ok_c.sum()), n, models.geometric_p_established(lc, sched.attempts, ls)),
        _prop_row(base, "p_server", int(ok_s.sum()), n, models.geometric_server_p_established(lc, sched.attempts, ls)),
    ]
    row = _mean_row(base, "mean_client_time", client[ok_c], models.geometric_mean_time(lc, sched.syn_times, rtt, ls))
    row["cardwell"] = models.cardwell_handshake_time(rtt, lc, ls, t_s=prof.rto_initial)
    row["uncapped"] = models.geometric_uncapped_mean_time(lc, rtt, prof.rto_initial, linear, ls)
    rows.append(row)
    mean_s = models.geometric_mean_time(lc, sched.syn_times, rtt, ls)
    rows.append(_mean_row(base, "mean_server_time", server[ok_s], mean_s + rtt / 2 if math.isfinite(mean_s) else mean_s))
    return rows


_PROFILE_KEYS = ("synack_retries", "linear_syn_timeouts", "rto_initial", "rto_max")


def time_distribution(times: np.ndarray, loss: float, syn_times: Sequence[float], rtt: float = 0.1) -> Table:
    """The distribution of the time to establish, simulation beside the geometric model.

    One row per distinct time: ``share`` of trials that established exactly then (with
    its Wilson interval) and the model's probability (``model``, 0 if the model never
    gives that time: the simulator's extra recovery paths).
    """
    times = np.asarray(times, dtype=float)
    n = times.size
    if n == 0:
        raise ParameterError("times", "[]", "at least one trial")
    done = np.round(times[np.isfinite(times)], 6)
    values, counts = np.unique(done, return_counts=True)
    model = {round(t, 6): p for t, p in models.geometric_time_distribution(loss, syn_times, rtt)}
    keys = sorted(set(values.tolist()) | set(model))
    by_value = dict(zip(values.tolist(), counts.tolist()))
    rows = []
    for t in keys:
        hits = by_value.get(t, 0)
        lo, hi = wilson_interval(hits, n)
        rows.append(_clean({"time": t, "share": hits / n, "ci_low": lo, "ci_high": hi, "model": model.get(t, 0.0)}))
    return Table(rows, ("time", "share", "ci_low", "ci_high", "model"))


# -- one segment (fast path) and data transfer (event simulator) -------------------------------


def sweep_transmissions(
    losses: Sequence[float] | float = tuple(round(0.05 * i, 2) for i in range(11)),
    max_transmissions: Sequence[int] | int = (1, 2, 4, 16),
    trials: int = 100_000,
    seed: int = 0,
    *,
    progress: bool | None = None,
) -> Table:
    """Transmissions of one segment (truncated geometric), fast path beside the model.

    Metrics: ``mean_transmissions`` (model: :func:`~tcpbook.analysis.models.transmissions_mean`)
    and ``p_delivered`` (some try got through; model ``1 - loss**max_transmissions``).
    """
    loss_list = _values("losses", losses, check_probability)
    caps = _values("max_transmissions", max_transmissions, lambda n, v: check_positive(n, v, integer=True, minimum=1))
    n = check_trials(trials)
    rows = []
    grid = list(itertools.product(caps, loss_list))
    for index, (cap, loss) in enumerate(_progress(grid, len(grid), "transmissions", progress)):
        rng = np.random.default_rng(_point_seed(seed, index))
        # Which try got through (if any): draw the uncapped count, then cap it.
        first = sample_transmissions(n, loss, None, seed=rng) if loss < 1 else np.full(n, cap + 1)
        x = np.minimum(first, cap)
        base = {"engine": "fast", "loss": float(loss), "max_transmissions": cap}
        rows.append(_mean_row(base, "mean_transmissions", x, models.transmissions_mean(1 - loss, cap)))
        rows.append(_prop_row(base, "p_delivered", int((first <= cap).sum()), n, 1 - loss**cap))
    return Table(
        [_clean(r) for r in rows],
        ("engine", "loss", "max_transmissions", "metric", "estimate", "ci_low", "ci_high", "n", "model"),
    )


def transfer_measures(trace: Trace) -> dict[str, float]:
    """From one ``transfer`` trace: data segments sent, distinct segments, completion
    time (the last byte handed to the server's application) and goodput (bytes/s)."""
    data = [s for s in trace.segments if s.src == "client" and s.len > 0]
    distinct = len({s.seq for s in data})
    total = int(trace.params.get("bytes", 0))
    deliveries = [e.t for e in trace.app_events if e.endpoint == "server" and e.action == "data"]
    delivered = trace.outcome.endpoints["server"].bytes_delivered
    complete = delivered == total and trace.outcome.digest_match
    done = max(deliveries) if deliveries and complete else math.inf
    return {
        "transmissions": len(data) / distinct if distinct else math.nan,
        "complete": float(complete),
        "completion_time": done,
        "goodput": total / done if math.isfinite(done) and done > 0 else 0.0,
    }


def sweep_transfer(
    losses: Sequence[float] | float = (0.0, 0.01, 0.05, 0.1, 0.2),
    nbytes: int = 14600,
    trials: int = 200,
    seed: int = 0,
    *,
    progress: bool | None = None,
    **params: Any,
) -> Table:
    """Data transfer (scenario ``transfer``, ``nbytes`` bytes) with the event simulator.

    Metrics: ``transmissions_per_segment`` (data segments sent / distinct segments;
    model: the truncated geometric mean with the profile's ``retries2``),
    ``p_complete``, ``completion_time`` (s, over completed runs) and ``goodput``
    (bytes/s, 0 for a run that never completed).  Completion time and goodput have no
    closed-form model here.
    """
    loss_list = _values("losses", losses, check_probability)
    n = check_trials(trials)
    retries = get_profile(params.get("profile", "linux")).retries2
    rows = []
    for index, loss in enumerate(loss_list):
        seeds = _trial_seeds(_point_seed(seed, index), n)
        ms = [
            transfer_measures(simulate("transfer", bytes=nbytes, loss=loss, seed=s, **params))
            for s in _progress(seeds, n, f"transfer loss={loss}", progress)
        ]
        arr = {k: np.array([m[k] for m in ms]) for k in ms[0]}
        base = {"engine": "event", "loss": float(loss), "bytes": nbytes}
        cap = None if retries is None else retries + 1
        model_tx = models.transmissions_mean(1 - loss, cap) if loss < 1 else float(cap or math.inf)
        rows.append(
            _mean_row(
                base, "transmissions_per_segment", arr["transmissions"][np.isfinite(arr["transmissions"])], model_tx
            )
        )
        rows.append(_prop_row(base, "p_complete", int(arr["complete"].sum()), n, None))
        done = arr["completion_time"]
        rows.append(_mean_row(base, "completion_time", done[np.isfinite(done)], None))
        rows.append(_mean_row(base, "goodput", arr["goodput"], None))
    return Table(
        [_clean(r) for r in rows], ("engine", "loss", "bytes", "metric", "estimate", "ci_low", "ci_high", "n", "model")
    )


# -- teardown -------------------------------------------------------------------------------


def time_in_state(trace: Trace, endpoint: str, state: str) -> float:
    """Seconds ``endpoint``'s main connection spent in ``state`` (until the run's end)."""
    total, since = 0.0, None
    for e in trace.states_of(endpoint, trace.main_peer(endpoint)):
        if e.state == state and since is None:
            since = e.t
        elif e.state != state and since is not None:
            total += e.t - since
            since = None
    if since is not None:
        total += trace.outcome.end_time - since
    return total


def teardown_measures(trace: Trace, closer: str = "client") -> dict[str, float]:
    """Clean close (both ends CLOSED, no error, no RST on the wire), time the active
    closer spent in TIME-WAIT and the passive closer in LAST-ACK."""
    other = "server" if closer == "client" else "client"
    out = trace.outcome.endpoints
    rst = any("RST" in s.flags for s in trace.segments)
    clean = all(
        out[n].final_state == "CLOSED" and out[n].error is None and out[n].established_at is not None
        for n in (closer, other)
    )
    return {
        "clean": float(clean and not rst),
        "time_wait": time_in_state(trace, closer, "TIME-WAIT"),
        "last_ack": time_in_state(trace, other, "LAST-ACK"),
    }


def sweep_teardown(
    losses: Sequence[float] | float = (0.0, 0.05, 0.1, 0.2, 0.3),
    trials: int = 200,
    seed: int = 0,
    *,
    progress: bool | None = None,
    **params: Any,
) -> Table:
    """Teardown (scenario ``close``) with the event simulator.

    Metrics: ``p_clean`` (a clean close), ``time_wait`` (seconds in TIME-WAIT, over runs
    that entered it; model: the profile's ``time_wait`` — more is a retransmitted FIN
    restarting the timer) and ``last_ack`` (seconds in LAST-ACK over runs that entered
    it; model: one round trip, the lossless value).
    """
    loss_list = _values("losses", losses, check_probability)
    n = check_trials(trials)
    prof = get_profile(params.get("profile", "linux"), **{k: params[k] for k in ("time_wait",) if k in params})
    rtt = params.get("rtt", 0.1)
    closer = params.get("closer", "client")
    rows = []
    for index, loss in enumerate(loss_list):
        seeds = _trial_seeds(_point_seed(seed, index), n)
        ms = [
            teardown_measures(simulate("close", loss=loss, seed=s, **params), closer)
            for s in _progress(seeds, n, f"teardown loss={loss}", progress)
        ]
        arr = {k: np.array([m[k] for m in ms]) for k in ms[0]}
        base = {"engine": "event", "loss": float(loss)}
        rows.append(_prop_row(base, "p_clean", int(arr["clean"].sum()), n, None))
        tw = arr["time_wait"]
        rows.append(_mean_row(base, "time_wait", tw[tw > 0], prof.time_wait))
        la = arr["last_ack"]
        rows.append(_mean_row(base, "last_ack", la[la > 0], rtt))
    return Table([_clean(r) for r in rows], ("engine", "loss", "metric", "estimate", "ci_low", "ci_high", "n", "model"))


# -- SYN flood ------------------------------------------------------------------------------


def sweep_syn_flood(
    attack_rates: Sequence[float] | float = (0.0, 0.5, 2.0, 10.0, 50.0),
    backlogs: Sequence[int] | int = (32, 128),
    syncookies: Sequence[bool] | bool = (False, True),
    seed: int = 0,
    *,
    deadline: float = 3.0,
    progress: bool | None = None,
    **params: Any,
) -> Table:
    """Legitimate clients served during a SYN flood (scenario ``syn-flood``).

    One run per point (the flood itself is deterministic; ``seed`` sets the link's).
    Metrics: ``served_share`` (the scenario's ``stats["served_share"]``: clients that
    connected at all, binomial CI over the clients) and ``served_within`` (connected
    within ``deadline`` seconds of their first SYN).  No closed-form model.
    """
    rates = _values("attack_rates", attack_rates, check_nonnegative)
    backlogs = _values("backlogs", backlogs, lambda n, v: check_positive(n, v, integer=True, minimum=1))
    cookies = _values("syncookies", syncookies, _check_bool)
    grid = list(itertools.product(cookies, backlogs, rates))
    rows = []
    for cookie, backlog, rate in _progress(grid, len(grid), "syn flood", progress):
        trace = simulate(
            "syn-flood", attack_rate=float(rate), backlog=backlog, syncookies=cookie, seed=seed, **params
        )
        st = trace.outcome.stats
        clients = int(st["legitimate_clients"])
        quick = sum(1 for t in st["connect_times"] if t <= deadline)
        base = {"engine": "event", "attack_rate": float(rate), "backlog": backlog, "syncookies": cookie}
        rows.append(_prop_row(base, "served_share", int(st["legitimate_served"]), clients, None))
        rows.append(_prop_row(base, "served_within", quick, clients, None))
    return Table(
        [_clean(r) for r in rows],
        ("engine", "attack_rate", "backlog", "syncookies", "metric", "estimate", "ci_low", "ci_high", "n", "model"),
    )
