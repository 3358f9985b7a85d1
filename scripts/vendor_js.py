"""Vendor the JavaScript the static book (and its browser tests) need, so nothing is loaded
from a third-party host.

The published pages show the explorers without a kernel: the widget state is embedded in
the HTML and rendered by the Jupyter widgets *HTML manager* (``embed-amd.js``), which is an
AMD bundle and therefore needs *require.js*.  myst-nb's default points both at public CDNs;
we ship our own copies under ``_static/vendor/`` instead, so the book works offline and in
a classroom without internet.

Run this only to upgrade the vendored files (the results are committed)::

    .venv/bin/python scripts/vendor_js.py

What it does, and why:

* ``npm pack`` the pinned versions from the npm registry (npm verifies the tarball's
  integrity hash against the registry's record) and unpack them in a temporary folder;
* copy ``require.js``, ``embed-amd.js`` and the Font Awesome ``.woff2`` fonts that the
  widget CSS refers to, plus the licence texts;
* neutralise the bundle's built-in default CDN: ``embed-amd.js`` falls back to loading
  unknown widget modules from a public CDN.  Every widget we use (``@jupyter-widgets/
  controls``, ``base``, ``output``) is inside the bundle, so the fallback should never
  trigger; if it ever does, it must fail visibly (a 404 the browser test reports) rather than
  quietly go online.  The same file carries a commented-out web-font ``@import``, which we
  drop too, so that no third-party asset host is named in the repository;
* check that every host still named in the vendored files is in ``ALLOWED_HOSTS`` (hosts
  that appear only in licence headers and comments), and fail otherwise;
* **KaTeX** typesets the chapters' ``$…$`` and ``$$…$$`` math in the browser: its script,
  its style sheet (rewritten to name only the ``.woff2`` fonts, which every browser the book
  supports reads, so the ``.woff``/``.ttf`` copies are not shipped) and those fonts, under
  ``_static/vendor/katex/``; ``scripts/build_book.py`` loads them only on pages with math;
* **axe-core** checks the built pages for WCAG 2 A/AA problems in the browser tests.  It is
  a test tool, never part of the book: it goes to ``tests/vendor/axe-core/``;
* write ``_static/vendor/VENDORED.json``: versions, npm integrity, sha256 of each file
  (axe-core's record is ``tests/vendor/axe-core/VENDORED.json``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "_static" / "vendor"
TEST_VENDOR = ROOT / "tests" / "vendor"

# @jupyter-widgets/html-manager 1.0.x is the embedder of the ipywidgets 8.1.x series
# (ipywidgets declares ``__html_manager_version__ = '^1.0.1'``); 1.0.15 bundles
# @jupyter-widgets/controls ^5.0.13, the same protocol (2.0.0) as ipywidgets 8.1.9.
HTML_MANAGER = ("@jupyter-widgets/html-manager", "1.0.15")
REQUIREJS = ("requirejs", "2.3.8")
KATEX = ("katex", "0.19.1")  # math typesetting: 270 KB of script, fonts fetched only as used
AXE = ("axe-core", "4.14.1")  # accessibility rules for the browser tests (MPL-2.0)

# Hosts that may remain in the vendored text: licence headers, comments and XML namespaces.
# None of them is fetched at run time.
ALLOWED_HOSTS = {
    "bugs.webkit.org",
    "connect.microsoft.com",
    "dev.jquery.com",
    "evilmartians.com",
    "fontawesome.com",
    "github.com",
    "jquery.com",
    "jquery.org",
    "jqueryui.com",
    "json-schema.org",
    "meyerweb.com",
    "mozilla.org",  # axe-core's licence header
    "dequeuniversity.com",  # axe-core: links to rule documentation in its reports
    "raw.githubusercontent.com",
    "requirejs.org",
    "stackoverflow.com",
    "tools.ietf.org",
    "webkit.org",
    "www.w3.org",
    "www.w3ctech.com",
}

REQUIREJS_LICENSE = """\
MIT License

Copyright jQuery Foundation and other contributors, https://jquery.org/

This software consists of voluntary contributions made by many individuals.
For exact contribution history, see the revision history available at
https://github.com/requirejs/requirejs

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify, merge,
publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.
"""

# The html-manager tarball carries no LICENSE file of its own; it is part of the ipywidgets
# project (BSD-3-Clause), whose licence the Python package ships.
IPYWIDGETS_LICENSE_GLOB = "ipywidgets-*.dist-info/licenses/LICENSE"


def npm_pack(spec: str, dest: Path) -> tuple[Path, dict]:
    """Download ``spec`` with ``npm pack`` into ``dest``; return the tarball and npm's record."""
    out = subprocess.run(
        ["npm", "pack", "--json", spec], cwd=dest, check=True, capture_output=True, text=True
    ).stdout
    record = json.loads(out)[0]
    return dest / record["filename"], record


def unpack(tarball: Path, dest: Path) -> Path:
    with tarfile.open(tarball) as tar:
        tar.extractall(dest, filter="data")
    return dest / "package"


def neutralise_cdn(js: str) -> str:
    """Replace the bundle's default CDN base URL and drop the commented web-font import."""
    # `let bt="https://<cdn>/npm/"` - the base for widget modules missing from the bundle.
    js, n_cdn = re.subn(r'="https://[^"/]+/npm/"', '=""', js)
    js, n_font = re.subn(r"@import url\('https://[^']*'\);", "", js)
    if n_cdn == 0:
        raise SystemExit("vendor_js: the default CDN of embed-amd.js was not found; check the new version by hand")
    print(f"  embed-amd.js: removed {n_cdn} default CDN URL(s) and {n_font} commented font import(s)")
    return js


def woff2_only(css: str) -> str:
    """KaTeX's @font-face rules name each font three times (woff2, woff, ttf); keep woff2."""
    css, n = re.subn(r'(url\(fonts/[^)]+\.woff2\) format\("woff2"\)),url\([^)]+\) format\("woff"\),url\([^)]+\) format\("truetype"\)',
                     r"\1", css)
    if n == 0 or ".ttf" in css or ".woff)" in css:
        raise SystemExit("vendor_js: KaTeX's @font-face rules changed; check the new version by hand")
    print(f"  katex.min.css: {n} @font-face rules now name their .woff2 only")
    return css


# KaTeX is a UMD bundle: where require.js is loaded (a page with explorers *and* math) it
# would register itself as an anonymous AMD module, which require.js refuses ("Mismatched
# anonymous define()") and the widgets never render.  The AMD branch is cut: KaTeX always
# becomes window.katex, which is how _static/tcpbook-math.js uses it.
KATEX_AMD = '"function"==typeof define&&define.amd?define([],t):'


def katex_without_amd(js: str) -> str:
    if js.count(KATEX_AMD) != 1:
        raise SystemExit("vendor_js: KaTeX's UMD header changed; check the new version by hand")
    print("  katex.min.js: AMD registration removed (always window.katex)")
    return js.replace(KATEX_AMD, "", 1)


def vendor_katex(package: Path, dest: Path) -> None:
    """KaTeX's script, its style sheet (woff2 fonts only, font-display: swap) and fonts."""
    (dest / "fonts").mkdir(parents=True)
    js = (package / "dist" / "katex.min.js").read_text(encoding="utf-8")
    (dest / "katex.min.js").write_text(katex_without_amd(js), encoding="utf-8")
    css = (package / "dist" / "katex-swap.min.css").read_text(encoding="utf-8")
    (dest / "katex.min.css").write_text(woff2_only(css), encoding="utf-8")
    for font in sorted((package / "dist" / "fonts").glob("*.woff2")):
        shutil.copy(font, dest / "fonts" / font.name)
    shutil.copy(package / "LICENSE", dest / "LICENSE")


def vendor_axe(tmp: Path) -> None:
    """axe-core for the browser tests, with its licence and its own manifest."""
    tgz, record = npm_pack("{}@{}".format(*AXE), tmp)
    package = unpack(tgz, tmp / "axe")
    dest = TEST_VENDOR / "axe-core"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in ("axe.min.js", "LICENSE"):
        shutil.copy(package / name, dest / name)
    manifest = {
        "why": "accessibility checks of the built pages in tests/test_book_browser.py; never shipped in the book",
        "packages": {AXE[0]: {"version": AXE[1], "npm_integrity": record["integrity"]}},
        "files": {p.name: sha256(p) for p in sorted(dest.iterdir()) if p.name != "VENDORED.json"},
    }
    (dest / "VENDORED.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def hosts_in(text: str) -> set[str]:
    return set(re.findall(r"https?://([A-Za-z0-9.-]+)", text))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    if shutil.which("npm") is None:
        print("vendor_js: needs npm (apt-get install npm)", file=sys.stderr)
        return 1
    site = Path(sys.prefix) / "lib"
    licences = sorted(site.glob(f"python3*/site-packages/{IPYWIDGETS_LICENSE_GLOB}"))
    if not licences:
        print("vendor_js: ipywidgets is not installed in this Python; run it with .venv/bin/python", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        hm_tgz, hm_rec = npm_pack("{}@{}".format(*HTML_MANAGER), tmp)
        rq_tgz, rq_rec = npm_pack("{}@{}".format(*REQUIREJS), tmp)
        kx_tgz, kx_rec = npm_pack("{}@{}".format(*KATEX), tmp)
        hm = unpack(hm_tgz, tmp / "hm")
        rq = unpack(rq_tgz, tmp / "rq")
        kx = unpack(kx_tgz, tmp / "kx")

        if VENDOR.exists():
            shutil.rmtree(VENDOR)
        (VENDOR / "html-manager").mkdir(parents=True)
        (VENDOR / "requirejs").mkdir(parents=True)

        shutil.copy(rq / "require.js", VENDOR / "requirejs" / "require.js")
        (VENDOR / "requirejs" / "LICENSE").write_text(REQUIREJS_LICENSE)

        embed = neutralise_cdn((hm / "dist" / "embed-amd.js").read_text(encoding="utf-8"))
        (VENDOR / "html-manager" / "embed-amd.js").write_text(embed, encoding="utf-8")
        for font in sorted((hm / "dist").glob("*.woff2")):
            shutil.copy(font, VENDOR / "html-manager" / font.name)
        shutil.copy(licences[0], VENDOR / "html-manager" / "LICENSE")
        shutil.copy(hm / "dist" / "embed.js.LICENSE.txt", VENDOR / "html-manager" / "THIRD-PARTY-LICENSES.txt")
        vendor_katex(kx, VENDOR / "katex")
        vendor_axe(tmp)

        bad: dict[str, set[str]] = {}
        for path in sorted([*VENDOR.rglob("*"), *TEST_VENDOR.rglob("*")]):
            if path.is_file() and path.suffix in {".js", ".txt", ".css", ""}:
                unknown = hosts_in(path.read_text(encoding="utf-8", errors="replace")) - ALLOWED_HOSTS
                if unknown:
                    bad[str(path.relative_to(ROOT))] = unknown
        if bad:
            print(f"vendor_js: unexpected hosts in vendored files (review, then patch or allow): {bad}", file=sys.stderr)
            return 1

        manifest = {
            "why": "local copies so the static book loads no third-party script; regenerate with scripts/vendor_js.py",
            "packages": {
                name: {"version": version, "npm_integrity": rec["integrity"]}
                for (name, version), rec in ((HTML_MANAGER, hm_rec), (REQUIREJS, rq_rec), (KATEX, kx_rec))
            },
            "patched": {
                "html-manager/embed-amd.js": "default widget-module CDN base set to '' (see scripts/vendor_js.py)",
                "katex/katex.min.css": "katex-swap.min.css with .woff/.ttf font sources removed (woff2 only)",
                "katex/katex.min.js": "UMD header without its AMD branch: always window.katex (require.js pages)",
            },
            "files": {
                str(p.relative_to(VENDOR)): sha256(p)
                for p in sorted(VENDOR.rglob("*"))
                if p.is_file() and p.name != "VENDORED.json"
            },
        }
        (VENDOR / "VENDORED.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for path in sorted([*VENDOR.rglob("*"), *TEST_VENDOR.rglob("*")]):
        if path.is_file():
            print(f"  {path.relative_to(ROOT)}  {path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
