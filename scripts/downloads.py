"""The chapters as plain notebooks that run anywhere: Colab, a fresh Jupyter, VS Code.

``scripts/build_book.py`` calls :func:`write_notebook` for every page after the HTML
build.  A downloaded notebook must work where neither tcpbook nor MyST is available, so
it differs from the chapter's source in three ways:

1. **An install cell comes first.**  tcpbook is on no package index; the cell installs it
   with pip from the book's repository (``repository.url`` and ``branch`` in
   ``_config.yml``) when ``import tcpbook`` would fail, and says what to do when
   graphviz's ``dot`` is missing.  ``TCPBOOK_INSTALL`` in the environment overrides what
   pip installs: the wheel the book publishes beside its pages
   (``_downloads/tcpbook-<version>-py3-none-any.whl``), a checkout, or another
   requirement.  In Colab it also turns on the widget manager the explorers need.
2. **The prose is plain Markdown.**  Colab and classic Jupyter render neither MyST roles
   nor directives, so ``{eval}`name``` becomes the value the book showed (recorded by the
   build in ``_build/inline-values.json``; the run is deterministic, so the notebook
   computes the same number), ``{doc}``/``{ref}`` become the target's title (a link to
   the sibling notebook), ``(label)=`` lines disappear, an exercise is a block quote and
   its dropdown solution a ``<details>`` element that stays folded.
3. **No outputs, numbered cell ids, no jupytext metadata** (as before).

Only the MyST constructs the book uses are converted; a test fails on anything left over.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_MARK = "tcpbook-install-cell"
INSTALL_ENV = "TCPBOOK_INSTALL"


def install_cell_source(requirement: str, wheel_name: str, language: str = "en") -> str:
    """The first cell of every downloaded notebook.

    ``requirement`` is what pip installs by default (``tcpbook @ git+https://…@main``);
    ``wheel_name`` names the wheel published with the book, for readers without git.
    It installs nothing that tcpbook does not depend on.  ``language`` ("en" or "zh") is
    the edition's: the cell sets ``TCPBOOK_LANG`` so the explorers speak the page's language.
    """
    if language == "zh":
        intro = f"""# {INSTALL_MARK}：请先运行这个单元格。它在缺少 tcpbook 时（Colab、新装的 Jupyter）安装它——
# 本章的每一幅图、每一个数字都由这个模拟器算出。离线或没有 git 时，把环境变量
# {INSTALL_ENV} 设为随本书发布的 wheel 安装包（{wheel_name}）。"""
        dot_note = ("状态图需要 graphviz 的 `dot` 程序：apt-get install graphviz"
                    "（Colab 已自带）、brew install graphviz 或 conda install graphviz。")
        installing = "正在安装"
    else:
        intro = f"""# {INSTALL_MARK}: run this cell first.  It installs tcpbook, the simulator behind every
# figure and number of this chapter, when it is missing (Colab, a fresh Jupyter).  Offline
# or without git, set {INSTALL_ENV} to the wheel published with the book ({wheel_name})."""
        dot_note = ("The state diagrams need graphviz's `dot` program: apt-get install graphviz "
                    "(Colab has it), brew install graphviz, or conda install graphviz.")
        installing = "installing"
    return f'''{intro}
import importlib.util
import os
import shutil
import subprocess
import sys

os.environ["TCPBOOK_LANG"] = "{language}"  # the explorers' controls and readouts in this edition's language
if importlib.util.find_spec("tcpbook") is None:
    requirement = os.environ.get("{INSTALL_ENV}") or "{requirement}"
    print("{installing}", requirement, "...")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", requirement], check=True)
    importlib.invalidate_caches()
if shutil.which("dot") is None:
    print("{dot_note}")
try:  # Colab shows ipywidgets (the explorers) only with its custom widget manager.
    from google.colab import output

    output.enable_custom_widget_manager()
except ImportError:
    pass'''


# --------------------------------------------------------------------- the book's index


@dataclass
class BookIndex:
    """What cross-references resolve to: page titles and labelled places."""

    titles: dict[str, str] = field(default_factory=dict)  # docname -> first heading
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (docname, title)

    @classmethod
    def from_sources(cls, sources: Mapping[str, Path]) -> BookIndex:
        index = cls()
        label_re = re.compile(r"^\(([^)\s]+)\)=\s*$")
        for docname, path in sources.items():
            lines = path.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines):
                if line.startswith("# ") and docname not in index.titles:
                    index.titles[docname] = line[2:].strip()
                match = label_re.match(line)
                if match:
                    following = next((x for x in lines[number + 1:] if x.strip()), "")
                    heading = re.match(r"^#+\s+(.*)$", following)
                    directive = re.match(r"^[`:~]{3,}\{[\w:-]+\}\s*(.*)$", following)
                    title = heading.group(1) if heading else directive.group(1) if directive else match.group(1)
                    index.labels[match.group(1)] = (docname, title.strip())
        return index


def notebook_name(docname: str) -> str:
    """``chapters/01-handshake`` -> ``01-handshake.ipynb`` (the downloads sit side by side)."""
    return f"{posixpath.basename(docname)}.ipynb"


# ------------------------------------------------------------------------- conversion


class ConversionError(ValueError):
    """The prose uses MyST that the download converter does not know, or a value is missing."""


ROLE_OR_CODE = re.compile(r"\{(?P<role>[\w:-]+)\}(?P<tick>`+)(?P<content>.+?)(?P=tick)|(?P<code>(?P<t2>`+).+?(?P=t2))")
EXPLICIT_TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
FENCE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,}|:{3,})(?:\{(?P<name>[\w:-]+)\})?\s*(?P<arg>.*)$")
LABEL_LINE = re.compile(r"^\s*\([^)\s]+\)=\s*$")
CODE_ROLES = {"func", "class", "mod", "meth", "attr", "obj", "data", "exc", "py:func", "py:class", "py:mod",
              "py:meth", "py:attr", "py:obj", "py:data", "py:exc", "code", "command", "file", "envvar", "kbd"}
ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention", "danger", "error", "seealso"}


class Converter:
    """MyST Markdown of one page -> CommonMark (+ ``<details>``) for a plain notebook."""

    def __init__(self, docname: str, index: BookIndex, values: Mapping[str, Iterable[str]],
                 language: str = "en") -> None:
        self.docname = docname
        self.language = language  # of the notes the conversion itself writes
        self.index = index
        self.values = {name: list(texts) for name, texts in values.items()}

    # -- inline -------------------------------------------------------------------------

    def _link_to_doc(self, docname: str, text: str) -> str:
        if docname == self.docname:
            return f"*{text}*"
        return f"[{text}]({notebook_name(docname)})"

    def _role(self, name: str, content: str) -> str:
        if name == "eval":
            queue = self.values.get(content)
            if not queue:
                raise ConversionError(f"{self.docname}: no built value for {{eval}}`{content}` "
                                      "(_build/inline-values.json is stale: rebuild the book)")
            return queue.pop(0)
        explicit = EXPLICIT_TARGET.match(content)
        text, target = (explicit.group("text"), explicit.group("target")) if explicit else (None, content)
        if name == "doc":
            base = posixpath.dirname(self.docname)
            docname = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            if docname not in self.index.titles:
                raise ConversionError(f"{self.docname}: {{doc}}`{content}` names no page of the book")
            return self._link_to_doc(docname, text or self.index.titles[docname])
        if name == "ref":
            if target not in self.index.labels:
                raise ConversionError(f"{self.docname}: {{ref}}`{content}` names no label of the book")
            docname, title = self.index.labels[target]
            return self._link_to_doc(docname, text or title)
        if name in CODE_ROLES:
            shown = text or target.lstrip("~")
            return f"`{shown}`"
        raise ConversionError(f"{self.docname}: the role {{{name}}} has no plain-Markdown form yet (scripts/downloads.py)")

    def inline(self, line: str) -> str:
        def replace(match: re.Match) -> str:
            if match.group("code") is not None:
                return match.group("code")  # a code span shows MyST as it is written
            return self._role(match.group("role"), match.group("content"))

        return ROLE_OR_CODE.sub(replace, line)

    # -- blocks -------------------------------------------------------------------------

    def block(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            if LABEL_LINE.match(line):
                i += 1
                continue
            opening = FENCE_OPEN.match(line)
            if not opening:
                out.append(self.inline(line))
                i += 1
                continue
            fence = opening.group("fence")
            close = next((j for j in range(i + 1, len(lines))
                          if re.fullmatch(rf"\s*{re.escape(fence[0])}{{{len(fence)},}}\s*", lines[j])), None)
            if close is None:
                raise ConversionError(f"{self.docname}: unclosed fence {line.strip()!r}")
            body = lines[i + 1:close]
            name = opening.group("name")
            if name is None:
                out.extend(lines[i:close + 1])  # a code block: verbatim
            else:
                out.extend(self.directive(name, opening.group("arg").strip(), body))
            i = close + 1
        return out

    @staticmethod
    def _options(body: list[str]) -> tuple[dict[str, str], list[str]]:
        options: dict[str, str] = {}
        k = 0
        while k < len(body) and (m := re.match(r"^\s*:([\w-]+):\s*(.*)$", body[k])):
            options[m.group(1)] = m.group(2).strip()
            k += 1
        while k < len(body) and not body[k].strip():
            k += 1
        return options, body[k:]

    def directive(self, name: str, arg: str, body: list[str]) -> list[str]:
        if name == "eval-rst":
            modules = re.findall(r"^\.\. automodule::\s*(\S+)", "\n".join(body), re.M)
            calls = ", ".join(f"`help({m})`" for m in modules) or "`help()`"
            if self.language == "zh":
                return [f"> 本书的网页在这里列出由 tcpbook 文档字符串生成的参考；在笔记本中请用 {calls} 阅读。"]
            return [f"> The book's page shows here the reference generated from tcpbook's docstrings; "
                    f"in a notebook read it with {calls}."]
        options, content = self._options(body)
        if name == "container":  # a box with a class (the API page's generated reference): its content
            return self.block(content)
        if name == "glossary":
            out: list[str] = []
            for line in content:
                if line.strip() and not line[0].isspace():
                    out += ["", f"**{self.inline(line.strip())}**", ""]
                else:
                    out.append(self.inline(line.strip()))
            return out + [""]
        if name == "list-table":
            return self._list_table(arg, options, content)
        if name == "admonition" or name in ADMONITIONS:
            title = self.inline(arg) if arg else name.capitalize()
            inner = self.block(content)
            if "dropdown" in options.get("class", "").split():
                # Folded until the reader opens it, in Jupyter, JupyterLab and Colab alike.
                return ["<details>", f"<summary>{title}</summary>", "", *inner, "", "</details>"]
            return [f"> **{title}**", ">", *[f"> {x}" if x else ">" for x in inner]]
        raise ConversionError(f"{self.docname}: the directive {{{name}}} has no plain-Markdown form yet (scripts/downloads.py)")

    def _list_table(self, title: str, options: dict[str, str], content: list[str]) -> list[str]:
        """MyST's ``{list-table}`` (``* -`` starts a row, ``  -`` a cell) as a pipe table."""
        rows: list[list[str]] = []
        for line in content:
            if not line.strip():
                continue
            if (row_start := re.match(r"^\*\s+-\s?(.*)$", line)):
                rows.append([row_start.group(1).strip()])
            elif (cell := re.match(r"^\s+-\s?(.*)$", line)) and rows:
                rows[-1].append(cell.group(1).strip())
            elif rows:  # a cell's text continued on the next line
                rows[-1][-1] = (rows[-1][-1] + " " + line.strip()).strip()
            else:
                raise ConversionError(f"{self.docname}: a list-table line outside any row: {line.strip()!r}")
        if not rows:
            return []
        width = max(len(r) for r in rows)
        cells = [[self.inline(c).replace("|", "\\|") for c in r] + [""] * (width - len(r)) for r in rows]
        header = cells[0] if int(options.get("header-rows", "0") or 0) >= 1 else [""] * width
        body = cells[1:] if header is cells[0] else cells
        out = [f"**{self.inline(title)}**", ""] if title else []
        out += ["| " + " | ".join(header) + " |", "|" + "---|" * width]
        out += ["| " + " | ".join(r) + " |" for r in body]
        return out + [""]

    def markdown(self, text: str) -> str:
        converted = "\n".join(self.block(text.split("\n")))
        return re.sub(r"\n{3,}", "\n\n", converted).strip("\n")

    def leftover_values(self) -> dict[str, list[str]]:
        """Recorded values that no {eval} of the page used (a sign of a stale record)."""
        return {name: texts for name, texts in self.values.items() if texts}


def number_cells(nb) -> None:  # noqa: ANN001 - an nbformat NotebookNode
    """Give cells the ids cell-1, cell-2 …: nbformat would draw random ones, and the same
    chapter would then download differently from build to build."""
    for index, cell in enumerate(nb.cells, start=1):
        cell["id"] = f"cell-{index}"


def write_notebook(source: Path, target: Path, *, docname: str, index: BookIndex,
                   values: Mapping[str, Iterable[str]], install: str, language: str = "en") -> None:
    """Convert a MyST chapter into a plain .ipynb that starts with ``install`` (``language``:
    the edition's, for the few notes the conversion writes itself)."""
    import jupytext  # noqa: PLC0415 - only needed here
    import nbformat  # noqa: PLC0415

    nb = jupytext.read(source)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    converter = Converter(docname, index, values, language)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = converter.markdown(cell.source)
    if converter.leftover_values():
        raise ConversionError(f"{docname}: values recorded at build time but not in the prose: "
                              f"{sorted(converter.leftover_values())} (rebuild the book)")
    nb.cells.insert(0, nbformat.v4.new_code_cell(install))
    nb.cells = [cell for cell in nb.cells if cell.cell_type != "markdown" or cell.source.strip()]
    number_cells(nb)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    target.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
