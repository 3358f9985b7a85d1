"""Pictures as HTML: inline, scoped, described, and never shrunk below legible; the alt
text made from a trace; the placement board and the text metrics it relies on."""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import matplotlib
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure

from tcpbook import ParameterError, simulate
from tcpbook.render import style
from tcpbook.render.figurehtml import (
    compact_svg,
    describe_figure,
    figure_html,
    figure_image,
    inline_styles,
    make_legible,
    natural_size,
    scope_ids,
    smallest_text_px,
    svg_figure_html,
    use_fallback_fonts,
)
from tcpbook.render.placement import Board, Rect
from tcpbook.render.summary import alt_text, describe_run
from tcpbook.render.textsize import text_size, text_width

SVG = ('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="300pt" height="150pt" viewBox="0 0 300 150">'
       '<style>.c0{fill:red}text{font-size:9px}</style><defs><path id="m1" d="M0 0"/></defs>'
       '<g id="segment-1"><use href="#m1"/><text class="c0" font-size="12.00">SYN</text></g></svg>')


def test_the_figure_is_inline_described_and_sized_for_legibility() -> None:
    html = svg_figure_html(SVG, "A ladder: 3 segments", kind="tcpbook-ladder")
    assert html.startswith('<figure class="tcpbook-figure tcpbook-ladder"><svg')
    assert 'role="img"' in html and 'aria-label="A ladder: 3 segments"' in html
    assert "<?xml" not in html and ' width="300pt"' not in html
    # natural 400 px wide, smallest text 9 user units = 12 px: never narrower than 11/12 of it
    style_attr = re.search(r'style="([^"]*)"', html).group(1)
    sizes = dict(part.split(":", 1) for part in style_attr.split(";"))
    assert float(sizes["min-width"].removesuffix("px")) == pytest.approx(400 * 11 * 1.01 / 12, abs=1)
    assert float(sizes["--tb-min-phone"].removesuffix("px")) == pytest.approx(400 * 9 * 1.01 / 12, abs=1)
    assert float(sizes["max-width"].removesuffix("px")) == pytest.approx(440, abs=1)


def test_styles_are_inlined_and_ids_scoped_to_one_figure() -> None:
    """No <style> element reaches the page (inserting one restyles the whole page: slow
    frame switches), and no id appears twice."""
    html = svg_figure_html(SVG, "x")
    assert "<style" not in html
    assert '<text font-size="12.00" style="fill:red">SYN</text>' in html  # a class rule, on its element
    assert re.search(r'<svg[^>]*style="font-size:9px;width:100%', html)  # a text rule, inherited from the root
    scope = re.search(r'id="(f[0-9a-f]{10})-m1"', html).group(1)
    assert f'href="#{scope}-m1"' in html  # referenced: kept, prefixed
    assert "segment-1" not in html  # nothing refers to it: dropped (no id twice on a page)
    assert scope_ids('<svg><g id="a"/></svg>', "s") == "<svg><g/></svg>"
    assert inline_styles('<svg><style>.a{x:1}.b{y:2}</style><g class="a b keep"/></svg>') == \
        '<svg><g class="keep" style="x:1;y:2"/></svg>'
    with pytest.raises(ParameterError):
        inline_styles("<svg><style>g > text{x:1}</style></svg>")
    assert html == svg_figure_html(SVG, "x")  # deterministic


# Characters a data: URI or an HTML attribute could misread: # % & " ' < > and line breaks.
TRICKY_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="300pt" height="150pt" viewBox="0 0 300 150">'
              '<style>text{font-family:\'DejaVu Sans\',sans-serif}</style>'
              '<path d="M0 0\nL10 10" style="fill:#0072B2"/><text x="1" font-size="12">50% &amp; &lt;SEQ=100&gt; "quoted" it\'s #1 ✗ 三次握手</text>'
              '<text x="2" y="20" font-size="12">second\nline</text>\n <g>\n  <path d="M 0 1 \nL 2 3"/>\n </g>\n</svg>')


def _img_svg(img_html: str) -> str:
    src = re.search(r'\ssrc="([^"]*)"', img_html).group(1)
    assert src.startswith("data:image/svg+xml,")
    return unquote(src.removeprefix("data:image/svg+xml,"))


def test_an_explorer_frame_is_the_same_figure_as_an_image() -> None:
    """figure_image: the inline figure's SVG becomes an <img> of a data: URI that decodes to
    the same elements, attributes and words; the alt text and the legible-size rule move to
    the <img>; the image has the picture's natural size."""
    inline = svg_figure_html(TRICKY_SVG, 'A ladder: 3 segments, "SYN" lost', kind="tcpbook-ladder")
    html = figure_image(inline)
    assert html.startswith('<figure class="tcpbook-figure tcpbook-ladder"><img alt="A ladder: 3 segments, &quot;SYN&quot; lost" ')
    assert html.count('"') == 8 and "\n" not in html  # four attributes; nothing inside the URI ends one
    inline_style = re.search(r'<svg[^>]*\sstyle="([^"]*)"', inline).group(1)
    img_style = re.search(r'<img[^>]*\sstyle="([^"]*)"', html).group(1)
    assert img_style == inline_style.split(";", 1)[1]  # the size rule; the root's font stays in the SVG
    assert img_style.startswith("width:100%;height:auto;max-width:") and "min-width:" in img_style
    want = ET.fromstring(re.search(r"<svg.*</svg>", inline, flags=re.S).group(0))
    got = ET.fromstring(_img_svg(html))
    assert (got.get("width"), got.get("height"), got.get("viewBox")) == ("400.0", "200.0", "0 0 300 150")
    assert got.get("style") == inline_style.split(";", 1)[0] and "role" not in got.attrib and "aria-label" not in got.attrib
    def content(svg: ET.Element) -> list:
        # indentation between elements is dropped, a line break in an attribute is a space to XML
        return [(e.tag, {k: " ".join(v.split()) for k, v in e.attrib.items()}, e.text if e.tag.endswith("text") else
                 (e.text or "").strip(), (e.tail or "").strip()) for e in list(svg.iter())[1:]]

    assert content(got) == content(want) and len(content(got)) == 5
    assert [e.text for e in got.iter() if e.tag.endswith("text")][1] == "second\nline"  # the words exactly
    assert "50% & <SEQ=100> \"quoted\" it's #1 ✗ 三次握手" in "".join(got.itertext())
    assert figure_image(inline) == html  # deterministic
    for wrong in ("<figure><img alt='x'></figure>", "<svg></svg>", inline.replace('aria-label="', 'data-x="')):
        with pytest.raises(ParameterError):
            figure_image(wrong)


def test_sizes_are_read_from_the_svg() -> None:
    assert natural_size(SVG) == (400.0, 200.0)
    assert smallest_text_px(SVG) == pytest.approx(12.0)  # 9 user units, a user unit is 4/3 px
    assert smallest_text_px('<svg width="10px" height="10px"></svg>') is None
    with pytest.raises(ParameterError):
        svg_figure_html(SVG, "  ")


def test_compaction_keeps_the_words_and_numbers_a_reader_reads() -> None:
    svg = b'<svg width="10.1234pt" height="3pt"><text x="1.23456">RFC 9293 \xc2\xa73.10, 0.125 s</text></svg>'
    out = compact_svg(svg).decode()
    assert "RFC 9293 §3.10, 0.125 s" in out and 'x="1.2"' in out and 'width="10.1pt"' in out


def test_matplotlib_figures_are_made_legible_and_described() -> None:
    fig = Figure(figsize=(11, 4))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label="model")
    ax.set_xlabel("loss")
    ax.set_ylabel("P(ESTABLISHED)")
    ax.set_title("client", fontsize=6)
    ax.legend(fontsize=6)
    make_legible(fig)
    assert fig.get_size_inches()[0] == pytest.approx(style.PAGE_WIDTH_PT / 72)
    assert ax.title.get_fontsize() >= style.MIN_TEXT_PT
    assert all(t.get_fontsize() >= style.MIN_TEXT_PT for t in ax.get_legend().get_texts())
    assert describe_figure(fig) == "Chart: client, P(ESTABLISHED) against loss, series: model"
    html = figure_html(fig)
    assert 'aria-label="Chart: client, P(ESTABLISHED) against loss, series: model"' in html
    from tcpbook.render.scene import figure_bytes

    assert smallest_text_px(figure_bytes(fig, "svg").decode()) >= style.MIN_TEXT_PT * 4 / 3 * 0.99


def test_chinese_in_a_figure_finds_a_cjk_font() -> None:
    """fonts-noto-cjk (installed by scripts/install-system-deps.sh): no tofu, no warning."""
    assert any("CJK" in name for name in use_fallback_fonts()), "no CJK font: apt-get install fonts-noto-cjk"
    fig = Figure(figsize=(3, 1))
    fig.text(0.1, 0.5, "三次握手 three-way handshake")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)"
        fig.canvas.draw()


def test_describe_run_says_the_story() -> None:
    assert describe_run(simulate("handshake")) == (
        "3 segments; client ESTABLISHED at 0.100 s, server at 0.150 s; "
        "at the end client ESTABLISHED, server ESTABLISHED; run ends at 0.150 s")
    lost = describe_run(simulate("handshake", drop=["client:SYN:*"], syn_retries=2))
    n = sum(1 for _ in simulate("handshake", drop=["client:SYN:*"], syn_retries=2).segments)
    assert lost.startswith(f"{n} segments ({n} lost, {n - 1} retransmitted); client never ESTABLISHED")
    assert "client CLOSED (ETIMEDOUT)" in lost
    flood = describe_run(simulate("syn-flood", attack_duration=5.0, clients=3, client_interval=1.0))
    assert "spoofed SYNs" in flood and "of 3 clients ESTABLISHED" in flood
    assert "4,380 of 4,380 bytes delivered, intact" in describe_run(simulate("full"))


def test_alt_text_names_the_picture() -> None:
    trace = simulate("handshake")
    assert alt_text(trace).startswith("Ladder diagram of the handshake run: 3 segments")
    state = alt_text(trace, "state", phase="open")
    assert state.startswith("State diagram of the handshake run (opening a connection): client CLOSED → SYN-SENT → "
                            "ESTABLISHED; server CLOSED → LISTEN → SYN-RECEIVED → ESTABLISHED. 3 segments")
    with pytest.raises(ParameterError):
        alt_text(trace, "pie")
    with pytest.raises(ParameterError):
        describe_run("handshake")  # type: ignore[arg-type]


def test_text_width_matches_matplotlibs_layout() -> None:
    """The placement's widths are DejaVu Sans' own advances (plus a little slack)."""
    from matplotlib.textpath import TextPath

    for text in ("SYN,ACK seq=300 ack=101", "ESTABLISHED", "↻ FIN,PSH,ACK"):
        with matplotlib.rc_context({"font.family": "DejaVu Sans"}):
            path = TextPath((0, 0), text, size=10)
        ink = path.get_extents().width
        assert ink <= text_width(text, 10) <= ink * 1.15
    w1, h1 = text_size("one", 10)
    w2, h2 = text_size("one\ntwo lines", 10)
    assert h2 == pytest.approx(2 * h1) and w2 > w1
    assert text_width("中文", 10) == pytest.approx(2 * 10 * 1.04)  # CJK: one em each


rects = st.builds(Rect, st.floats(0, 200), st.floats(0, 200), st.floats(1, 80), st.floats(1, 20),
                  st.sampled_from([0.0, 15.0, -30.0, 90.0]))


@given(a=rects, b=rects)
def test_overlap_is_symmetric_and_agrees_with_sampled_points(a: Rect, b: Rect) -> None:
    assert a.overlaps(b) == b.overlaps(a)
    # a point well inside both proves an overlap
    if a.overlaps(b):
        return

    def inside(r: Rect, x: float, y: float) -> bool:
        import math

        t = math.radians(r.angle)
        dx, dy = x - r.cx, y - r.cy
        u = dx * math.cos(t) - dy * math.sin(t)
        v = dx * math.sin(t) + dy * math.cos(t)
        return abs(u) < r.w / 2 - 1e-6 and abs(v) < r.h / 2 - 1e-6

    for x, y in a.corners() + [(a.cx, a.cy)]:
        assert not inside(b, x, y)


def test_the_board_finds_the_first_free_place() -> None:
    board = Board(gap=1.0)
    board.add(Rect(50, 50, 40, 10))
    assert not board.free(Rect(60, 52, 40, 10))
    assert board.free(Rect(50, 65, 40, 10))
    place = board.first_free([Rect(55, 50, 10, 10), Rect(50, 70, 40, 10)])
    assert place == Rect(50, 70, 40, 10)
    assert [r for r, _ in board.placed()] == [Rect(50, 50, 40, 10)]
    # a label turned along a steep arrow is judged by its real outline
    assert not Rect(0, 0, 100, 8, 45).overlaps(Rect(40, 40, 10, 10))
    assert Rect(0, 0, 100, 8, -45).overlaps(Rect(30, 30, 10, 10))


def test_ipython_shows_figures_as_html_even_after_the_inline_backend_starts() -> None:
    """The book kernel's start-up hook: a pyplot figure and a ladder both reach the page as
    inline SVG with alt text (matplotlib's inline backend drops formatters when it starts)."""
    from IPython.core.interactiveshell import InteractiveShell

    from tcpbook.render import ladder
    from tcpbook.render.figurehtml import show_figures_as_html

    shell = InteractiveShell.instance()
    try:
        show_figures_as_html(shell)
        shell.display_formatter.formatters["text/html"].pop(Figure, None)  # what the backend does
        shell.events.trigger("post_execute")
        fig = Figure(figsize=(4, 2))
        fig.add_subplot().plot([0, 1], label="data")
        data, _ = shell.display_formatter.format(fig)
        assert data["text/html"].startswith('<figure class="tcpbook-figure tcpbook-plot">')
        data, _ = shell.display_formatter.format(ladder(simulate("handshake")))
        assert data["text/html"].startswith('<figure class="tcpbook-figure tcpbook-ladder">')
        assert "Ladder diagram of the handshake run" in data["text/html"]
    finally:
        InteractiveShell.clear_instance()


def test_log_axes_are_labelled_without_small_superscripts() -> None:
    from tcpbook.analysis.plots import divergence_figure
    from tcpbook.render.scene import figure_bytes

    fig = divergence_figure()
    make_legible(fig)
    svg = figure_bytes(fig, "svg").decode()
    assert smallest_text_px(svg) >= style.MIN_TEXT_PT * 4 / 3 * 0.99
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "100" in labels and not any("^" in t or "$" in t for t in labels)
