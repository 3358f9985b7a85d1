"""Build one page with the book's own configuration, fast: ``make page PAGE=chapters/x.md``.

``jupyter-book build chapters/x.md`` (its single-page mode) ignores ``_config.yml``: no
vendored widget manager (it loads scripts from a CDN), none of the book's extensions, no
{eval} numbers as the book shows them.  This script builds the *book* instead, with a
table of contents that holds only the page, so ``only_build_toc_files`` skips every
other chapter: the page is parsed and executed with exactly the configuration, CSS and
local scripts of ``make book``, in a few seconds plus its own execution time.

The preview goes to ``_build/page/_build/html/`` and never touches the book in
``_build/html``.  Links to other pages of the book cannot resolve in a one-page build;
they are listed, not fatal.  ``make book`` (``-W -n``) is the strict check.

    .venv/bin/python scripts/build_page.py chapters/instructors.md
    .venv/bin/python scripts/build_page.py zh/chapters/instructors.md   # a page of the Chinese edition
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import build_book

OUT = build_book.BUILD / "page"
# Warnings that only say "the other pages are not in this build".
CROSS_PAGE = re.compile(r"unknown document|undefined label|term not in glossary|toctree contains reference to")


def edition_of(page: str) -> build_book.Edition:
    """The edition a page belongs to: the Chinese one for a page under ``zh/``."""
    path = Path(page) if Path(page).is_absolute() else build_book.ROOT / page
    try:
        path.resolve().relative_to(build_book.ZH_SOURCE)
    except ValueError:
        return build_book.EN
    return build_book.ZH


def docname_of(page: str) -> str:
    """``chapters/x.md`` (or ``chapters/x``, or ``zh/chapters/x.md``) -> ``chapters/x``,
    checked against the repository."""
    path = (build_book.ROOT / page).resolve() if not Path(page).is_absolute() else Path(page).resolve()
    try:
        relative = path.relative_to(build_book.ROOT)
    except ValueError:
        raise SystemExit(f"build_page: PAGE={page} is not inside the book ({build_book.ROOT})") from None
    if path.suffix not in (".md", ".ipynb"):
        candidates = [path.with_suffix(s) for s in (".md", ".ipynb") if path.with_suffix(s).is_file()]
        if not candidates:
            raise SystemExit(f"build_page: PAGE={page} is not allowed: expected a .md or .ipynb page of the book")
        path, relative = candidates[0], candidates[0].relative_to(build_book.ROOT)
    if not path.is_file():
        raise SystemExit(f"build_page: PAGE={page} does not exist")
    name = relative.with_suffix("").as_posix()
    return name[len("zh/"):] if edition_of(page) is build_book.ZH else name


def build_page(page: str) -> tuple[int, Path, list[str], float]:
    """Build ``page``; returns (exit code, its HTML file, warnings, seconds)."""
    docname = docname_of(page)
    edition = edition_of(page)
    out = OUT if edition is build_book.EN else OUT / edition.lang
    out.mkdir(parents=True, exist_ok=True)
    # The preview holds this page only: pages of earlier previews would look like a book.
    shutil.rmtree(out / "_build", ignore_errors=True)
    if edition is build_book.ZH:
        build_book.write_zh_config()
    toc = out / "_toc.yml"
    toc.write_text(f"# written by scripts/build_page.py: the one page being previewed\nformat: jb-book\nroot: {docname}\n",
                   encoding="utf-8")
    build_book.ensure_kernel()
    jb = build_book.VENV / "bin" / "jupyter-book"
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(edition.source), "--toc", str(toc),
           "--path-output", str(out), "--keep-going"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=build_book.ROOT, env=build_book.book_env(edition.lang), capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    log = build_book.ANSI_RE.sub("", proc.stdout + proc.stderr)
    (out / "build.log").write_text(log, encoding="utf-8")
    warnings = [line for line in log.splitlines() if build_book.WARNING_RE.search(line)]
    return proc.returncode, out / "_build" / "html" / f"{docname}.html", warnings, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", help="the page to build, e.g. chapters/01-handshake.md")
    args = parser.parse_args(argv)
    code, html, warnings, seconds = build_page(args.page)
    cross_page = [w for w in warnings if CROSS_PAGE.search(w)]
    other = [w for w in warnings if w not in cross_page]
    for w in other:
        print("  warning:", w)
    if cross_page:
        print(f"build_page: {len(cross_page)} link(s) to other pages of the book cannot resolve in a one-page "
              "build (make book checks them)")
    if code != 0 or not html.is_file():
        edition = edition_of(args.page)
        log = (OUT if edition is build_book.EN else OUT / edition.lang) / "build.log"
        print(f"build_page: FAILED after {seconds:.1f} s (see {log.relative_to(build_book.ROOT)})", file=sys.stderr)
        return code or 1
    print(f"build_page: {html.relative_to(build_book.ROOT)} in {seconds:.1f} s, {len(other)} warning(s)")
    return 1 if other else 0


if __name__ == "__main__":
    sys.exit(main())
