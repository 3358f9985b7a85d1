"""An instructor follows the guide's "Make your own chapter" recipe on a copy of the book.

The recipe's own text drives the test: the shell commands of steps 1 and 2 (copy a
chapter, rename its labels) are taken from ``chapters/instructors.md`` and run with bash
in a copy of the repository, the page skeleton of step 4 becomes a new page, and both go
into ``_toc.yml`` as step 3 shows.  Then:

* without step 2 the strict build reports the duplicate labels (read without executing,
  which is enough to see them, and quick);
* with every step the book builds with ``make book``'s command, warnings as errors (-W)
  and every reference checked (-n), and the new pages show their computed numbers, fold
  the solution, and download as plain notebooks with those numbers.

The copy shares this checkout's ``.venv`` (a symlink); it executes every chapter once,
as a clean ``make book`` does, but with live explorers (``TCPBOOK_BUILD_STATIC=0``: no
precomputed frames), which takes about a minute instead of three.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import build_book
import nbformat
import pytest
import yaml

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book-builds")]

GUIDE = build_book.ROOT / "chapters" / "instructors.md"
IGNORE = shutil.ignore_patterns(".git", "_build", ".venv", ".pytest_cache", ".hypothesis", ".ruff_cache", "*.egg-info",
                                "__pycache__", "build", ".ipynb_checkpoints")


def recipe() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index("## 5. Make your own chapter")
    return text[start:text.index("\n## ", start + 1)]


def fenced(text: str, info: str) -> list[str]:
    """The contents of the fenced blocks with this info string (```bash, `````markdown …)."""
    return [m.group(2) for m in re.finditer(rf"^(`{{3,}}){re.escape(info)}\n(.*?)^\1\s*$", text, re.M | re.S)]


def add_to_toc(book: Path, *docnames: str) -> None:
    """Step 3: list the pages under the part "For instructors"."""
    toc_path = book / "_toc.yml"
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    part = next(p for p in toc["parts"] if p["caption"] == "For instructors")
    part["chapters"] += [{"file": d} for d in docnames]
    toc_path.write_text(yaml.safe_dump(toc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def jupyter_book(book: Path, *extra: str) -> subprocess.CompletedProcess:
    env = build_book.book_env()
    env["JUPYTER_PATH"] = str(build_book.KERNEL_DIR)
    return subprocess.run([str(build_book.VENV / "bin" / "jupyter-book"), "build", str(book), "-W", "-n", "--keep-going",
                           *extra], cwd=book, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def book_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = tmp_path_factory.mktemp("remix") / "book"
    shutil.copytree(build_book.ROOT, book, ignore=IGNORE)
    os.symlink(build_book.VENV, book / ".venv")
    build_book.ensure_kernel()
    return book


def test_the_recipe_has_its_steps() -> None:
    text = recipe()
    assert len(fenced(text, "bash")) >= 3  # copy, rename labels, preview
    assert "_toc.yml" in text and "- file: chapters/my-teardown" in fenced(text, "yaml")[0]
    skeleton = fenced(text, "markdown")[0]
    assert "{eval}`" in skeleton and ":class: dropdown" in skeleton and "(my-lesson)=" in skeleton


def test_a_copy_without_new_labels_fails_the_strict_build(book_copy: Path, tmp_path: Path) -> None:
    copy_step = fenced(recipe(), "bash")[0]
    subprocess.run(["bash", "-euc", copy_step], cwd=book_copy, check=True)
    add_to_toc(book_copy, "chapters/my-teardown")
    config = yaml.safe_load((book_copy / "_config.yml").read_text(encoding="utf-8"))
    config["execute"]["execute_notebooks"] = "off"  # labels are found while reading; no need to run anything
    reading_only = book_copy / "_config_reading_only.yml"  # beside _config.yml: local extensions resolve from there
    reading_only.write_text(yaml.safe_dump(config), encoding="utf-8")
    # Only the original and the copy: reading the whole book would find the same duplicates, slower.
    two_pages = tmp_path / "_toc.yml"
    two_pages.write_text("format: jb-book\nroot: chapters/05-teardown\nchapters:\n- file: chapters/my-teardown\n",
                         encoding="utf-8")
    try:
        done = jupyter_book(book_copy, "--config", str(reading_only), "--toc", str(two_pages),
                            "--path-output", str(tmp_path))
        assert done.returncode != 0, done.stdout[-2000:]
        duplicates = set(re.findall(r"duplicate label ([\w-]+)", done.stdout + done.stderr))
        labels = set(re.findall(r"^\(([\w-]+)\)=$", (book_copy / "chapters/05-teardown.md").read_text(), re.M))
        # Sphinx names every repeated section label (a label on an exercise is not a section's).
        assert "teardown" in duplicates and duplicates <= labels, (done.stdout + done.stderr)[-3000:]
    finally:
        # Undo for the next test, which follows every step on the same copy.
        reading_only.unlink()
        (book_copy / "chapters/my-teardown.md").unlink()
        shutil.copy(build_book.ROOT / "_toc.yml", book_copy / "_toc.yml")


def test_following_every_step_builds_strictly(book_copy: Path) -> None:
    text = recipe()
    copy_step, rename_step = fenced(text, "bash")[:2]
    subprocess.run(["bash", "-euc", copy_step + "\n" + rename_step], cwd=book_copy, check=True, capture_output=True)
    (book_copy / "chapters" / "my-lesson.md").write_text(fenced(text, "markdown")[0], encoding="utf-8")
    add_to_toc(book_copy, "chapters/my-teardown", "chapters/my-lesson")

    # Live explorers (no precomputed frames) keep this build to about a minute; the explorers'
    # static frames are make book's business, checked by the book tests.
    done = subprocess.run([sys.executable, "scripts/build_book.py"], cwd=book_copy, capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0", "TCPBOOK_BUILD_STATIC": "0"})
    report = json.loads((book_copy / "_build" / "build-report.json").read_text(encoding="utf-8"))
    assert done.returncode == 0, "\n".join(report["warnings"]) or done.stdout[-3000:]
    assert report["warning_count"] == 0
    assert {"chapters/my-teardown", "chapters/my-lesson"} <= set(report["built"])

    # The new page shows its computed numbers (the book's run: 2 SYNs, ESTABLISHED at 1.10 s).
    values = json.loads((book_copy / "_build" / build_book.INLINE_VALUES).read_text(encoding="utf-8"))
    lesson = values["chapters/my-lesson"]
    assert set(lesson) == {"late_syns", "late_est"}
    page = (book_copy / "_build/html/chapters/my-lesson.html").read_text(encoding="utf-8")
    prose = re.sub(r"<[^>]+>", "", page)
    assert f"sends {lesson['late_syns'][0]} SYNs" in " ".join(prose.split())
    assert f"after {lesson['late_est'][0]} s" in " ".join(prose.split())
    assert "{eval}" not in prose
    # The solution is a folded dropdown (sphinx-togglebutton folds "dropdown admonition"s), the exercise is not.
    assert len(re.findall(r'<div class="dropdown admonition"', page)) == 1
    # The copied chapter's renamed labels work: the copy has its own sections, the original keeps its own.
    assert 'id="my-teardown"' in (book_copy / "_build/html/chapters/my-teardown.html").read_text(encoding="utf-8")

    # ... and downloads as a plain notebook with the numbers in its prose.
    nb = nbformat.read(book_copy / "_build/html/_downloads/notebooks/my-lesson.ipynb", as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert f"sends {lesson['late_syns'][0]} SYNs" in " ".join(markdown.split())
    assert "<details>" in markdown and "{eval}" not in markdown
