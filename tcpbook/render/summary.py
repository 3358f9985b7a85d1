"""The outcome of a run in a few lines of HTML, for the explorers and the chapters."""

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
        finals.append(f"{_name(n, i)} {escape(state)}" + (f' <b style="color:{style.DROP}">{escape(error)}</b>' if error else ""))
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
    return f'<span style="color:{style.endpoint_colour(name, index)};font-weight:600">{escape(name)}</span>'
