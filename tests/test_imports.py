"""The package's modules import one another in one direction only: no cycles, lazy imports included."""

import ast
from pathlib import Path

from tests.conftest import REPO

ROOT = REPO / "pipeline"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["stancemap", *parts])


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its body (inside functions too)."""
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stancemap"):
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    found.add(child if child in modules else node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("stancemap")}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_no_module_imports_one_that_imports_it_back():
    graph = import_graph()
    assert len(graph) > 30 and graph["stancemap.cli"], "every module was read"
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for child in sorted(graph[node]):
            assert state.get(child) != "open", " -> ".join([*path, child])
            if child not in state:
                visit(child, [*path, child])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert "stancemap.embed" not in graph["stancemap.embed_onnx"]


def test_every_module_reads_in_one_sitting():
    """No module of the package is over 400 lines (cli.py included)."""
    sources = {p.relative_to(REPO).as_posix(): p.read_text(encoding="utf-8") for p in ROOT.rglob("*.py")}
    lines = {path: len(text.splitlines()) for path, text in sources.items()}
    long = {path: n for path, n in lines.items() if n > 400}
    assert not long, long
