"""The outcome of a run in words: a few lines of HTML for the explorers and the chapters,
and the alt text every picture of a run carries (:func:`alt_text`), so a reader who
cannot see the picture hears the same story."""

from __future__ import annotations

from html import escape

from ..errors import ParameterError
from ..trace import Trace
from . import style
from .lanes import fmt_duration


def outcome_facts(trace: Trace) -> dict[str, object]:
    """The numbers the summary states, as data (tests and chapters use them too)."""
    o = trace.outcome
    segments = trace.segments
    real = [s for s in segments if not (s.src.startswith("spoofed") or s.dst.startswith("spoofed"))]
    established = {name: eo.established_at for name, eo in o.endpoints.items() if not name.startswith("spoofed")}
    return {
        "established": established,
        "segments": len(real),
        "retransmissions": sum(1 for s in real if s.retransmission),
        "lost": sum(1 for s in real if s.dropped),
        "bytes_sent": o.bytes_sent,
        "bytes_delivered": o.bytes_delivered,
        "digest_match": o.digest_match,
        "end_time": o.end_time,
        "final": {name: (eo.final_state, eo.error) for name, eo in o.endpoints.items() if not name.startswith("spoofed")},
    }


def outcome_summary(trace: Trace) -> str:
    """A short HTML summary: established or not and when, retransmissions and losses,
    bytes delivered and whether the digests match, final states and errors."""
    if not isinstance(trace, Trace):
        raise ParameterError("trace", type(trace).__name__, "a tcpbook Trace")
    facts = outcome_facts(trace)
    o = trace.outcome
    names = [n for n in (trace.endpoints or tuple(o.endpoints)) if n in facts["final"]]
    rows: list[str] = []
    ok, bad = "✔", "✘"

    est = facts["established"]
    done = [n for n in names if est.get(n) is not None]
    if len(names) > 2:
        clients = [n for n in names if n != "server"]
        served = [n for n in clients if est.get(n) is not None]
        rows.append(f"<b>{len(served)} of {len(clients)}</b> legitimate clients connected")
        if served:
            times = [est[n] for n in served]
            rows.append(f"first at {min(times):.3f} s, last at {max(times):.3f} s")
    elif len(done) == len(names) and names:
        when = ", ".join(f"{_name(n, i)} {est[n]:.3f} s" for i, n in enumerate(names))
        rows.append(f"{ok} <b>established</b> ({when})")
    else:
        rows.append(f"{bad} <b>not established</b>" + (f" (only {', '.join(done)})" if done else ""))
    rows.append(
        f"{facts['segments']} segments, <b>{facts['retransmissions']}</b> retransmitted, <b>{facts['lost']}</b> lost"
    )
    if o.bytes_sent or o.bytes_delivered:
        mark = ok if o.digest_match else bad
        rows.append(
            f"{o.bytes_delivered:,} of {o.bytes_sent:,} bytes delivered; "
            f"MD5 digests {'match' if o.digest_match else '<b>differ</b>'} {mark}"
        )
    finals = []
    for i, n in enumerate(names[:6]):
        state, error = facts["final"][n]
        error_colour = style.text_colour(style.DROP, "#FFFFFF")
        finals.append(f"{_name(n, i)} {escape(state)}" + (f' <b style="color:{error_colour}">{escape(error)}</b>' if error else ""))
    if len(names) > 6:
        finals.append(f"… {len(names) - 6} more")
    rows.append("final: " + "; ".join(finals))
    rows.append(f"run ended at {fmt_duration(o.end_time) if o.end_time else '0 s'}")
    stats = o.stats
    if "syn_dropped_syn_queue_full" in stats:
        rows.append(
            f"SYN queue full: {stats['syn_dropped_syn_queue_full']:,} SYNs dropped; "
            f"SYN cookies sent {stats.get('cookies_sent', 0):,}, accepted {stats.get('cookies_accepted', 0):,}"
        )
    body = "".join(f"<li>{r}</li>" for r in rows)
    return (
        '<div class="tcpbook-summary" style="font-size:13px;line-height:1.45">'
        f'<ul style="margin:0;padding-left:1.1em">{body}</ul></div>'
    )


def _name(name: str, index: int) -> str:
    # A darker shade of the endpoint's colour: text keeps 4.5:1 contrast (WCAG AA).
    colour = style.text_colour(style.endpoint_colour(name, index), "#FFFFFF")
    return f'<span style="color:{colour};font-weight:600">{escape(name)}</span>'


# ------------------------------------------------------------------------- alt text


def _shown(trace: Trace) -> list[str]:
    """The endpoints a description names: both of a two-party run, else the server and
    the legitimate clients (never the spoofed sources of a flood)."""
    names = list(trace.endpoints or trace.outcome.endpoints)
    return [n for n in names if not n.startswith("spoofed") and n in trace.outcome.endpoints]


def describe_run(trace: Trace) -> str:
    """The run in one sentence: ``3 segments; client ESTABLISHED at 0.100 s, server at 0.150 s; …``.

    Segments (how many lost and retransmitted), when each endpoint became ESTABLISHED,
    how each ended (final state and socket error), the bytes delivered and when the run
    ended.  Spoofed sources of a flood are counted, not named.
    """
    if not isinstance(trace, Trace):
        raise ParameterError("trace", type(trace).__name__, "a tcpbook Trace")
    facts = outcome_facts(trace)
    n = facts["segments"]
    parts = [f"{n} segment{'s' if n != 1 else ''}"]
    extra = [f"{facts['lost']} lost"] if facts["lost"] else []
    if facts["retransmissions"]:
        extra.append(f"{facts['retransmissions']} retransmitted")
    if extra:
        parts[0] += " (" + ", ".join(extra) + ")"
    spoofed = sum(1 for s in trace.segments if s.src.startswith("spoofed"))
    if spoofed:
        parts.append(f"{spoofed:,} spoofed SYNs")
    names = _shown(trace)
    parts.append(_established_words(trace, names))
    parts.append(_final_words(facts, names))
    o = trace.outcome
    if o.bytes_sent or o.bytes_delivered:
        same = "intact" if o.digest_match else "damaged"
        parts.append(f"{o.bytes_delivered:,} of {o.bytes_sent:,} bytes delivered, {same}")
    parts.append(f"run ends at {o.end_time:.3f} s")
    return "; ".join(p for p in parts if p)


def _established_words(trace: Trace, names: list[str]) -> str:
    est = outcome_facts(trace)["established"]
    if len(names) > 2:
        clients = [n for n in names if n != "server"]
        served = [n for n in clients if est.get(n) is not None]
        return f"{len(served)} of {len(clients)} clients ESTABLISHED"
    words = []
    for i, name in enumerate(names):
        at = est.get(name)
        if at is None:
            words.append(f"{name} never ESTABLISHED")
        else:
            words.append(f"{name} ESTABLISHED at {at:.3f} s" if i == 0 or "ESTABLISHED" not in words[-1]
                         else f"{name} at {at:.3f} s")
    return ", ".join(words)


def _final_words(facts: dict[str, object], names: list[str]) -> str:
    final = facts["final"]
    shown = names if len(names) <= 2 else [n for n in names if n == "server"]
    words = []
    for name in shown:
        state, error = final[name]  # type: ignore[index]
        words.append(f"{name} {state}" + (f" ({error})" if error else ""))
    return ("at the end " + ", ".join(words)) if words else ""


def alt_text(trace: Trace, picture: str = "ladder", *, phase: str | None = None) -> str:
    """The alt text of a picture of ``trace``: what kind of picture, then :func:`describe_run`.

    ``picture``: ``"ladder"`` (the sequence of segments) or ``"state"`` (the state
    diagram, which also says the path each endpoint took; ``phase`` names its part).
    """
    if picture not in ("ladder", "state"):
        raise ParameterError("picture", picture, "'ladder' or 'state'")
    scenario = trace.params.get("scenario", "") if isinstance(trace, Trace) else ""
    run = describe_run(trace)
    of = f" of the {scenario} run" if scenario else ""
    if picture == "ladder":
        return f"Ladder diagram{of}: {run}."
    part = {"open": " (opening a connection)", "close": " (closing a connection)"}.get(phase or "", "")
    shown = _shown(trace)
    if len(shown) > 2:
        shown = ["server", *[n for n in shown if n != "server"][:1]]
    paths = []
    for name in shown:
        path = _collapse(trace.state_path(name))
        if path:
            paths.append(f"{name} " + " → ".join(path))
    return f"State diagram{of}{part}: " + "; ".join(paths) + f". {run[0].upper()}{run[1:]}."


def _collapse(path: list[str]) -> list[str]:
    """Consecutive repeats (a state's retransmission loops) said once: ``SYN-SENT (×3)``."""
    out: list[str] = []
    counts: list[int] = []
    for state in path:
        if out and out[-1] == state:
            counts[-1] += 1
        else:
            out.append(state)
            counts.append(1)
    return [s if k == 1 else f"{s} (×{k})" for s, k in zip(out, counts)]
