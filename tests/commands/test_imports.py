"""The package is layered (sources → detect → decide → act, commands on top): no import circle
anywhere (the CLI plugin once imported the CLI that imported it back)."""

from __future__ import annotations

import ast
from pathlib import Path

import hubguard

PACKAGE = Path(hubguard.__file__).parent


def import_graph() -> dict[str, set[str]]:
    """module → the hubguard modules it imports, at the top or inside a function."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts).removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph[name] |= {target for target in targets if target in modules and target != name}
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def test_no_import_circle_anywhere_in_the_package():
    graph = import_graph()
    circles = [module for module in graph if module in reachable(graph, module)]
    assert circles == []


def test_no_module_is_over_400_lines():
    """Large modules held several concerns each; the limit keeps one concern per module."""
    long = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}
