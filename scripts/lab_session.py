"""A real ``make lab`` server and a headless chromium on it, for tests and benchmarks.

:func:`running_lab` starts ``make lab PORT=… TOKEN=… BROWSER=no`` — the very command a
learner types, so the tests see the environment, settings and extensions Binder gets —
waits until JupyterLab answers, and stops the server (its whole process group, which we
created) afterwards.  :func:`open_notebook` opens a file in it with chromium (Debian's
``/usr/bin/chromium``; Playwright never downloads a browser), and :func:`run_all_cells`
runs a notebook top to bottom and waits until the kernel is idle.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_lab(root: Path = ROOT, timeout: float = 240.0) -> Iterator[tuple[str, str]]:
    """``make lab`` on a free port with a random token; yields (base URL, token)."""
    port, token = free_port(), secrets.token_hex(16)
    log = (root / "_build" / "lab-session.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("TCPBOOK_STATIC", "JUPYTER_PATH", "MAKEFLAGS", "MAKELEVEL")}
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(["make", "-s", "lab", f"PORT={port}", f"TOKEN={token}", "BROWSER=no"], cwd=root,
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"make lab exited with {proc.returncode}:\n{log.read_text(encoding='utf-8')[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"make lab did not answer on port {port} within {timeout:.0f} s")
            time.sleep(0.5)
        yield base, token
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the process group of our make (and its jupyter)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    from playwright import sync_api  # noqa: PLC0415 - only browser tests and benchmarks need it

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_notebook(browser, base: str, token: str, path: str, width: int = 1280, height: int = 900):  # noqa: ANN001, ANN201
    """Open ``path`` (relative to the repository) in JupyterLab, in a fresh workspace."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{base}/lab/tree/{path}?reset&token={token}")
    page.locator(".jp-Notebook").first.wait_for(state="visible", timeout=120_000)
    wait_idle(page)
    return page


def wait_idle(page, timeout: float = 120_000) -> None:  # noqa: ANN001
    """Wait until the notebook's cells are there and its kernel is started and idle
    (the status bar says "Python 3 | Idle")."""
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible", timeout=timeout)
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-StatusBar-Widget, .jp-StatusBar-TextItem')]
                   .some(el => /\\|\\s*Idle\\b/.test(el.textContent))""",
        timeout=timeout, polling=200,
    )


def run_all_cells(page, timeout: float = 300_000) -> None:  # noqa: ANN001
    """Run → Run All Cells, as a reader would, and wait until every cell has run."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    # Every code cell gets an execution count ("[n]:") once it has run; "[*]:" while queued.
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        timeout=timeout, polling=500,
    )
    wait_idle(page, timeout)
