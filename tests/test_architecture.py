"""The shape of the package: one flow of data, no import cycles, no module importing one
above it (DESIGN.md: endpoint → link → simulator → trace → pictures → explorers → chapters).

The imports are read from the source with ``ast`` — module-level and inside functions
alike (a lazy import is still a dependency); only ``if TYPE_CHECKING:`` blocks, which
never run, are left out.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tcpbook"

# The package from the bottom up: each tier may import only from the tiers before it.
TIERS: list[list[str]] = [
    ["errors", "vocabulary"],
    ["params", "segment", "payload", "i18n"],
    ["ledger", "table", "profiles", "events", "simulator", "link"],
    ["textlog", "outcome"],
    ["trace"],
    ["endpoint.effects"],
    ["endpoint.timers", "endpoint.rtt", "endpoint.sendspace", "endpoint.receivespace", "endpoint.congestion"],
    ["endpoint.sender"],
    ["endpoint.usercalls", "endpoint.arrival", "endpoint.timeouts"],
    ["endpoint.connection"],
    ["endpoint.listener"],
    ["endpoint.host"],
    ["endpoint"],
    ["network"],
    ["apps"],
    ["scenarios"],
    ["render.style", "render.lanes", "render.textsize", "render.placement"],
    ["render.summary"],
    ["render.scene", "render.textladder"],
    ["render.figurehtml"],
    ["render.statediagram", "render.ladderdiagram"],
    ["render.export"],
    # reading a capture, in the order a packet meets the modules (tcpbook/capture/__init__.py)
    ["capture.errors"],
    ["capture.files", "capture.fragments"],
    ["capture.decode"],
    ["capture.conversations", "capture.sequence"],
    ["capture.losses", "capture.moves", "capture.digests"],
    ["capture.replay"],
    ["render", "pcap", "capture", "analysis.models"],
    ["analysis.fastpath"],
    ["analysis.montecarlo"],
    ["staticexplorer"],
    ["explorers"],
    ["analysis.plots"],  # the loss-and-retries chapter's explorer is built on the explorers
    ["analysis"],
    ["packetdrill.errors"],
    ["packetdrill.lexer", "packetdrill.script"],
    ["packetdrill.parser", "packetdrill.sockets"],
    ["packetdrill.runner"],
    ["packetdrill"],
    ["book", "lab"],
    ["analysis.ports"],  # chapter 6's port arithmetic reads traces with the chapters' helpers
    ["cli"],
    ["__main__"],
    [""],  # the package itself: tcpbook/__init__.py
]
LAYERS: dict[str, int] = {("tcpbook." + m).rstrip("."): i for i, tier in enumerate(TIERS) for m in tier}

def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST):  # noqa: ANN202 - a generator of ast nodes
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def imports_of(path: Path) -> set[str]:
    """The tcpbook modules ``path`` imports at run time."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "tcpbook")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "tcpbook":
                continue
            for alias in node.names:  # `from . import style` names a module
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in ALL_MODULES else target)
    found.discard(name)
    return found


ALL_MODULES = {module_name(p) for p in PACKAGE.rglob("*.py")}
GRAPH = {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def test_every_module_has_a_layer():
    assert sorted(ALL_MODULES - set(LAYERS)) == [], "add new modules to LAYERS"
    assert sorted(set(LAYERS) - ALL_MODULES) == [], "remove deleted modules from LAYERS"


@pytest.mark.parametrize("module", sorted(ALL_MODULES))
def test_no_module_imports_one_above_it(module):
    upward = sorted(m for m in GRAPH[module] if LAYERS.get(m, 99) >= LAYERS[module])
    assert upward == [], f"{module} (layer {LAYERS[module]}) imports {upward}"


def test_there_is_no_import_cycle():
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(GRAPH.get(node, ())):
            if state.get(nxt) == 1:
                cycle.extend([*path[path.index(nxt):], nxt] if nxt in path else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*path, nxt]):
                return True
        state[node] = 2
        return False

    for module in sorted(GRAPH):
        if state.get(module) is None and visit(module, [module]):
            break
    assert cycle == []


def test_the_text_renderer_and_the_simulator_do_not_load_matplotlib():
    code = (
        "import sys\n"
        "from tcpbook import simulate\n"
        "from tcpbook.render import text_ladder\n"
        "text_ladder(simulate('full', loss=0.2, seed=3))\n"
        "print(sorted(m for m in ('matplotlib', 'graphviz', 'ipywidgets', 'numpy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_walker_sees_lazy_imports_and_skips_type_checking_blocks():
    # export imports the painters; sender names Connection only for type checkers
    assert "tcpbook.render.ladderdiagram" in GRAPH["tcpbook.render.export"]
    assert "tcpbook.endpoint.connection" not in GRAPH["tcpbook.endpoint.sender"]
    assert "tcpbook.render.export" in GRAPH["tcpbook.cli"]  # imported inside a function
