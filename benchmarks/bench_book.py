"""Book build time (clean and cached) and the weight of each built page.

    .venv/bin/python benchmarks/bench_book.py            # page weights of the existing _build/html
    .venv/bin/python benchmarks/bench_book.py --build    # time a clean build, then a cached one

Building the book executes every chapter: slow, so it happens only with ``--build``.
A clean build removes ``_build`` first (``scripts/build_book.py --clean``).

A page's weight is its HTML plus every local file it loads (images, scripts, styles,
fonts referenced from the page), each counted once per page: what a reader downloads
on a first visit.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
REF_RE = re.compile(r"""(?:src|href)=["']([^"'#?]+)""")


def page_weights(html_dir: Path = HTML) -> list[dict[str, object]]:
    """``[{page, html_bytes, total_bytes, files}]`` for every built chapter page."""
    rows = []
    for page in sorted(html_dir.rglob("*.html")):
        rel = page.relative_to(html_dir)
        if rel.parts[0].startswith("_") or rel.name in ("genindex.html", "search.html"):
            continue
        text = page.read_text(encoding="utf-8", errors="replace")
        seen = set()
        total = page.stat().st_size
        for ref in REF_RE.findall(text):
            if "://" in ref or ref.startswith(("mailto:", "data:")) or ref.endswith(".html"):
                continue
            target = (page.parent / ref).resolve()
            if target in seen or not target.is_file():
                continue
            seen.add(target)
            total += target.stat().st_size
        rows.append({"page": str(rel), "html_bytes": page.stat().st_size, "total_bytes": total, "files": len(seen) + 1})
    return rows


def timed_build(clean: bool) -> float:
    cmd = [sys.executable, str(ROOT / "scripts" / "build_book.py")] + (["--clean"] if clean else [])
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", action="store_true", help="time a clean and a cached build (slow)")
    a = ap.parse_args(argv)
    if a.build:
        clean = timed_build(True)
        cached = timed_build(False)
        print(f"book build: clean {clean:.1f} s, cached {cached:.1f} s (x{clean / cached:.1f} faster cached)")
    if not HTML.is_dir():
        print("no _build/html: run `make book` (or pass --build) to measure page weights")
        return 0
    rows = page_weights()
    print(f"{'page':45s} {'html KB':>9s} {'total KB':>9s} {'files':>6s}")
    for r in rows:
        print(f"{r['page']:45s} {r['html_bytes'] / 1024:9.0f} {r['total_bytes'] / 1024:9.0f} {r['files']:6d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
