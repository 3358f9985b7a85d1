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
    """``text`` (an English phrase of :data:`ZH`) in the language ``lang`` (default: in use).

    A phrase without a translation is returned unchanged: names of states, flags and
    parameters are the same in both languages.
    """
    return ZH.get(text, text) if resolve(lang) == "zh" else text


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
