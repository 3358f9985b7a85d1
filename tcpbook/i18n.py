"""The language of the words tcpbook puts around its pictures: English or Chinese.

The book has two editions, English and Chinese (``zh/``), which run the *same* code
cells.  What differs is the language of the words the explorers and summaries show:
control names and value labels, the summary under an explorer, the alt text of every
picture.  The protocol's own words — state names, flags, ``client``/``server``, sysctls,
parameter names — stay as they are in both, as in the figures.

The language is, in this order:

1. the one set with :func:`set_language` (an instructor's notebook: ``set_language("zh")``);
2. the environment variable ``TCPBOOK_LANG`` (``en`` or ``zh``) — the book's build sets it
   for each edition, and a downloaded notebook's first cell sets it;
3. ``zh`` for a page run from inside the Chinese edition's folder (``zh/`` beside its
   ``_toc.yml``: JupyterLab and Binder start a chapter's kernel in the chapter's folder);
4. ``en``.

>>> set_language("zh")
>>> tr("off")
'关'
>>> set_language(None)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .errors import ParameterError

LANGUAGES = ("en", "zh")
ENV = "TCPBOOK_LANG"
_ALIASES = {"en": "en", "en_us": "en", "en-us": "en", "zh": "zh", "zh_cn": "zh", "zh-cn": "zh", "zh-hans": "zh"}
_chosen: str | None = None


def _normalise(value: str, name: str) -> str:
    lang = _ALIASES.get(value.strip().lower())
    if lang is None:
        raise ParameterError(name, value, "'en' or 'zh'")
    return lang


def set_language(lang: str | None) -> None:
    """Choose the language of explorers, summaries and alt texts (``"en"`` or ``"zh"``);
    ``None`` goes back to the automatic choice (see the module docstring)."""
    global _chosen
    if lang is not None and not isinstance(lang, str):
        raise ParameterError("lang", lang, "'en', 'zh' or None")
    _chosen = None if lang is None else _normalise(lang, "lang")


def language() -> str:
    """The language in use now: ``"en"`` or ``"zh"``."""
    if _chosen is not None:
        return _chosen
    env = os.environ.get(ENV, "").strip()
    if env:
        return _normalise(env, ENV)
    try:
        here = Path.cwd()
    except OSError:  # the working directory was removed
        return "en"
    for folder in (here, *here.parents):
        if folder.name == "zh" and (folder / "_toc.yml").is_file():
            return "zh"
    return "en"


def resolve(lang: str | None) -> str:
    """``lang`` checked, or the language in use when it is None."""
    if lang is None:
        return language()
    if not isinstance(lang, str):
        raise ParameterError("lang", lang, "'en', 'zh' or None")
    return _normalise(lang, "lang")


def tr(text: str, lang: str | None = None) -> str:
    """``text`` (an English phrase of the table ``ZH``) in the language ``lang`` (default: in use).

    A phrase without a translation is returned unchanged: names of states, flags and
    parameters are the same in both languages.
    """
    return ZH.get(text, text) if resolve(lang) == "zh" else text


# Lists in running text.  A chapter's hidden cells build the words an {eval} shows with
# these and with ``tr(phrase).format(...)`` (the phrases of :data:`ZH` may hold
# ``{name}`` fields, filled after translation), so the same cell reads naturally in both
# editions and shows the same numbers in the same order.

_SEPARATORS = {"en": (", ", " and ", "; "), "zh": ("、", " 和 ", "；")}


def join_words(items: Iterable[object], lang: str | None = None) -> str:
    """``items`` as a list in a sentence, the last one joined by "and":
    ``1, 3, 7, 15 and 31`` in English, ``1、3、7、15 和 31`` in Chinese.

    >>> join_words([1, 3, 7], "en"), join_words([1, 3, 7], "zh"), join_words(["EPIPE"], "zh")
    ('1, 3 and 7', '1、3 和 7', 'EPIPE')
    """
    words = [str(item) for item in items]
    comma, conjunction, _ = _SEPARATORS[resolve(lang)]
    if len(words) < 2:
        return "".join(words)
    return comma.join(words[:-1]) + conjunction + words[-1]


def join_series(items: Iterable[object], lang: str | None = None) -> str:
    """``items`` side by side, without "and" (a sequence of results, say):
    ``ok, EPIPE, EPIPE`` in English, ``ok、EPIPE、EPIPE`` in Chinese.

    >>> join_series(["ok", "EPIPE"], "zh")
    'ok、EPIPE'
    """
    return _SEPARATORS[resolve(lang)][0].join(str(item) for item in items)


def join_clauses(items: Iterable[object], lang: str | None = None) -> str:
    """Clauses one after another, separated by a semicolon: ``; `` in English, the
    full-width ``；`` in Chinese.

    >>> join_clauses(["0.15 s：14,600 字节", "0.25 s：43,800 字节"], "zh")
    '0.15 s：14,600 字节；0.25 s：43,800 字节'
    """
    return _SEPARATORS[resolve(lang)][2].join(str(item) for item in items)


# Explorer titles, value labels and the summary's phrases.  Terms follow 谢希仁《计算机网络》
# as the glossary lists them.
ZH: dict[str, str] = {
    # explorers' titles
    "Three-way handshake": "三次握手",
    "Data transfer": "数据传送",
    "Closing a connection": "连接释放",
    "SYN flood": "SYN 洪泛攻击",
    "Flow and congestion control": "流量控制与拥塞控制",
    "When the program exits": "程序退出时",
    "A peer whose machine died": "对端主机宕机",
    "Loss, retries and time": "丢失、重传与时间",
    "scenario": "场景",
    # value labels
    "on": "开",
    "off": "关",
    "none": "无",
    "never": "从不",
    "no drop rule": "不丢弃",
    "first SYN lost": "第一个 SYN 丢失",
    "first SYN,ACK lost": "第一个 SYN,ACK 丢失",
    "final ACK lost": "最后的 ACK 丢失",
    "every SYN,ACK lost": "每个 SYN,ACK 都丢失",
    "every SYN lost": "每个 SYN 都丢失",
    "reads at once": "立即读取",
    "2000 bytes": "2000 字节",
    "at 30 s": "30 s 时",
    "client": "客户",
    "server": "服务器",
    # the pictures' titles and keys (the protocol's own words stay English)
    "time flows down": "时间自上而下",
    "↻ retransmission": "↻ 重传",
    "✗ lost": "✗ 丢失",
    "axis compressed: quiet gaps cut out": "时间轴已压缩：略去了空闲时段",
    "{n} label left out for room": "{n} 个标注因空间不足而略去",
    "{n} labels left out for room": "{n} 个标注因空间不足而略去",
    "Opening a connection": "连接建立",
    "TCP connection states (RFC 9293 Figure 5)": "TCP 连接的状态（RFC 9293 图 5）",
    "{n} (with {peer})": "{n}（与 {peer} 的连接）",
    "①②… steps in order": "①②… 依次经过的步骤",
    "◆ state at the end": "◆ 结束时所处的状态",
    "◆ state at t = {t} s": "◆ t = {t} s 时所处的状态",
    " · grey: arcs not taken": " · 灰色：未经过的转换",
    "resets, aborts, give-ups (§3.10): dashed, drawn when taken": "复位、异常终止与放弃（§3.10）：虚线，经过时才画出",
    "label: event / segment sent": "标注：事件 / 发送的报文段",
    "not drawn: the resets, aborts and give-ups of §3.10": "未画出：§3.10 中的复位、异常终止与放弃",
    # chapter 8's and chapter 6's explorers
    "Loss and retries": "丢失与重传",
    "the geometric model against the fast path": "几何分布模型与快速模拟的对比",
    "probability that each segment is lost, in each direction": "每个方向上每个报文段丢失的概率",
    "how many times the client retransmits its SYN": "客户重传 SYN 的次数",
    "Reconnecting at a steady rate": "以固定速率反复连接",
    "ephemeral ports and TIME-WAIT": "临时端口与时间等待",
    "connect() rate": "connect() 速率",
    "connect() calls per second, each to the same server address and port": "每秒调用 connect() 的次数，每次都连到同一个服务器地址和端口",
    "which side closes first and so holds TIME-WAIT": "哪一方先关闭，从而进入时间等待（TIME-WAIT）",
    # chapter 9
    "Linux (captured)": "Linux（抓包）",
    "simulator, linux profile": "模拟器，linux 配置",
    "the script, run by tcpbook": "脚本，由 tcpbook 运行",
    "passed": "通过",
    "failed": "未通过",
    "nothing": "无",
    "about 60": "约 60",
    "a little less": "略少一些",
    "inferred: the peer sent its FIN again": "推断：对端再次发送了它的 FIN",
    "inferred: sent again before any answer": "推断：在得到任何应答之前就再次发送",
    # chapter 2: the flood's measured shares
    "every client was served at every rate": "在每一种速率下，每个客户端都得到了服务",
    "the share served never fell below {share}": "得到服务的比例从未低于 {share}",
    "{rate:g} SYN/s per place: {default:.0%} with 5 retries, {two:.0%} with 2":
        "每个位置每秒 {rate:g} 个 SYN：{default:.0%}（重试 5 次），{two:.0%}（重试 2 次）",
    # chapter 6: this machine's TIME-WAIT, ports and reuse
    "{range}, its default": "{range}，即默认值",
    "unreadable (not a Linux machine)": "无法读取（不是 Linux 机器）",
    "{tw} bytes (an object of the kernel's tw_sock_TCP slab), against {full:,} bytes for a full TCP socket":
        "{tw} 字节（内核 tw_sock_TCP slab 中的一个对象），而一个完整的 TCP 套接字要 {full:,} 字节",
    "a few hundred bytes, a fraction of a full socket (as root, /proc/slabinfo lists both)":
        "几百字节，只是一个完整套接字的一小部分（以 root 身份查看 /proc/slabinfo，可以看到两者的大小）",
    "about {mb:.0f} MB": "约 {mb:.0f} MB",
    "a few hundred bytes each": "每个几百字节",
    "bound": "绑定成功",
    "0 (off)": "0（关闭）",
    "1 (on for every connection)": "1（对每条连接都开启）",
    "2 (loopback only)": "2（只用于环回连接）",
    "not measurable here (this kernel has no `IP_LOCAL_PORT_RANGE`)": "在这里无法测量（这个内核没有 `IP_LOCAL_PORT_RANGE`）",
    "no error": "没有错误",
    "{errors} on every one of {attempts} attempts over 3 s": "全部 {attempts} 次尝试（历时 3 s）的结果都是 {errors}",
    "{errors} until it connected, {after:.1f} s after TIME-WAIT began": "{errors}，直到 TIME-WAIT 开始后 {after:.1f} s 才连接成功",
    "not tried (no network address on this machine)": "没有尝试（这台机器没有网络地址）",
    # chapter 7: writes after the peer is gone, keepalive's time, a crash's bytes
    "ok": "成功",
    "killed by {signal}": "被 {signal} 信号终止",
    "exited with status {status}": "以退出状态 {status} 结束",
    "{hours} h {minutes} min {seconds:.0f} s": "{hours} 小时 {minutes} 分 {seconds:.0f} 秒",
    "{t:.2f} s: {n:,} bytes": "{t:.2f} s：{n:,} 字节",
    # chapter 8: floods by the numbers, an exercise's mean
    "every one of the {clients} clients connected, within {deadline:g} s of its first SYN":
        "{clients} 个客户全都建立了连接，每个都在发出第一个 SYN 后 {deadline:g} s 之内",
    "at least {least} of the clients connected, {quick} within {deadline:g} s":
        "至少 {least} 的客户建立了连接，{quick} 的客户在 {deadline:g} s 之内建立了连接",
    "infinite": "无穷大",
}

# The explorers' controls: a Chinese name beside the parameter's own (which is what the API
# and the command line take), and the help a control shows on hover.
CONTROL_NAMES_ZH: dict[str, str] = {
    "loss": "丢失概率",
    "drop": "丢弃规则",
    "syn_retries": "SYN 重传次数",
    "synack_retries": "SYN,ACK 重传次数",
    "profile": "协议栈",
    "seed": "随机种子",
    "bytes": "字节数",
    "mss": "最大报文段长度",
    "quickack": "快速确认数",
    "delayed_ack": "推迟确认",
    "closer": "先关闭的一方",
    "close_delay": "另一方关闭前的延迟",
    "time_wait": "时间等待时长",
    "attack_rate": "攻击速率",
    "backlog": "队列长度",
    "syncookies": "SYN cookie",
    "cc": "拥塞控制算法",
    "initcwnd": "初始拥塞窗口",
    "read_rate": "应用读取速率",
    "rcvbuf": "接收缓存",
    "unread": "未读数据",
    "linger": "SO_LINGER",
    "keepalive": "保活",
    "send_at": "再次发送时刻",
    "user_timeout": "用户超时",
    "keepidle": "保活空闲时间",
    "keepintvl": "保活探测间隔",
    "keepcnt": "保活探测次数",
    "crash_at": "宕机时刻",
    "rtt": "往返时间",
}

CONTROL_HELP_ZH: dict[str, str] = {
    "loss": "每个报文段丢失的概率",
    "drop": "按规则丢弃指定的报文段（如第一个 SYN）",
    "syn_retries": "客户放弃连接前重传 SYN 的次数（Linux 的 tcp_syn_retries）",
    "synack_retries": "服务器放弃前重传 SYN,ACK 的次数（Linux 的 tcp_synack_retries）",
    "profile": "按哪种实现运行：linux（Linux 默认值）或 rfc（RFC 9293 的建议值）",
    "seed": "随机数种子：同一种子总是得到同一次运行",
    "bytes": "客户发送的数据字节数",
    "mss": "最大报文段长度（每个报文段最多携带的数据字节数）",
    "quickack": "接收方在开始推迟确认之前立即确认的报文段数（Linux 的快速确认）",
    "delayed_ack": "接收方是否推迟确认（delayed ACK）",
    "closer": "哪一方先调用 close()",
    "close_delay": "另一方在收到 FIN 之后多久才关闭",
    "time_wait": "时间等待（TIME-WAIT）状态持续的秒数",
    "attack_rate": "攻击者每秒发送的伪造 SYN 数",
    "backlog": "listen() 的 backlog：半连接队列和全连接队列的长度上限",
    "syncookies": "SYN 队列满时是否用 SYN cookie 应答（Linux 的 tcp_syncookies）",
    "cc": "拥塞控制算法：cubic（Linux 默认）、reno 或 none",
    "initcwnd": "初始拥塞窗口（报文段数）",
    "read_rate": "接收方应用程序读取数据的速率",
    "rcvbuf": "接收缓存的大小（字节），决定通告的接收窗口",
    "unread": "程序退出时接收缓存中尚未读取的字节数",
    "linger": "SO_LINGER 选项：{1, 0} 表示 close() 直接发送 RST",
    "keepalive": "是否打开保活计时器（SO_KEEPALIVE）",
    "send_at": "幸存的一方在何时再次发送数据",
    "user_timeout": "TCP_USER_TIMEOUT：已发送数据最多可以多久得不到确认",
    "keepidle": "连接空闲多久之后发送第一个保活探测报文段（秒）",
    "keepintvl": "两次保活探测之间的间隔（秒）",
    "keepcnt": "放弃连接之前发送的保活探测次数",
    "crash_at": "对端主机宕机的时刻（秒）",
    "rtt": "往返时间（秒）",
}


def control_label(name: str, lang: str | None = None) -> str:
    """What a control is called on the page: the parameter's name, and in Chinese its
    Chinese name before it (``丢失概率 loss``)."""
    if resolve(lang) == "zh" and name in CONTROL_NAMES_ZH:
        return f"{CONTROL_NAMES_ZH[name]} {name}"
    return name


def control_help(name: str, english: str, lang: str | None = None) -> str:
    """The help text of a control: the parameter's own (English) or its Chinese version."""
    if resolve(lang) == "zh":
        return CONTROL_HELP_ZH.get(name, english)
    return english
