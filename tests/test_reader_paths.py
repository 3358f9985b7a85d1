"""Quick checks of the reader paths' plumbing (the browser and fresh-venv tests are slower):

* every ``{eval}`` in the prose names a variable that a cell above assigns, as both the
  book (myst-nb, inline execution) and JupyterLab (jupyterlab-myst, Run All) require;
* the download converter turns the book's MyST into plain Markdown;
* the lock files: hashed, consistent with each other and with requirements.txt, Binder's
  free of test and build tools;
* ``make lab`` passes PORT, TOKEN and BROWSER on; the kernel's display name is the
  chapters' own.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path

import build_book
import downloads
import jupytext
import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = build_book.ROOT
EVAL = re.compile(r"\{eval\}`([^`]*)`")
SOURCES = {page: build_book.source_of(page) for page in build_book.toc_pages()}


def assigned_names(source: str) -> set[str]:
    code = "\n".join("#" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    names: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def prose_of(markdown: str) -> str:
    """Markdown without its examples: code blocks (not directives) and code spans (not a role's)."""
    text = re.sub(r"^(?P<f>`{3,}|~{3,})(?!\{)[^\n]*\n.*?^(?P=f)\s*$", "", markdown, flags=re.M | re.S)
    # Roles and code spans scanned left to right together, as a Markdown parser does.
    return downloads.ROLE_OR_CODE.sub(lambda m: "" if m.group("code") is not None else m.group(0), text)


@pytest.mark.parametrize("page", list(SOURCES))
def test_every_inline_number_is_computed_above_it(page: str) -> None:
    nb = jupytext.read(SOURCES[page])
    defined: set[str] = set()
    late = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            defined |= assigned_names(cell.source)
        else:
            late += [name for name in EVAL.findall(prose_of(cell.source)) if name not in defined]
    assert late == [], f"{page}: {{eval}} of names no cell above assigns: {late}"


@pytest.mark.parametrize("page", list(SOURCES))
def test_no_page_depends_on_myst_nb_in_its_kernel(page: str) -> None:
    nb = jupytext.read(SOURCES[page])
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    prose = "\n".join(prose_of(cell.source) for cell in nb.cells if cell.cell_type == "markdown")
    assert "myst_nb" not in code and "glue(" not in code
    assert "{glue" not in prose


# ------------------------------------------------------------------ download converter

INDEX = downloads.BookIndex(
    titles={"intro": "Introduction", "chapters/a": "Chapter A", "chapters/b": "Chapter B"},
    labels={"a-top": ("chapters/a", "Chapter A"), "b-part": ("chapters/b", "A part of B")},
)


def convert(text: str, values: dict | None = None) -> str:
    return downloads.Converter("chapters/a", INDEX, values or {}).markdown(text)


def test_converter_roles() -> None:
    out = convert("(a-top)=\n# Chapter A\n\nSee {doc}`../intro`, {doc}`the B page <b>`, {ref}`b-part`, "
                  "{ref}`a-top` and {func}`tcpbook.simulate`; ISN {eval}`isn`, again {eval}`isn`.",
                  {"isn": ["100", "101"]})
    assert out == ("# Chapter A\n\nSee [Introduction](intro.ipynb), [the B page](b.ipynb), [A part of B](b.ipynb), "
                   "*Chapter A* and `tcpbook.simulate`; ISN 100, again 101.")


def test_converter_keeps_code_as_written() -> None:
    text = "Write `` {eval}`name` `` in the prose.\n\n```python\n{eval}`not a role`\n```"
    assert convert(text) == text


def test_converter_exercise_and_folded_solution() -> None:
    text = ("````{admonition} Exercise 1 — lost SYN\nWhen, with {eval}`x` s?\n````\n\n"
            "```{admonition} Solution\n:class: dropdown\n\nAt {eval}`x` s.\n```")
    assert convert(text, {"x": ["1.10", "1.10"]}) == (
        "> **Exercise 1 — lost SYN**\n>\n> When, with 1.10 s?\n\n"
        "<details>\n<summary>Solution</summary>\n\nAt 1.10 s.\n\n</details>")


def test_converter_list_table_becomes_a_pipe_table() -> None:
    text = ("```{list-table}\n:header-rows: 1\n:widths: 30 70\n\n* - State\n  - Meaning, with {eval}`x` s\n"
            "* - `TIME-WAIT`\n  - waits | then\n    closes\n```")
    assert convert(text, {"x": ["60"]}) == (
        "| State | Meaning, with 60 s |\n|---|---|\n| `TIME-WAIT` | waits \\| then closes |")


def test_converter_colon_fence_admonition_with_code_in_its_title() -> None:
    text = ":::{admonition} Exercise 4 — `tcp_syn_retries = 3`\nPredict {eval}`n` SYNs.\n:::"
    assert convert(text, {"n": ["7"]}) == "> **Exercise 4 — `tcp_syn_retries = 3`**\n>\n> Predict 7 SYNs."


@pytest.mark.parametrize(
    ("text", "message"),
    [("{eval}`missing`", "no built value"), ("{doc}`nowhere`", "names no page"), ("{ref}`nolabel`", "names no label"),
     ("{math}`x`", "has no plain-Markdown form"), ("```{figure} x.png\n```", "has no plain-Markdown form"),
     ("```{admonition} open\nno end", "unclosed fence")],
)
def test_converter_refuses_what_it_cannot_convert(text: str, message: str) -> None:
    with pytest.raises(downloads.ConversionError, match=message):
        convert(text)


def test_book_index_finds_titles_and_labels() -> None:
    index = downloads.BookIndex.from_sources(SOURCES)
    assert index.titles["chapters/01-handshake"] == "The three-way handshake"
    assert index.labels["handshake"] == ("chapters/01-handshake", "The three-way handshake")
    assert index.labels["hs-ex-synack"][1].startswith("Exercise 1")


# ------------------------------------------------------------------------- lock files

HASHED_PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>[^\s;\\]+)(?P<marker>[^\\\n]*)\\\n(?P<hashes>(?:\s+--hash=sha256:[0-9a-f]{64}\s*\\?\n?)+)", re.M)


def pins(path: Path) -> dict[str, list[tuple[str, str]]]:
    """name -> [(version, marker)] of a uv/pip-tools lock; fails on any pin without a hash."""
    text = path.read_text(encoding="utf-8")
    found: dict[str, list[tuple[str, str]]] = {}
    for m in HASHED_PIN.finditer(text):
        found.setdefault(m.group("name").lower().replace("_", "-"), []).append(
            (m.group("version"), m.group("marker").strip(" ;")))
    plain = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    assert len(plain) == sum(len(v) for v in found.values()), f"{path.name}: a pinned line without hashes"
    return found


def version_here(locked: list[tuple[str, str]]) -> str | None:
    """The pinned version that applies to this interpreter (markers evaluated)."""
    from packaging.markers import Marker  # noqa: PLC0415

    for version, marker in locked:
        if not marker or Marker(marker).evaluate(default_environment()):
            return version
    return None


def requirements(path: Path) -> list[Requirement]:
    reqs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            reqs.append(Requirement(line))
    return reqs


def test_the_development_lock_satisfies_requirements_txt() -> None:
    locked = pins(ROOT / "requirements.lock")
    wanted = requirements(ROOT / "requirements.txt") + requirements(ROOT / "binder" / "requirements.in")
    for req in wanted:
        version = version_here(locked.get(req.name.lower().replace("_", "-"), []))
        assert version is not None, f"{req.name} is not in requirements.lock: run make lock"
        assert req.specifier.contains(version, prereleases=True), f"requirements.lock has {req.name}=={version}, not {req.specifier}"


def test_binder_lock_is_runtime_only_and_pins_the_same_versions() -> None:
    binder, dev = pins(ROOT / "binder" / "requirements.txt"), pins(ROOT / "requirements.lock")
    for tool in ("pytest", "pytest-xdist", "hypothesis", "playwright", "ruff", "jupyter-book", "sphinx", "myst-nb",
                 "simpy", "uv"):
        assert tool not in binder, f"Binder installs {tool}, a test or build tool"
    for name, versions in binder.items():
        binder_versions, dev_versions = {v for v, _ in versions}, {v for v, _ in dev.get(name, [])}
        assert binder_versions <= dev_versions, f"{name}: Binder {binder_versions}, make/CI {dev_versions}"
    for name in ("jupyterlab", "jupyterlab-myst", "jupytext", "ipykernel", "numpy", "matplotlib", "ipywidgets", "graphviz"):
        assert name in binder, f"Binder's lock lacks {name}"


def test_binder_installs_the_lock_and_tcpbook() -> None:
    post_build = (ROOT / "binder" / "postBuild").read_text(encoding="utf-8")
    assert "pip install --quiet --no-deps -e ." in post_build
    assert not (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8").count("-e ")


# ------------------------------------------------------------------ make lab, kernel


def make_lab_command(**variables: str) -> str:
    args = ["make", "-n", "--always-make", "lab"] + [f"{k}={v}" for k, v in variables.items()]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    commands = out.replace("\\\n", " ").splitlines()  # a recipe's continued lines are one command
    return next(line for line in commands if "bin/jupyter lab" in line)


def test_make_lab_takes_port_token_and_browser() -> None:
    command = make_lab_command(PORT="9123", TOKEN="s3cret", BROWSER="no")
    assert "--ServerApp.port=9123" in command and "--ServerApp.port_retries=0" in command
    assert '--IdentityProvider.token="s3cret"' in command and "--no-browser" in command
    command = make_lab_command(BROWSER="firefox")
    assert '--ServerApp.browser="firefox %s"' in command and "--no-browser" not in command
    assert "--IdentityProvider.token" not in command  # no TOKEN: Jupyter draws a random one


def test_the_kernel_is_named_as_the_chapters_say() -> None:
    """JupyterLab writes the running kernel's display name into a notebook it saves."""
    notebooks = [jupytext.read(path) for path in SOURCES.values()]
    shown = {nb.metadata["kernelspec"]["display_name"] for nb in notebooks if "kernelspec" in nb.metadata}
    assert shown == {"Python 3"}
    assert '--display-name "Python 3"' in (ROOT / "binder" / "postBuild").read_text(encoding="utf-8")
    build_book.ensure_kernel()  # the book builds' own kernelspec says the same
    spec = build_book.KERNEL_DIR / "kernels" / "python3" / "kernel.json"
    assert json.loads(spec.read_text(encoding="utf-8"))["display_name"] == "Python 3"


# ------------------------------------------------------------- incremental book builds


def test_package_fingerprint_follows_code_and_data_but_not_bytecode(tmp_path: Path) -> None:
    package = tmp_path / "tcpbook"
    (package / "render").mkdir(parents=True)
    (package / "scenarios.py").write_text("RTT = 0.1\n")
    first = build_book.package_fingerprint(package)
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "scenarios.cpython-311.pyc").write_bytes(b"\0")
    assert build_book.package_fingerprint(package) == first
    (package / "render" / "ladder.py").write_text("WIDTH = 680\n")
    second = build_book.package_fingerprint(package)
    (package / "render" / "ladder.py").write_text("WIDTH = 700\n")
    assert len({first, second, build_book.package_fingerprint(package)}) == 3


def test_a_changed_package_rereads_every_page_once(monkeypatch: pytest.MonkeyPatch) -> None:
    class Env:
        found_docs = {"intro", "chapters/01-handshake", "chapters/05-teardown"}

    env, fingerprint = Env(), ["one"]
    monkeypatch.setattr(build_book, "package_fingerprint", lambda: fingerprint[0])
    reread = build_book._reread_every_page_when_the_package_changed
    # a first build reads the changed page anyway; the others are added
    assert reread(None, env, set(), {"chapters/01-handshake"}, set()) == ["chapters/05-teardown", "intro"]
    assert reread(None, env, set(), set(), set()) == []  # the same package: nothing more
    fingerprint[0] = "two"  # tcpbook changed, no chapter did
    assert reread(None, env, set(), set(), set()) == sorted(Env.found_docs)
