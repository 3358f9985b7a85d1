"""Size of Binder's Python environment: what binder/requirements.txt installs, plus tcpbook.

repo2docker cannot run here (no Docker), so this measures the part of the image that the
repository decides: a fresh virtualenv with exactly Binder's hashed lock and tcpbook
(as binder/postBuild installs it), its size on disk, and the largest packages.  The image
adds repo2docker's base (Ubuntu, conda, its own Jupyter) and the apt packages of
binder/apt.txt on top.  For comparison it also prints the size of the development
environment (.venv: the same plus the book build and test tools), which is roughly what
Binder installed before the split.

    .venv/bin/python benchmarks/bench_binder_env.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def package_sizes(site: Path, top: int = 8) -> list[tuple[str, int]]:
    sizes: dict[str, int] = {}
    for entry in site.iterdir():
        if entry.name.endswith((".dist-info", ".pth")) or entry.name == "__pycache__":
            continue
        name = entry.name.split(".")[0] if entry.is_file() else entry.name
        sizes[name] = sizes.get(name, 0) + (tree_size(entry) if entry.is_dir() else entry.stat().st_size)
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:top]


def build(target: Path) -> float:
    """Binder's environment in ``target``; returns seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--require-hashes", "-r", str(ROOT / "binder" / "requirements.txt")], check=True)
    subprocess.run([*pip, "--no-deps", str(ROOT)], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="binder-env-") as tmp:
        env = Path(tmp) / "venv"
        seconds = build(env)
        site = next((env / "lib").glob("python3*/site-packages"))
        check = subprocess.run([str(env / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True)
        tools = [t for t in ("pytest", "playwright", "jupyter_book", "sphinx", "ruff", "hypothesis", "uv")
                 if (site / t).exists()]
        total = tree_size(env)
        print(f"Binder environment (binder/requirements.txt + tcpbook), fresh venv, built in {seconds:.0f} s")
        print(f"  size on disk: {total / 2**20:.0f} MiB; pip check: {check.stdout.strip() or check.stderr.strip()}")
        print(f"  test/build tools present: {tools or 'none'}")
        for name, size in package_sizes(site):
            print(f"    {name:<24} {size / 2**20:7.1f} MiB")
    dev = ROOT / ".venv"
    if dev.is_dir():
        print(f"development environment (.venv, with the book build and test tools): {tree_size(dev) / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
