"""Vendor the JavaScript the static book needs, so it loads nothing from a third-party host.

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
* write ``_static/vendor/VENDORED.json``: versions, npm integrity, sha256 of each file.
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

# @jupyter-widgets/html-manager 1.0.x is the embedder of the ipywidgets 8.1.x series
# (ipywidgets declares ``__html_manager_version__ = '^1.0.1'``); 1.0.15 bundles
# @jupyter-widgets/controls ^5.0.13, the same protocol (2.0.0) as ipywidgets 8.1.9.
HTML_MANAGER = ("@jupyter-widgets/html-manager", "1.0.15")
REQUIREJS = ("requirejs", "2.3.8")

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
        hm = unpack(hm_tgz, tmp / "hm")
        rq = unpack(rq_tgz, tmp / "rq")

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

        bad: dict[str, set[str]] = {}
        for path in sorted(VENDOR.rglob("*")):
            if path.is_file() and path.suffix in {".js", ".txt", ""}:
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
                for (name, version), rec in ((HTML_MANAGER, hm_rec), (REQUIREJS, rq_rec))
            },
            "patched": {"html-manager/embed-amd.js": "default widget-module CDN base set to '' (see scripts/vendor_js.py)"},
            "files": {
                str(p.relative_to(VENDOR)): sha256(p)
                for p in sorted(VENDOR.rglob("*"))
                if p.is_file() and p.name != "VENDORED.json"
            },
        }
        (VENDOR / "VENDORED.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for path in sorted(VENDOR.rglob("*")):
        if path.is_file():
            print(f"  {path.relative_to(ROOT)}  {path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
