"""The import graph of a rendered project's package, between its top-level parts.

A part is a subpackage (`pipeline`, `engines`, ...) or a top-level module (`settings`,
`telemetry`, ...). An edge A -> B means a module of A imports something of B, at module
level or inside a function (a deferred import is still a dependency); imports under
`if TYPE_CHECKING:` are left out (they never run). A cycle between parts is a design
problem: no part of it can be understood, tested or replaced without the others.
"""

from __future__ import annotations

import ast
from pathlib import Path


def part_of(module: tuple[str, ...]) -> str:
    """The top-level part of the package a module path (relative to the package) is in."""
    return module[0].removesuffix(".py")


def imported_parts(path: Path, package_root: Path, package: str) -> set[str]:
    """The package's parts that the module at `path` imports."""
    module = path.relative_to(package_root).with_suffix("").parts
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    parts: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = list(module[: len(module) - node.level])
                target = [*base, *(node.module.split(".") if node.module else [])]
                if not target:  # `from . import x` at the top level
                    target = [alias.name for alias in node.names][:1]
            elif node.module and node.module.split(".")[0] == package:
                target = node.module.split(".")[1:]
            else:
                continue
            if target:
                parts.add(target[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names = alias.name.split(".")
                if names[0] == package and len(names) > 1:
                    parts.add(names[1])
    return parts


def part_graph(package_root: Path) -> dict[str, set[str]]:
    """Edges between the package's parts (self-edges left out)."""
    package = package_root.name
    graph: dict[str, set[str]] = {}
    for path in sorted(package_root.rglob("*.py")):
        source = part_of(path.relative_to(package_root).parts)
        targets = imported_parts(path, package_root, package) - {source}
        graph.setdefault(source, set()).update(targets)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one part (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found
