"""Build the tcpbook HTML book into ``_build/html``, and its Chinese edition into
``_build/html/zh`` (this is ``make book``).

The Chinese edition (``zh/``) is a second Jupyter Book with the same pages: each page
translates the prose and keeps the English page's code cells byte for byte
(``scripts/translations.py`` checks that), so both editions run the same code and show
the same computed numbers.  Its ``_config.yml`` is written from the English one here
(:func:`write_zh_config`), so the two never drift apart.  The two builds run side by
side, one per core.

Steps, and why each is here (for each edition):

1. **Every page listed in ``_toc.yml`` must exist.**  A missing chapter fails the build
   with its name; nothing is skipped silently.
2. **A kernel that is this virtualenv's Python.**  The chapters run with the kernelspec
   ``python3``; we install one under ``.venv/share/jupyter/kernels`` (pointing at
   ``.venv/bin/python``) and put that folder first on ``JUPYTER_PATH``, so a ``python3``
   kernel in the user's home can never run the book with other packages.
3. **``jupyter-book build . -W -n --keep-going``** with ``TCPBOOK_STATIC=1`` in the
   environment the kernels inherit: the explorers then precompute their frames and embed
   them, so the sliders work in the static pages.  Warnings are errors (``-W``), every
   cross-reference must resolve (``-n``), and ``--keep-going`` reports all problems at once.
   Execution uses the jupyter-cache, so a rebuild re-runs only chapters whose code changed.
4. **A plain ``.ipynb`` of every page** in ``_build/html/_downloads/notebooks/``, and
   tcpbook's wheel beside them, so a reader can run a chapter in plain Jupyter or Colab
   (``scripts/downloads.py``: an install cell first, the prose as plain Markdown with the
   numbers the book shows); each page gets an entry in its download menu and a short note.
5. **A report**: ``_build/build-report.json`` (return code, warnings, time, pages, page
   weights) for the tests, and a table of page weights on stdout.

Usage::

    .venv/bin/python scripts/build_book.py            # incremental (cached execution)
    .venv/bin/python scripts/build_book.py --clean    # from scratch: rm -rf _build first
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import downloads  # scripts/downloads.py: the plain .ipynb of every page
import yaml
from downloads import number_cells

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
HTML = BUILD / "html"
NOTEBOOKS = HTML / "_downloads" / "notebooks"  # the English edition's
REPORT = BUILD / "build-report.json"
LOG = BUILD / "build.log"  # the English build's; the Chinese one logs to build-zh.log
VENV = ROOT / ".venv"
KERNEL_DIR = VENV / "share" / "tcpbook-book-kernel"  # a Jupyter data dir: kernels/python3 (ensure_kernel)
ZH_SOURCE = ROOT / "zh"


@dataclass(frozen=True)
class Edition:
    """One language edition of the book.

    ``source`` holds its ``_config.yml``, ``_toc.yml`` and pages; jupyter-book builds it
    under ``output/_build`` (``html``, ``.doctrees``, ``inline-values.json``), and its
    pages are published in ``html``.  The English edition is built in place; the
    Chinese one is built in ``_build/zh`` and copied into ``_build/html/zh``.
    """

    lang: str
    source: Path
    output: Path
    html: Path
    label: str  # its name in the language switch

    @property
    def build_dir(self) -> Path:
        return self.output / "_build"

    @property
    def built_html(self) -> Path:
        return self.build_dir / "html"

    @property
    def notebooks(self) -> Path:
        return self.html / "_downloads" / "notebooks"

    @property
    def log(self) -> Path:
        return BUILD / ("build.log" if self.lang == "en" else f"build-{self.lang}.log")

    @property
    def inline_values(self) -> Path:
        return self.build_dir / INLINE_VALUES


EN = Edition("en", ROOT, ROOT, HTML, "English")
ZH = Edition("zh", ZH_SOURCE, BUILD / "zh", HTML / "zh", "中文")
EDITIONS = (EN, ZH)

# Sphinx prints "path:line: WARNING: text" (and ERROR/CRITICAL); myst-nb execution
# failures come as warnings too.  We count them from the log so the tests can assert 0.
WARNING_RE = re.compile(r"(WARNING|ERROR|CRITICAL|SEVERE):")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def toc_pages(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """The docnames of the book in reading order (``intro``, ``chapters/01-handshake``, ...)."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    return pages


def source_of(docname: str, source: Path = ROOT) -> Path | None:
    """The source file of a docname (``.md`` or ``.ipynb``) in the book folder ``source``, or
    None when it is missing."""
    for suffix in (".md", ".ipynb"):
        path = source / f"{docname}{suffix}"
        if path.is_file():
            return path
    return None


def check_sources(pages: list[str], source: Path = ROOT) -> list[Path]:
    missing = [page for page in pages if source_of(page, source) is None]
    if missing:
        listing = "\n  ".join(f"{(source / page).relative_to(ROOT)}.md" for page in missing)
        raise SystemExit(f"build_book: {(source / '_toc.yml').relative_to(ROOT)} lists pages that do not exist:\n"
                         f"  {listing}\nrefusing to build a book with holes.")
    return [source_of(page, source) for page in pages]  # type: ignore[misc]


# Run by the book's kernels at start-up: matplotlib figures reach the page as legible
# inline SVG with an alt text (tcpbook.render.figurehtml.show_figures_as_html), the plots
# the chapters draw with pyplot as much as the package's own pictures, and text in Chinese
# finds a CJK font.
KERNEL_STARTUP = "__import__('tcpbook.render.figurehtml', fromlist=['_']).show_figures_as_html()"


def ensure_kernel() -> None:
    """Write the book's ``python3`` kernelspec (this Python, with :data:`KERNEL_STARTUP`)
    into :data:`KERNEL_DIR`, which the builds put first on ``JUPYTER_PATH``.

    The directory is the book's alone: ``make lab`` (binder/postBuild) installs a plain
    ``python3`` kernelspec into ``.venv/share/jupyter``, and when the two shared that file a
    build starting its kernels just then ran them without the start-up lines (no CJK font:
    a strict Chinese build failed on matplotlib's "Glyph missing" warnings).  The file is
    replaced in one step, so a kernel starting meanwhile reads the old spec or the new one.
    """
    from ipykernel.kernelspec import get_kernel_dict  # noqa: PLC0415 - only builds need it

    spec = KERNEL_DIR / "kernels" / "python3" / "kernel.json"
    python_arguments = ["-Xfrozen_modules=off"] if sys.version_info >= (3, 11) else []  # as ipykernel install
    wanted = {**get_kernel_dict([f"--IPKernelApp.exec_lines={KERNEL_STARTUP}"], python_arguments),
              "display_name": "Python 3"}  # as the chapters' headers say (see binder/postBuild)
    text = json.dumps(wanted, indent=1) + "\n"
    if spec.is_file() and spec.read_text(encoding="utf-8") == text:
        return
    spec.parent.mkdir(parents=True, exist_ok=True)
    partial = spec.with_name(f"kernel.json.{os.getpid()}.{threading.get_ident()}")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, spec)


def book_env(lang: str = "en") -> dict[str, str]:
    """The environment of a build's kernels: static explorers, this venv's kernel, and the
    edition's language (``TCPBOOK_LANG``: the explorers' controls and readouts speak it)."""
    env = dict(os.environ)
    env["TCPBOOK_LANG"] = lang
    # Static explorers (precomputed frames) for the published book.  TCPBOOK_BUILD_STATIC=0
    # builds a quicker book with live explorers, for tests that check other things.
    env["TCPBOOK_STATIC"] = os.environ.get("TCPBOOK_BUILD_STATIC", "1")
    env["JUPYTER_PATH"] = os.pathsep.join([str(KERNEL_DIR), *filter(None, [os.environ.get("JUPYTER_PATH")])])
    # Quiet the debugger's frozen-modules notice and make plots independent of the desktop.
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def static_digest_file(edition: Edition) -> Path:
    return edition.build_dir / "static-digest.txt"


def static_digest() -> str:
    """A digest of _static/ (our CSS and vendored JS)."""
    import hashlib  # noqa: PLC0415

    h = hashlib.sha256()
    for path in sorted((ROOT / "_static").rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def jupyter_book_command(edition: Edition) -> list[str]:
    """The build command, run in the repository's folder (paths relative to it)."""
    jb = VENV / "bin" / "jupyter-book"
    source = os.path.relpath(edition.source, ROOT)
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", source, "-W", "-n", "--keep-going"]
    if edition.output != edition.source:
        cmd += ["--path-output", os.path.relpath(edition.output, ROOT)]
    # Sphinx re-copies _static/ and re-stamps the pages' ?v= checksums only when it rewrites
    # pages; after a change to _static/ alone, rewrite them all (execution stays cached).
    digest_file = static_digest_file(edition)
    if not digest_file.is_file() or digest_file.read_text() != static_digest():
        cmd.append("--all")
    return cmd


def run_jupyter_book(edition: Edition = EN, prefix: str = "") -> tuple[int, list[str], float]:
    """Run one edition's Sphinx build, streaming its output (each line after ``prefix``) to
    the terminal and to its log (_build/build.log, _build/build-zh.log)."""
    BUILD.mkdir(exist_ok=True)
    edition.output.mkdir(parents=True, exist_ok=True)
    cmd = jupyter_book_command(edition)
    digest = static_digest()
    print(f"{prefix}build_book:", " ".join(cmd), flush=True)
    start = time.perf_counter()
    warnings: list[str] = []
    with edition.log.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=book_env(edition.lang), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(prefix + line)
            log.write(line)
            plain = ANSI_RE.sub("", line).rstrip()
            if WARNING_RE.search(plain) and "warnings" not in plain.lower().split(":")[0]:
                warnings.append(plain)
        code = proc.wait()
    sys.stdout.flush()
    if code == 0:
        static_digest_file(edition).write_text(digest)
    return code, [with_stderr_text(w, edition) for w in warnings], time.perf_counter() - start


STDERR_WARNING_RE = re.compile(r"^(?P<source>\S+?\.md):\d+: WARNING: stderr was found in the cell outputs")
STDERR_OUTPUT_RE = re.compile(r'<div class="output stderr[^"]*">.*?<pre>(?P<text>.*?)</pre>', re.S)


def with_stderr_text(warning: str, edition: Edition) -> str:
    """myst-nb's "stderr was found in the cell outputs of cell N" does not say what the cell
    wrote; the page it built does.  Append the page's stderr outputs (their first lines), so
    a failed build's report says what to fix."""
    match = STDERR_WARNING_RE.match(warning)
    if not match:
        return warning
    try:
        page = Path(match["source"]).resolve().relative_to(edition.source.resolve()).with_suffix(".html")
        built = (edition.output / "_build" / "html" / page).read_text(encoding="utf-8")
    except (ValueError, OSError):
        return warning
    texts = [html.unescape(re.sub(r"<[^>]+>", "", m["text"])).strip() for m in STDERR_OUTPUT_RE.finditer(built)]
    said = sorted({" ".join(t.splitlines()[:2])[:200] for t in texts if t})
    return f"{warning} (the page's stderr: {' | '.join(said)})" if said else warning


def run_both(editions: tuple[Edition, ...]) -> dict[str, tuple[int, list[str], float]]:
    """Build the editions side by side (one jupyter-book per core; each runs its chapters'
    kernels one after the other), their output lines marked ``[en]`` and ``[zh]``."""
    results: dict[str, tuple[int, list[str], float]] = {}

    def one(edition: Edition) -> None:
        try:
            results[edition.lang] = run_jupyter_book(edition, f"[{edition.lang}] ")
        except Exception as exc:  # noqa: BLE001 - reported as that edition's failure
            results[edition.lang] = (1, [f"ERROR: build_book: {type(exc).__name__}: {exc}"], 0.0)

    threads = [threading.Thread(target=one, args=(e,)) for e in editions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# --- the Chinese edition's configuration ------------------------------------------------
# Everything as in the English _config.yml except what makes it Chinese.  Written by
# every build, so a change to the English configuration reaches the Chinese book; the
# tests check that the committed zh/_config.yml is what this writes.
ZH_CONFIG_HEADER = """\
# 中文版的配置 — written by scripts/build_book.py (write_zh_config) from the English
# _config.yml: do not edit here; change ../_config.yml, or the overrides in build_book.py.
"""


def zh_config() -> dict:
    """The English configuration, with the Chinese title, language, search and footer."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = "TCP 连接管理：模拟与图解"
    config["author"] = "tcpbook 作者"
    config["exclude_patterns"] = [p for p in config.get("exclude_patterns", []) if p != "zh"]
    config["html"]["extra_footer"] = (
        "<p>本书中的每一幅图、每一个数字都由 <code>tcpbook</code> 模拟器在构建时计算得出。"
        "页面可离线使用：不从其他网站加载任何脚本、样式或字体。</p>\n")
    config["repository"]["path_to_book"] = "zh"  # launch buttons (Binder) open zh/chapters/…
    config["sphinx"]["local_extensions"] = {"build_book": "../scripts/"}  # relative to this file's folder
    sphinx_config = config["sphinx"]["config"]
    sphinx_config["language"] = "zh_CN"      # the theme's own words (搜索, 目录 …) in Chinese
    sphinx_config["html_search_language"] = "zh"  # the search index is segmented by jieba
    sphinx_config["nb_code_prompt_show"] = "显示代码"  # myst-nb's "Show code cell source"
    sphinx_config["nb_code_prompt_hide"] = "隐藏代码"
    return config


def write_zh_config() -> Path:
    path = ZH_SOURCE / "_config.yml"
    text = ZH_CONFIG_HEADER + yaml.safe_dump(zh_config(), allow_unicode=True, sort_keys=False, width=100)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def publish(edition: Edition) -> None:
    """Copy an edition built outside ``_build/html`` into its place there."""
    if edition.built_html == edition.html or not edition.built_html.is_dir():
        return
    if edition.html.exists():
        shutil.rmtree(edition.html)
    shutil.copytree(edition.built_html, edition.html)


def stabilise_source_notebooks(html_dir: Path = HTML) -> None:
    """The same for the .ipynb copies jupyter-book publishes under ``_sources/``."""
    import nbformat  # noqa: PLC0415

    address = re.compile(r" at 0x[0-9a-f]+>")  # default reprs name a memory address
    for path in sorted((html_dir / "_sources").rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        number_cells(nb)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if isinstance(data.get("text/plain"), str):
                    data["text/plain"] = address.sub(">", data["text/plain"])
        nbformat.write(nb, path)


NOTE_MARK = "tcpbook-notebook-note"


NOTEBOOK_NOTE = {
    "en": ('Run this chapter yourself: download it as a notebook (<a href="{href}" download="{name}">{name}</a>) '
           'for Jupyter or Colab — its first cell installs tcpbook (also published here as a '
           '<a href="{wheel}">wheel</a>) — or use the launch button (rocket) above to open it live in Binder.'),
    "zh": ('亲手运行本章：把它下载为笔记本（<a href="{href}" download="{name}">{name}</a>），在 Jupyter 或 Colab '
           '中打开——第一个单元格会安装 tcpbook（本站也提供它的 <a href="{wheel}">wheel 安装包</a>）；'
           '或者点击上方的启动按钮（火箭图标），在 Binder 中在线运行。'),
}
NOTEBOOK_TITLE = {"en": "Download as a Jupyter notebook", "zh": "下载为 Jupyter 笔记本"}


def link_notebook(page_html: Path, notebook: Path, wheel: Path, lang: str = "en") -> None:
    """Add the notebook to the page's download menu and a note (in the page's language) at
    the top of the article."""
    text = page_html.read_text(encoding="utf-8")
    if NOTE_MARK in text:
        return
    href = html.escape(os.path.relpath(notebook, page_html.parent).replace(os.sep, "/"))
    name = html.escape(notebook.name)
    item = (
        f'<li><a href="{href}" download="{name}" class="btn btn-sm btn-download-notebook-button dropdown-item" '
        f'title="{NOTEBOOK_TITLE[lang]}" data-bs-placement="left" data-bs-toggle="tooltip">'
        f'<span class="btn__icon-container"><i class="fas fa-book"></i></span>'
        f'<span class="btn__text-container">.ipynb</span></a></li>'
    )
    # sphinx-book-theme's download dropdown: insert our item before its first entry.
    menu = re.search(r'(<ul class="dropdown-menu">\s*)(<li><a href="[^"]*_sources/)', text)
    if menu:
        text = text[: menu.end(1)] + item + text[menu.end(1):]
    wheel_href = html.escape(os.path.relpath(wheel, page_html.parent).replace(os.sep, "/"))
    note = f'<p class="{NOTE_MARK}">' + NOTEBOOK_NOTE[lang].format(href=href, name=name, wheel=wheel_href) + "</p>"
    article = re.search(r'(<article class="bd-article"[^>]*>\s*)', text)
    if article is None:
        raise SystemExit(f"build_book: no <article> in {page_html}; the theme changed, update link_notebook()")
    text = text[: article.end(1)] + note + text[article.end(1):]
    page_html.write_text(text, encoding="utf-8")


# The theme names a few controls with an aria-label that leaves out their visible text
# (WCAG 2.5.3, "label in name": speech users say what they see).  Their visible text is
# the better name, so the aria-label goes; decorative icons are hidden from the tree.
ACCESSIBLE_NAME_FIXES = (
    # the search button reads "Search Ctrl+K" ("搜索 Ctrl+K"); aria-label="Search" hid the shortcut
    (re.compile(r'(<button class="btn search-button-field search-button__button[^"]*"[^>]*?) aria-label="[^"]*"'), r"\1"),
    # "Show code cell source" summaries, named "Toggle hidden content"
    (re.compile(r'<summary aria-label="Toggle hidden content">'), "<summary>"),
    # the colour-mode button's icons carry titles ("Light", "Dark") that are not its name
    (re.compile(r'(<i class="theme-switch [^"]*"[^>]*?) title="[^"]*"'), r'\1 aria-hidden="true"'),
)


def fix_accessible_names(page_html: Path) -> None:
    """Apply :data:`ACCESSIBLE_NAME_FIXES` to one built page (idempotent)."""
    text = page_html.read_text(encoding="utf-8")
    fixed = text
    for pattern, replacement in ACCESSIBLE_NAME_FIXES:
        fixed = pattern.sub(replacement, fixed)
    if fixed != text:
        page_html.write_text(fixed, encoding="utf-8")


# --- every page links to its counterpart in the other edition ----------------------------
SWITCH_MARK = "tcpbook-language-switch"


def link_other_edition(page_html: Path, docname: str, here: Edition, other: Edition) -> None:
    """A link to the same page in the other edition, at the top of the article's header
    buttons (beside the download menu), and a ``<link rel="alternate" hreflang>`` for
    search engines and browsers (idempotent)."""
    text = page_html.read_text(encoding="utf-8")
    if SWITCH_MARK in text:
        return
    target = other.html / f"{docname}.html"
    href = html.escape(os.path.relpath(target, page_html.parent).replace(os.sep, "/"))
    hreflang = "zh-CN" if other.lang == "zh" else other.lang
    title = "阅读本页的中文版" if other.lang == "zh" else "Read this page in English"
    button = (f'<a class="btn btn-sm {SWITCH_MARK}" href="{href}" hreflang="{hreflang}" lang="{hreflang}" '
              f'title="{title}">{other.label}</a>')
    buttons = re.search(r'(<div class="article-header-buttons">\s*)', text)
    head = text.find("</head>")
    if buttons is None or head < 0:
        raise SystemExit(f"build_book: no header buttons in {page_html}; the theme changed, update link_other_edition()")
    text = text[: buttons.end(1)] + button + text[buttons.end(1):]
    alternate = f'<link rel="alternate" hreflang="{hreflang}" href="{href}">\n'
    text = text[:head] + alternate + text[head:]
    page_html.write_text(text, encoding="utf-8")


WHEELS = HTML / "_downloads"
WHEEL_EPOCH = "315532800"  # 1980-01-01, the earliest time a zip can hold: the same wheel every build


def build_wheel() -> Path:
    """Build tcpbook's wheel into ``_build/html/_downloads/``, published with the pages.

    tcpbook is on no package index; a downloaded notebook installs it from the repository
    or, offline, from this file.  ``SOURCE_DATE_EPOCH`` makes the zip's timestamps fixed.
    """
    WHEELS.mkdir(parents=True, exist_ok=True)
    for old in WHEELS.glob("tcpbook-*.whl"):
        old.unlink()
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(WHEELS), str(ROOT)],
        env={**os.environ, "SOURCE_DATE_EPOCH": WHEEL_EPOCH}, capture_output=True, text=True,
    )
    wheels = sorted(WHEELS.glob("tcpbook-*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        raise SystemExit(f"build_book: building the tcpbook wheel failed:\n{proc.stdout}{proc.stderr}")
    return wheels[0]


def install_requirement(config_path: Path = ROOT / "_config.yml") -> str:
    """What a downloaded notebook pip-installs: tcpbook from the repository in _config.yml."""
    repo = yaml.safe_load(config_path.read_text(encoding="utf-8"))["repository"]
    return f"tcpbook @ git+{repo['url'].rstrip('/')}.git@{repo.get('branch', 'main')}"


def write_downloads(pages: list[str], sources: list[Path], wheel: Path, edition: Edition = EN) -> None:
    """A plain notebook of every built page of an edition, linked from the page."""
    install = downloads.install_cell_source(install_requirement(), wheel.name, language=edition.lang)
    values_path = edition.inline_values
    values = json.loads(values_path.read_text(encoding="utf-8")) if values_path.is_file() else {}
    index = downloads.BookIndex.from_sources(dict(zip(pages, sources)))
    for page, source in zip(pages, sources):
        page_html = edition.html / f"{page}.html"
        if page_html.is_file():
            notebook = edition.notebooks / downloads.notebook_name(page)
            downloads.write_notebook(source, notebook, docname=page, index=index,
                                     values=values.get(page, {}), install=install, language=edition.lang)
            link_notebook(page_html, notebook, wheel, edition.lang)


def page_weight(page_html: Path) -> dict[str, int]:
    """Bytes of a page's HTML plus the local images it shows (shared JS/CSS counted apart)."""
    text = page_html.read_text(encoding="utf-8")
    images = 0
    for src in set(re.findall(r'<img[^>]+src="([^"#?]+)"', text)):
        if "://" in src or src.startswith("data:"):
            continue
        path = (page_html.parent / src).resolve()
        if path.is_file():
            images += path.stat().st_size
    return {"html": len(text.encode()), "images": images, "total": len(text.encode()) + images}


def finish_edition(edition: Edition, pages: list[str], sources: list[Path], code: int, wheel: Path | None) -> dict:
    """After an edition's Sphinx build: publish it, stabilise its notebooks, write its
    downloads, fix accessible names; return its part of the report."""
    publish(edition)
    built = [page for page in pages if (edition.html / f"{page}.html").is_file()]
    if (code == 0 or built) and wheel is not None:
        stabilise_source_notebooks(edition.html)
        write_downloads(pages, sources, wheel, edition)
    return {"pages": pages, "built": built, "missing_html": [p for p in pages if p not in built]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="remove _build first (a build from scratch)")
    parser.add_argument("--edition", choices=("both", "en", "zh"), default="both",
                        help="which edition to build (default both; one alone is quicker while writing)")
    args = parser.parse_args(argv)
    if args.clean and BUILD.exists():
        shutil.rmtree(BUILD)

    editions = tuple(e for e in EDITIONS if args.edition in ("both", e.lang))
    write_zh_config()
    pages = {e.lang: toc_pages(e.source / "_toc.yml") for e in editions}
    sources = {e.lang: check_sources(pages[e.lang], e.source) for e in editions}
    ensure_kernel()
    REPORT.unlink(missing_ok=True)
    start = time.perf_counter()
    results = run_both(editions)
    wall = time.perf_counter() - start

    wheel = build_wheel() if any(code == 0 for code, _, _ in results.values()) or HTML.exists() else None
    parts = {e.lang: finish_edition(e, pages[e.lang], sources[e.lang], results[e.lang][0], wheel) for e in editions}
    if len(editions) == 2:
        for here, other in ((EN, ZH), (ZH, EN)):
            for page in parts[here.lang]["built"]:
                if page in parts[other.lang]["built"]:
                    link_other_edition(here.html / f"{page}.html", page, here, other)
    if HTML.exists():
        for page_html in sorted(HTML.rglob("*.html")):
            if "_static" not in page_html.parts:
                fix_accessible_names(page_html)
    shared = sum(p.stat().st_size for p in (HTML / "_static").rglob("*") if p.is_file()) if HTML.exists() else 0

    def part(edition: Edition) -> dict:
        code, warnings, seconds = results[edition.lang]
        command = [c for c in jupyter_book_command(edition)[1:] if c != "--all"]  # --all only after a _static change
        weights = {page: page_weight(edition.html / f"{page}.html") for page in parts[edition.lang]["built"]}
        return {"returncode": code, "warnings": warnings, "warning_count": len(warnings), "seconds": round(seconds, 1),
                **parts[edition.lang], "page_weights": weights, "command": " ".join(["jupyter-book", *command])}

    report: dict = part(EN) if EN in editions else {}
    report["editions"] = {e.lang: part(e) for e in editions}
    report["wall_seconds"] = round(wall, 1)
    report["static_bytes"] = shared
    REPORT.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    failed = False
    for edition in editions:
        info = report["editions"][edition.lang]
        print(f"\nbuild_book [{edition.lang}]: jupyter-book exited {info['returncode']} after {info['seconds']:.1f} s "
              f"with {info['warning_count']} warning(s)")
        print(f"{'page':40} {'html KiB':>9} {'images KiB':>11} {'total KiB':>10}")
        for page, w in info["page_weights"].items():
            print(f"{page:40} {w['html'] / 1024:9.0f} {w['images'] / 1024:11.0f} {w['total'] / 1024:10.0f}")
        for w in info["warnings"]:
            print("  warning:", w)
        if info["returncode"] != 0 or info["warnings"] or info["missing_html"]:
            print(f"build_book: the {edition.label} edition FAILED (see {edition.log.relative_to(ROOT)})", file=sys.stderr)
            failed = True
    print(f"shared _static/ (theme, vendored scripts): {shared / 1024:.0f} KiB, loaded once and cached")
    print(f"build_book: both builds took {wall:.1f} s side by side")
    if failed:
        return 1
    print(f"build_book: open {(HTML / 'index.html').relative_to(ROOT)}" +
          (f" and {(ZH.html / 'index.html').relative_to(ROOT)}" if ZH in editions else ""))
    return 0


# --- Sphinx side -------------------------------------------------------------------------
# _config.yml loads this module as a local Sphinx extension (sphinx.local_extensions).
# jupyter-book adds *every* .js file under _static/ to *every* page, in file-system order;
# for the widget manager that is wrong twice over: require.js must come before embed-amd.js,
# and pages without explorers should not load 3.5 MB of JavaScript.  myst-nb already adds
# them, in the order of nb_ipywidgets_js, to exactly the pages that embed widget state.
PER_PAGE_JS = ("vendor/", "widgets-assets-path.js", "tcpbook-math.js")


def _drop_per_page_js(app, config) -> None:  # noqa: ANN001 - Sphinx callback signature
    """Keep the per-page scripts and style sheets (widget manager, KaTeX) off every page."""
    for option in ("html_js_files", "html_css_files"):
        kept = []
        for entry in getattr(config, option):
            name = entry[0] if isinstance(entry, (tuple, list)) else entry
            if not (name or "").startswith(PER_PAGE_JS):
                kept.append(entry)
        setattr(config, option, kept)


# --- math: KaTeX, vendored (scripts/vendor_js.py), on the pages that have math ---------
# MyST's dollarmath turns $…$ and $$…$$ into math nodes; this renderer writes their TeX
# into the page, and _static/tcpbook-math.js typesets it with KaTeX when the page loads.
def _visit_math(self, node) -> None:  # noqa: ANN001 - a Sphinx HTML translator and a docutils node
    from docutils import nodes

    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight tcpbook-tex"))
    self.body.append(self.encode(node.astext()) + "</span>")
    raise nodes.SkipNode


def _visit_displaymath(self, node) -> None:  # noqa: ANN001
    from docutils import nodes

    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight tcpbook-tex tcpbook-tex-display"))
    self.body.append(self.encode(node.astext()) + "</div>\n")
    raise nodes.SkipNode


def _katex_assets(app, pagename, templatename, context, doctree) -> None:  # noqa: ANN001
    """KaTeX's script, style sheet and typesetting call, on pages with math only."""
    if app.builder.format != "html" or getattr(app.builder, "math_renderer_name", None) != "katex":
        return
    if app.env.get_domain("math").has_equations(pagename):
        app.add_css_file("vendor/katex/katex.min.css")
        app.add_js_file("vendor/katex/katex.min.js", defer="defer")
        app.add_js_file("tcpbook-math.js", defer="defer")


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:  # noqa: ANN001
    """Drop repeated <script> entries from a page.

    Some extensions (sphinx-thebe, sphinx-togglebutton) register their inline config
    scripts once per read phase, and Sphinx re-adds registered scripts when writing starts,
    so pages got ``const THEBE_JS_URL = ...`` twice: a SyntaxError in every browser console.
    """
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for js in scripts:
        attrs = getattr(js, "attributes", {})
        # An inline script is registered with filename None and re-added with "": the same.
        key = (getattr(js, "filename", str(js)) or "", tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def _resolve_short_tcpbook_refs(app, env, node, contnode):  # noqa: ANN001, ANN202
    """Resolve ``Trace`` or ``tcpbook.simulate`` in a docstring to the one documented
    tcpbook object of that name (``tcpbook.trace.Trace``, ``tcpbook.scenarios.simulate``).

    Docstrings are written for readers of ``help()``, who know ``Trace`` from the import
    at the top of the module; Sphinx only searches the current module.  A name that
    matches no documented tcpbook object, or several, stays unresolved, and -n reports it.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if "." in target and not target.startswith("tcpbook."):
        return None
    name = target.rsplit(".", 1)[-1]
    domain = env.get_domain("py")
    wanted = set(domain.objtypes_for_role(node.get("reftype", "obj")) or ())
    matches = sorted(
        {
            full
            for full, entry in domain.objects.items()
            if full.startswith("tcpbook.") and full.rsplit(".", 1)[-1] == name and (not wanted or entry.objtype in wanted)
        }
    )
    if not matches and node.get("reftype") == "class":  # a type alias (``Effect``) is documented as data
        matches = sorted(full for full, entry in domain.objects.items()
                         if full.startswith("tcpbook.") and full.rsplit(".", 1)[-1] == name and entry.objtype == "data")
    if len(matches) != 1:
        return None
    from sphinx.util.nodes import make_refnode

    entry = domain.objects[matches[0]]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, matches[0])


# --- Inline numbers: {eval}`name` --------------------------------------------------------
# The prose shows numbers computed by the chapter with MyST's inline role {eval}`name`.
# myst-nb evaluates it while it parses the page, in the chapter's kernel (execution mode
# `inline`); jupyterlab-myst evaluates the same role live in JupyterLab.  Two details of
# myst-nb 1.x make the book disagree with JupyterLab's "Run All", and are fixed here:
#
# 1. myst-nb runs a code cell only when it renders it, so a hidden `remove-cell` cell
#    that computes a number runs *after* the prose below it has been evaluated (a
#    NameError).  We run every cell above a markdown cell before rendering that cell.
# 2. myst-nb evaluates by executing the name as code, and IPython then prints nothing
#    if the last cell *in the history* ended with `;` (`fig();` silences every later
#    number).  We evaluate as Jupyter user_expressions instead, the mechanism of the
#    execute request that jupyterlab-myst uses: same values, same text, no such quirk.
#
# Every value shown is also recorded (in document order) and written to
# _build/inline-values.json, so the downloadable notebooks can carry the built numbers
# in their prose (Colab and plain Jupyter have no {eval}).

INLINE_VALUES = "inline-values.json"


def _run_cells_above_markdown(self, token) -> None:  # noqa: ANN001 - myst-nb renderer method
    client = self.nb_client
    if type(client).__name__ == "NotebookClientInline":
        client.code_cell_outputs(token.meta["index"])  # executes every cell up to here
    self.render_children(token)


def _eval_as_user_expression(self, name: str) -> list:  # noqa: ANN001
    """``NotebookClientInline.eval_variable`` through an execute request's user_expressions."""
    import nbformat  # noqa: PLC0415
    from myst_nb.core.execute.base import EvalNameError  # noqa: PLC0415

    if not re.match(self.nb_config.eval_name_regex, name):
        raise EvalNameError(name)
    kc = self._client.kc
    msg_id = kc.execute("", silent=True, store_history=False, user_expressions={"value": name})
    reply = self._client.wait_for_reply(msg_id)
    result = (reply or {}).get("content", {}).get("user_expressions", {}).get("value")
    if result is None:
        return []
    if result.get("status") != "ok":
        return [nbformat.from_dict({"output_type": "error", "ename": result.get("ename", "Error"),
                                    "evalue": result.get("evalue", ""), "traceback": result.get("traceback", [])})]
    return [nbformat.from_dict({"output_type": "execute_result", "execution_count": None,
                                "data": result.get("data", {}), "metadata": result.get("metadata", {})})]


def _recording_eval_role():  # noqa: ANN202
    from myst_nb.ext.eval import EvalRoleAny  # noqa: PLC0415

    class RecordingEvalRole(EvalRoleAny):
        """myst-nb's {eval} role that also notes the text it put on the page."""

        def run(self):  # noqa: ANN202
            result, messages = super().run()
            env = getattr(self.document.settings, "env", None)
            if env is not None and result:
                text = "".join(node.astext() for node in result)
                values = env.__dict__.setdefault("tcpbook_inline_values", {})
                values.setdefault(env.docname, {}).setdefault(self.text, []).append(text)
            return result, messages

    return RecordingEvalRole()


# --- Two builds side by side: one kernel start at a time ---------------------------------
# jupyter_client picks a kernel's five TCP ports by binding free ones and letting them go;
# the kernel binds them a moment later.  Two builds starting kernels at the same instant
# can pick the same port ("Address already in use", "Kernel died before replying to
# kernel_info").  A lock held from the choice of ports until the kernel has answered
# serialises the starts (a second or two each); the runs themselves stay side by side.
KERNEL_START_LOCK = BUILD / "kernel-start.lock"


def _one_kernel_start_at_a_time(start_client):  # noqa: ANN001, ANN202 - wraps a myst-nb method
    import fcntl  # noqa: PLC0415

    def start_client_locked(self):  # noqa: ANN001, ANN202
        KERNEL_START_LOCK.parent.mkdir(parents=True, exist_ok=True)
        with KERNEL_START_LOCK.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                return start_client(self)  # returns after the kernel's kernel_info reply
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    start_client_locked.tcpbook_locked = True
    return start_client_locked


def _install_inline_eval(app, config) -> None:  # noqa: ANN001
    from myst_nb.core.execute.inline import NotebookClientInline  # noqa: PLC0415
    from myst_nb.sphinx_ import SphinxNbRenderer  # noqa: PLC0415

    for owner, attr in ((SphinxNbRenderer, "render_nb_cell_markdown"), (NotebookClientInline, "eval_variable"),
                        (NotebookClientInline, "start_client")):
        if not hasattr(owner, attr):  # a myst-nb release that moved it: fail loudly, never silently
            raise RuntimeError(f"build_book: myst-nb changed, {owner.__name__}.{attr} is gone; update build_book.py")
    SphinxNbRenderer.render_nb_cell_markdown = _run_cells_above_markdown
    NotebookClientInline.eval_variable = _eval_as_user_expression
    if not getattr(NotebookClientInline.start_client, "tcpbook_locked", False):
        NotebookClientInline.start_client = _one_kernel_start_at_a_time(NotebookClientInline.start_client)
    app.add_role("eval", _recording_eval_role(), override=True)


def _purge_inline_values(app, env, docname) -> None:  # noqa: ANN001
    env.__dict__.get("tcpbook_inline_values", {}).pop(docname, None)


def _merge_inline_values(app, env, docnames, other) -> None:  # noqa: ANN001
    mine = env.__dict__.setdefault("tcpbook_inline_values", {})
    for docname, values in other.__dict__.get("tcpbook_inline_values", {}).items():
        if docname in docnames:
            mine[docname] = values


def _write_inline_values(app, exception) -> None:  # noqa: ANN001
    if exception is None:
        values = app.env.__dict__.get("tcpbook_inline_values", {})
        path = Path(app.outdir).parent / INLINE_VALUES
        path.write_text(json.dumps(values, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def package_fingerprint(package: Path = ROOT / "tcpbook") -> str:
    """A hash of every file of the tcpbook package (its code and data)."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _reread_every_page_when_the_package_changed(app, env, added, changed, removed) -> list[str]:  # noqa: ANN001
    """Sphinx re-reads only the pages whose source changed; but every page runs tcpbook, so
    a change to the package (a new rendering, a fixed simulator) must re-run all of them,
    or an incremental ``make book`` would keep figures and numbers of the old code."""
    fingerprint = package_fingerprint()
    if getattr(env, "tcpbook_package_fingerprint", None) == fingerprint:
        return []
    env.tcpbook_package_fingerprint = fingerprint
    return sorted(env.found_docs - set(added) - set(changed))


# --- Chinese text: a line break between two Chinese characters is not a space -----------
# Markdown joins the lines of a paragraph with a space; between Chinese characters the
# browser shows that space as a gap.  The Chinese edition's translators keep paragraphs
# on one line, and this joins the lines of any paragraph that was wrapped anyway.
_CJK_CHARS = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_LINE_BREAK = re.compile(f"(?<=[{_CJK_CHARS}])\n(?=[{_CJK_CHARS}])")


def _join_chinese_lines(app, doctree) -> None:  # noqa: ANN001 - a Sphinx callback
    """On the Chinese edition's pages, drop line breaks between two Chinese characters."""
    if not str(app.config.language or "").startswith("zh"):
        return
    from docutils import nodes  # noqa: PLC0415

    for node in list(doctree.findall(nodes.Text)):
        if isinstance(node.parent, (nodes.literal_block, nodes.literal, nodes.raw, nodes.math, nodes.math_block)):
            continue
        text = str(node)
        joined = _CJK_LINE_BREAK.sub("", text)
        if joined != text:
            node.parent.replace(node, nodes.Text(joined))


def setup(app) -> dict:  # noqa: ANN001
    """Sphinx entry point: keep the vendored widget scripts off pages that do not need
    them, math typeset by the vendored KaTeX, every script on a page once, short tcpbook
    names in docstrings resolved, and {eval} inline numbers evaluated as in JupyterLab
    (and recorded for the downloads)."""
    app.connect("config-inited", _drop_per_page_js, priority=900)
    app.connect("config-inited", _install_inline_eval, priority=950)
    app.add_html_math_renderer("katex", (_visit_math, None), (_visit_displaymath, None))
    app.connect("html-page-context", _katex_assets)
    app.connect("env-purge-doc", _purge_inline_values)
    app.connect("env-merge-info", _merge_inline_values)
    app.connect("build-finished", _write_inline_values)
    app.connect("html-page-context", _dedupe_scripts, priority=999)
    app.connect("missing-reference", _resolve_short_tcpbook_refs)
    app.connect("env-get-outdated", _reread_every_page_when_the_package_changed)
    app.connect("doctree-read", _join_chinese_lines)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.exit(main())
