"""The package's layering, read from its source with ast: what may import what."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import code_assistant

PACKAGE = Path(code_assistant.__file__).parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imported(node: ast.Import | ast.ImportFrom, importer: str) -> Iterator[str]:
    """The modules an import statement names (`from a import b` names a.b when b is one)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = importer.split(".")
        if MODULES[importer].name != "__init__.py":
            package = package[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, *([node.module] if node.module else [])])
    for alias in node.names:
        yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
    return name == "TYPE_CHECKING"


def _top_level(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: not in functions, not TYPE_CHECKING."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for part in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _top_level(part)


def all_imports(name: str) -> set[str]:
    """Every module of ours that `name` imports anywhere, functions included."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    nodes = (n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)))
    return {m for node in nodes for m in _imported(node, name) if m.startswith("code_assistant")}


def import_time_edges(name: str) -> set[str]:
    """The project's modules that importing `name` runs: each one named at the top level,
    and the packages above it (their __init__ runs first) unless `name` is inside them."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    edges: set[str] = set()
    for node in _top_level(tree.body):
        for module in _imported(node, name):
            parts = module.split(".")
            for end in range(2, len(parts) + 1):
                target = ".".join(parts[:end])
                if target in MODULES and not f"{name}.".startswith(f"{target}."):
                    edges.add(target)
    return edges


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph as [a, b, ..., a]; [] when there is none."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        path.append(start)
        on_path.add(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
            elif child in on_path:
                return [*path[path.index(child) :], child]
            elif child not in done:
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
                on_path.add(child)
    return []


def test_the_walk_sees_the_package() -> None:
    assert "code_assistant.agent.loop" in MODULES
    assert "code_assistant.backends.envelope" in import_time_edges("code_assistant.agent.grammar")
    # A package's __init__ runs before any module inside it is imported.
    assert "code_assistant.tools" in import_time_edges("code_assistant.workspace")


def test_backends_never_import_the_agent() -> None:
    offenders = {
        name: sorted(m for m in all_imports(name) if m.startswith("code_assistant.agent"))
        for name in MODULES
        if name.startswith("code_assistant.backends")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_at_import_time() -> None:
    graph = {name: import_time_edges(name) for name in MODULES}
    cycle = find_cycle(graph)
    assert not cycle, "import cycle: " + " -> ".join(cycle)
