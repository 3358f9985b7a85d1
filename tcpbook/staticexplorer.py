"""An explorer for the published book: precomputed frames, native controls, no kernel.

A :class:`StaticExplorer` is plain HTML:

* **native controls** — ``<input type="range">`` for a slider, ``<select>`` for a menu,
  radio buttons for a choice — each with its ``<label>``, so a screen reader names it,
  the keyboard operates it (arrow keys, Home/End) and its value is announced (the
  slider's ``aria-valuetext`` is its readout, ``20%`` rather than ``2``);
* **every picture once** — each frame is a few pictures (an explorer's summary, ladder
  and state diagram), and a picture several frames share is written once; all but the
  current frame's pictures carry ``hidden`` and wait inside a ``<template>``: inert, so
  the browser neither loads nor lays them out while it reads the page, and the page is
  ready sooner (a chapter's explorers hold a hundred pictures and more);
* **pictures as images** — a figure is an ``<img>`` of its SVG (a ``data:`` URI, with the
  figure's alt text and legible-size rule: :func:`~tcpbook.render.figurehtml.figure_image`),
  one replaced element for the browser instead of hundreds of SVG elements;
* **a short script** (``SCRIPT``) that, when a control changes, computes the frame of
  the controls' values and swaps the ``hidden`` attribute of at most one picture per
  slot.  Once the page has loaded, it takes the waiting pictures out of their templates
  in idle time, a few at a time; a picture the reader asks for before that is taken out
  at once.

A frame switch has to fit into one frame of the display (16 ms).  Hidden pictures are
therefore not ``display: none`` (the book's CSS, ``.tcpbook-pic[hidden]``): they stay laid
out, out of the flow, without height and invisible, so that showing one again needs no
style, no layout and no SVG text layout of its insides — only the slot's own layout.
(Inline SVG pictures toggled by ``display`` made the browser style and lay out every text
of the new frame on each switch: several times slower, see ``benchmarks/README.md``.
Images of every frame in the page as it loads made it ready 0.9 s later: hence the
templates.)  (Slots that kept their tallest picture's height would spare the browser
moving the rest of the page, but a long ladder would leave a short one in a sea of white.)

Without JavaScript the default frame is shown.  The page needs no widget manager: the
explorers of the book used to embed ipywidgets state and load 3.5 MB of JavaScript to
render it; this is ~1.5 KB of script.

The HTML is deterministic: the same frames give the same bytes (element ids are numbered
per process, in the order explorers are made — a chapter's kernel makes them in the same
order every build).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from .errors import ParameterError
from .render.figurehtml import figure_image

_IDS = itertools.count(1)


@dataclass(frozen=True)
class StaticControl:
    """One control: ``name`` (its visible label, the parameter it sets), the ``labels`` of
    its values in order, the ``index`` shown first, and its ``kind``: ``"slider"``,
    ``"menu"`` or ``"buttons"``; ``help`` becomes its description."""

    name: str
    labels: tuple[str, ...]
    index: int
    kind: str = "slider"
    help: str = ""

    def html(self, uid: str, level: int) -> str:
        """The control's HTML; ``data-level`` is its place in the frame index."""
        cid = f"{uid}-{level}"
        described = f' title="{escape(self.help)}"' if self.help else ""
        if self.kind == "slider":
            labels = escape(json.dumps(list(self.labels)))
            value = escape(self.labels[self.index])
            return (
                f'<div class="tcpbook-control tcpbook-slider"{described}><label for="{cid}">{escape(self.name)}</label>'
                f'<input type="range" id="{cid}" min="0" max="{len(self.labels) - 1}" step="1" value="{self.index}" '
                f'data-level="{level}" data-labels="{labels}" aria-valuetext="{value}">'
                f'<output for="{cid}" aria-hidden="true">{value}</output></div>'
            )
        if self.kind == "menu":
            options = "".join(f'<option value="{k}"{" selected" if k == self.index else ""}>{escape(label)}</option>'
                              for k, label in enumerate(self.labels))
            return (f'<div class="tcpbook-control tcpbook-menu"{described}><label for="{cid}">{escape(self.name)}</label>'
                    f'<select id="{cid}" data-level="{level}">{options}</select></div>')
        buttons = "".join(
            f'<label><input type="radio" name="{cid}" value="{k}"{" checked" if k == self.index else ""}>'
            f"{escape(label)}</label>"
            for k, label in enumerate(self.labels)
        )
        return (f'<fieldset class="tcpbook-control tcpbook-buttons" data-level="{level}"{described}>'
                f"<legend>{escape(self.name)}</legend>{buttons}</fieldset>")


# The script every static explorer carries (minified by hand, ~1.5 KB).  For each explorer
# not yet wired: read the frame table, and on every change of a control compute the frame
# index (the controls' indices in mixed radix) and show that frame's picture in each slot.
SCRIPT = """(function(){
function wire(root){
if(root.dataset.ready)return;
var table=JSON.parse(root.querySelector("script.tcpbook-frames").textContent);
var shape=table.shape,frames=table.frames;
var levels=[];root.querySelectorAll("[data-level]").forEach(function(c){levels[+c.dataset.level]=c;});
var slots=[].map.call(root.querySelectorAll(".tcpbook-slot"),function(s){return s.children;});
var shown=slots.map(function(pics){return [].filter.call(pics,function(p){return !p.hidden;})[0];});
function ready(p){var t=p.firstElementChild;if(t&&t.tagName==="TEMPLATE")p.replaceChildren(t.content);return p;}
var waiting=[];slots.forEach(function(pics){[].forEach.call(pics,function(p){if(p.hidden)waiting.push(p);});});
function prepare(deadline){do{ready(waiting.shift());}while(waiting.length&&deadline&&deadline.timeRemaining()>4);if(waiting.length)idle(prepare);}
function idle(f){if(window.requestIdleCallback)requestIdleCallback(f,{timeout:1000});else setTimeout(f,20);}
var labels=levels.map(function(c){return c.dataset.labels?JSON.parse(c.dataset.labels):null;});
function index(c){if(c.tagName==="FIELDSET"){var r=c.querySelector("input:checked");return r?+r.value:0;}return +c.value;}
function show(){
var i=0;levels.forEach(function(c,l){i=i*shape[l]+index(c);});
var frame=frames[i];
slots.forEach(function(pics,k){var want=pics[frame[k]];if(shown[k]===want)return;ready(want);if(shown[k])shown[k].hidden=true;want.hidden=false;shown[k]=want;});
}
levels.forEach(function(c,l){c.addEventListener(c.tagName==="FIELDSET"?"change":"input",function(){
if(labels[l]){var label=labels[l][+c.value];c.setAttribute("aria-valuetext",label);c.nextElementSibling.textContent=label;}
show();});});
show();
root.dataset.ready=String(Math.round(performance.now()));
if(waiting.length){if(document.readyState==="complete")idle(prepare);else addEventListener("load",function(){idle(prepare);});}
}
document.querySelectorAll(".tcpbook-static-explorer").forEach(wire);
})();"""
class StaticExplorer:
    """Controls and precomputed frames as one HTML block (see the module docstring).

    ``title_html``: the line above the controls (HTML).  ``controls``: in the order of the
    frame index.  ``frames``: the pictures of each point, keyed by the tuple of control
    indices (every point of the grid), each a sequence with one HTML snippet per slot.
    ``explorer``: the object that made it (tests and authors reach it as ``.explorer``).
    """

    def __init__(self, title_html: str, controls: Sequence[StaticControl],
                 frames: Mapping[tuple[int, ...], Sequence[str]], *, explorer: Any = None) -> None:
        self.controls = list(controls)
        self.shape = [len(c.labels) for c in self.controls]
        expected = set(itertools.product(*(range(n) for n in self.shape)))
        if set(frames) != expected:
            raise ParameterError("frames", f"{len(frames)} points", f"one per point of the grid ({len(expected)})")
        slots = {len(pictures) for pictures in frames.values()}
        if len(slots) != 1:
            raise ParameterError("frames", sorted(slots), "the same number of pictures in every frame")
        self.title_html = title_html
        self.frames = dict(frames)
        self.explorer = explorer
        self.uid = f"tcpbook-explorer-{next(_IDS)}"
        self._html: str | None = None

    @property
    def default(self) -> tuple[int, ...]:
        return tuple(c.index for c in self.controls)

    def table(self) -> tuple[list[list[str]], list[list[int]]]:
        """(pictures per slot, each once; for each frame in index order, its picture in each slot)."""
        n_slots = len(next(iter(self.frames.values())))
        pictures: list[list[str]] = [[] for _ in range(n_slots)]
        where: list[dict[str, int]] = [{} for _ in range(n_slots)]
        rows = []
        for point in itertools.product(*(range(n) for n in self.shape)):
            row = []
            for k, html in enumerate(self.frames[point]):
                if html not in where[k]:
                    where[k][html] = len(pictures[k])
                    pictures[k].append(html)
                row.append(where[k][html])
            rows.append(row)
        return pictures, rows

    def html(self) -> str:
        """The explorer as HTML: title, controls, the pictures of every frame, the frame table, the script."""
        if self._html is not None:
            return self._html
        pictures, rows = self.table()
        shown = rows[_flat(self.default, self.shape)]
        controls = "".join(c.html(self.uid, level) for level, c in enumerate(self.controls))
        slots = []
        for k, pics in enumerate(pictures):
            live = ' aria-live="polite"' if k == 0 else ""  # the summary is read out when the frame changes
            # Another frame's picture waits in a <template> (inert: not loaded, not laid out)
            # until the script takes it out (see the module docstring).
            items = "".join(f'<div class="tcpbook-pic">{_images(pic)}</div>' if j == shown[k] else
                            f'<div class="tcpbook-pic" hidden><template>{_images(pic)}</template></div>'
                            for j, pic in enumerate(pics))
            slots.append(f'<div class="tcpbook-slot"{live}>{items}</div>')
        table = json.dumps({"shape": self.shape, "frames": rows}, separators=(",", ":"))
        self._html = (
            f'<div class="tcpbook-explorer tcpbook-static-explorer" id="{self.uid}">'
            f'<div class="tcpbook-explorer-title">{self.title_html}</div>'
            f'<div class="tcpbook-controls">{controls}</div>'
            f'<div class="tcpbook-frame">{"".join(slots)}</div>'
            f'<script type="application/json" class="tcpbook-frames">{table}</script>'
            f"<script>{SCRIPT}</script></div>"
        )
        return self._html

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        points = math.prod(self.shape) if self.shape else 1
        return f"<StaticExplorer {self.uid}: {len(self.controls)} controls, {points} frames>"


_FIGURE = re.compile(r'<figure class="tcpbook-figure[^"]*"><svg\b.*?</svg>\s*</figure>', flags=re.S)


def _images(picture: str) -> str:
    """Every inline SVG figure of ``picture`` as an image of its SVG (see the module docstring)."""
    return _FIGURE.sub(lambda m: figure_image(m.group(0)), picture)


def _flat(point: tuple[int, ...], shape: list[int]) -> int:
    index = 0
    for i, n in zip(point, shape):
        index = index * n + i
    return index
