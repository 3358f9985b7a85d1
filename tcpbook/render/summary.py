"""The outcome of a run in words: a few lines of HTML for the explorers and the chapters,
and the alt text every picture of a run carries (:func:`alt_text`), so a reader who
cannot see the picture hears the same story.

Each speaks English or Chinese (``lang="en"``/``"zh"``; by default the language in use,
:func:`tcpbook.i18n.language`); names of endpoints, states and errors stay as they are.
"""

from __future__ import annotations

from html import escape

from ..errors import ParameterError
from ..i18n import resolve
from ..trace import Trace
from . import style
from .lanes import fmt_duration

# The sentences of the summary and the alt text, in each language.
PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "served": "<b>{served} of {clients}</b> legitimate clients connected",
        "first_last": "first at {first:.3f} s, last at {last:.3f} s",
        "established": "{ok} <b>established</b> ({when})",
        "not_established": "{bad} <b>not established</b>",
        "only": " (only {names})",
        "segments": "{segments} segments, <b>{retransmissions}</b> retransmitted, <b>{lost}</b> lost",
        "bytes": "{delivered:,} of {sent:,} bytes delivered; MD5 digests {verdict} {mark}",
        "match": "match",
        "differ": "<b>differ</b>",
        "final": "final: ",
        "more": "… {n} more",
        "ended": "run ended at {when}",
        "synq": "SYN queue full: {dropped:,} SYNs dropped; SYN cookies sent {sent:,}, accepted {accepted:,}",
        "sep": "; ",
        "comma": ", ",
        # alt text
        "n_segments": "{n} segment{s}",
        "lost": "{n} lost",
        "retransmitted": "{n} retransmitted",
        "spoofed": "{n:,} spoofed SYNs",
        "clients_est": "{served} of {clients} clients ESTABLISHED",
        "never_est": "{name} never ESTABLISHED",
        "est_at": "{name} ESTABLISHED at {at:.3f} s",
        "also_at": "{name} at {at:.3f} s",
        "at_end": "at the end ",
        "delivered": "{delivered:,} of {sent:,} bytes delivered, {same}",
        "intact": "intact",
        "damaged": "damaged",
        "run_ends": "run ends at {at:.3f} s",
        "ladder": "Ladder diagram{of}: {run}.",
        "state": "State diagram{of}{part}: {paths}. {run}.",
        "of": " of the {scenario} run",
        "open": " (opening a connection)",
        "close": " (closing a connection)",
        "paren": " ({text})",
    },
    "zh": {
        "served": "{clients} 个合法客户中 <b>{served} 个</b>连接成功",
        "first_last": "最早 {first:.3f} s，最晚 {last:.3f} s",
        "established": "{ok} <b>连接已建立</b>（{when}）",
        "not_established": "{bad} <b>连接未建立</b>",
        "only": "（仅 {names}）",
        "segments": "{segments} 个报文段，<b>{retransmissions}</b> 个重传，<b>{lost}</b> 个丢失",
        "bytes": "交付 {delivered:,} / {sent:,} 字节；MD5 摘要{verdict} {mark}",
        "match": "一致",
        "differ": "<b>不一致</b>",
        "final": "最终状态：",
        "more": "… 另有 {n} 个",
        "ended": "运行结束于 {when}",
        "synq": "SYN 队列已满：丢弃 {dropped:,} 个 SYN；发出 SYN cookie {sent:,} 个，被接受 {accepted:,} 个",
        "sep": "；",
        "comma": "，",
        "n_segments": "{n} 个报文段",
        "lost": "{n} 个丢失",
        "retransmitted": "{n} 个重传",
        "spoofed": "{n:,} 个伪造的 SYN",
        "clients_est": "{clients} 个客户中 {served} 个进入 ESTABLISHED",
        "never_est": "{name} 始终未进入 ESTABLISHED",
        "est_at": "{name} 在 {at:.3f} s 进入 ESTABLISHED",
        "also_at": "{name} 在 {at:.3f} s",
        "at_end": "结束时 ",
        "delivered": "交付 {delivered:,} / {sent:,} 字节，{same}",
        "intact": "数据完整",
        "damaged": "数据损坏",
        "run_ends": "运行结束于 {at:.3f} s",
        "ladder": "{of}时序图：{run}。",
        "state": "{of}状态图{part}：{paths}。{run}。",
        "of": "{scenario} 运行的",
        "open": "（连接建立）",
        "close": "（连接释放）",
        "paren": "（{text}）",
    },
}


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


def outcome_summary(trace: Trace, *, lang: str | None = None) -> str:
    """A short HTML summary: established or not and when, retransmissions and losses,
    bytes delivered and whether the digests match, final states and errors."""
    if not isinstance(trace, Trace):
        raise ParameterError("trace", type(trace).__name__, "a tcpbook Trace")
    say = PHRASES[resolve(lang)]
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
        rows.append(say["served"].format(served=len(served), clients=len(clients)))
        if served:
            times = [est[n] for n in served]
            rows.append(say["first_last"].format(first=min(times), last=max(times)))
    elif len(done) == len(names) and names:
        when = say["comma"].join(f"{_name(n, i)} {est[n]:.3f} s" for i, n in enumerate(names))
        rows.append(say["established"].format(ok=ok, when=when))
    else:
        rows.append(say["not_established"].format(bad=bad) +
                    (say["only"].format(names=say["comma"].join(done)) if done else ""))
    rows.append(say["segments"].format(segments=facts["segments"], retransmissions=facts["retransmissions"],
                                       lost=facts["lost"]))
    if o.bytes_sent or o.bytes_delivered:
        rows.append(say["bytes"].format(delivered=o.bytes_delivered, sent=o.bytes_sent,
                                        verdict=say["match"] if o.digest_match else say["differ"],
                                        mark=ok if o.digest_match else bad))
    finals = []
    for i, n in enumerate(names[:6]):
        state, error = facts["final"][n]
        error_colour = style.text_colour(style.DROP, "#FFFFFF")
        finals.append(f"{_name(n, i)} {escape(state)}" + (f' <b style="color:{error_colour}">{escape(error)}</b>' if error else ""))
    if len(names) > 6:
        finals.append(say["more"].format(n=len(names) - 6))
    rows.append(say["final"] + say["sep"].join(finals))
    rows.append(say["ended"].format(when=fmt_duration(o.end_time) if o.end_time else "0 s"))
    stats = o.stats
    if "syn_dropped_syn_queue_full" in stats:
        rows.append(say["synq"].format(dropped=stats["syn_dropped_syn_queue_full"], sent=stats.get("cookies_sent", 0),
                                       accepted=stats.get("cookies_accepted", 0)))
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


def describe_run(trace: Trace, *, lang: str | None = None) -> str:
    """The run in one sentence: ``3 segments; client ESTABLISHED at 0.100 s, server at 0.150 s; …``.

    Segments (how many lost and retransmitted), when each endpoint became ESTABLISHED,
    how each ended (final state and socket error), the bytes delivered and when the run
    ended.  Spoofed sources of a flood are counted, not named.
    """
    if not isinstance(trace, Trace):
        raise ParameterError("trace", type(trace).__name__, "a tcpbook Trace")
    say = PHRASES[resolve(lang)]
    facts = outcome_facts(trace)
    n = facts["segments"]
    parts = [say["n_segments"].format(n=n, s="s" if n != 1 else "")]
    extra = [say["lost"].format(n=facts["lost"])] if facts["lost"] else []
    if facts["retransmissions"]:
        extra.append(say["retransmitted"].format(n=facts["retransmissions"]))
    if extra:
        parts[0] += say["paren"].format(text=say["comma"].join(extra))
    spoofed = sum(1 for s in trace.segments if s.src.startswith("spoofed"))
    if spoofed:
        parts.append(say["spoofed"].format(n=spoofed))
    names = _shown(trace)
    parts.append(_established_words(trace, names, say))
    parts.append(_final_words(facts, names, say))
    o = trace.outcome
    if o.bytes_sent or o.bytes_delivered:
        same = say["intact"] if o.digest_match else say["damaged"]
        parts.append(say["delivered"].format(delivered=o.bytes_delivered, sent=o.bytes_sent, same=same))
    parts.append(say["run_ends"].format(at=o.end_time))
    return say["sep"].join(p for p in parts if p)


def _established_words(trace: Trace, names: list[str], say: dict[str, str]) -> str:
    est = outcome_facts(trace)["established"]
    if len(names) > 2:
        clients = [n for n in names if n != "server"]
        served = [n for n in clients if est.get(n) is not None]
        return say["clients_est"].format(served=len(served), clients=len(clients))
    words: list[str] = []
    said_established = False  # the second endpoint's time alone: "…, server at 0.150 s"
    for name in names:
        at = est.get(name)
        if at is None:
            words.append(say["never_est"].format(name=name))
            said_established = False
        else:
            words.append((say["also_at"] if said_established else say["est_at"]).format(name=name, at=at))
            said_established = True
    return say["comma"].join(words)


def _final_words(facts: dict[str, object], names: list[str], say: dict[str, str]) -> str:
    final = facts["final"]
    shown = names if len(names) <= 2 else [n for n in names if n == "server"]
    words = []
    for name in shown:
        state, error = final[name]  # type: ignore[index]
        words.append(f"{name} {state}" + (say["paren"].format(text=error) if error else ""))
    return (say["at_end"] + say["comma"].join(words)) if words else ""


def alt_text(trace: Trace, picture: str = "ladder", *, phase: str | None = None, lang: str | None = None) -> str:
    """The alt text of a picture of ``trace``: what kind of picture, then :func:`describe_run`.

    ``picture``: ``"ladder"`` (the sequence of segments) or ``"state"`` (the state
    diagram, which also says the path each endpoint took; ``phase`` names its part).
    """
    if picture not in ("ladder", "state"):
        raise ParameterError("picture", picture, "'ladder' or 'state'")
    lang = resolve(lang)
    say = PHRASES[lang]
    scenario = trace.params.get("scenario", "") if isinstance(trace, Trace) else ""
    run = describe_run(trace, lang=lang)
    of = say["of"].format(scenario=scenario) if scenario else ""
    if picture == "ladder":
        return say["ladder"].format(of=of, run=run)
    part = say.get(phase or "", "") if phase in ("open", "close") else ""
    shown = _shown(trace)
    if len(shown) > 2:
        shown = ["server", *[n for n in shown if n != "server"][:1]]
    paths = []
    for name in shown:
        path = _collapse(trace.state_path(name))
        if path:
            paths.append(f"{name} " + " → ".join(path))
    run_sentence = run[0].upper() + run[1:] if lang == "en" else run
    return say["state"].format(of=of, part=part, paths=say["sep"].join(paths), run=run_sentence)


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
