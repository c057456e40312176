"""Tree-sitter parsing: language by extension, definitions via index/queries/*.scm, references."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

EXTENSIONS = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".rs": "rust",
    ".go": "go",
}
CONTAINERS = frozenset({"class", "struct", "enum", "trait", "interface", "impl", "module"})
CALLABLES = frozenset({"function", "method"})
# A function directly inside one of these is a method (a module only namespaces it).
METHOD_HOSTS = CONTAINERS - {"module"}
# Nodes that wrap a definition and belong to its extent (decorators, `export`).
_WRAPPERS = frozenset({"decorated_definition", "export_statement"})
# Declarations that wrap a definition when they hold only it (`const x = () => 1`, Go `type`).
_SINGLE_WRAPPERS = frozenset(
    {"lexical_declaration", "variable_declaration", "type_declaration", "const_declaration"}
)
# Comments and attributes directly above a definition document it: they join its extent.
_LEADING = frozenset({"comment", "line_comment", "block_comment", "attribute_item"})
MAX_SIGNATURE = 200


@dataclass(frozen=True)
class Symbol:
    """One definition. Lines are 1-based and inclusive; `line` is where its name stands."""

    name: str
    kind: str
    line: int
    start_line: int
    end_line: int
    parent: str = ""
    signature: str = ""
    visibility: str = "public"

    @property
    def qualname(self) -> str:
        return f"{self.parent}.{self.name}" if self.parent else self.name


@dataclass
class ParsedFile:
    """What one file yields: its definitions and whether it parsed cleanly."""

    language: str
    symbols: list[Symbol] = field(default_factory=list)
    has_errors: bool = False


def language_for(path: str) -> str | None:
    """The tree-sitter language of a file name, or None when we have no grammar for it."""
    return EXTENSIONS.get(os.path.splitext(path)[1].lower())


def _load_language(language: str) -> Any:
    if language == "python":
        import tree_sitter_python as grammar

        return grammar.language()
    if language == "javascript":
        import tree_sitter_javascript as grammar

        return grammar.language()
    if language in ("typescript", "tsx"):
        import tree_sitter_typescript as grammar

        return grammar.language_tsx() if language == "tsx" else grammar.language_typescript()
    if language == "rust":
        import tree_sitter_rust as grammar

        return grammar.language()
    if language == "go":
        import tree_sitter_go as grammar

        return grammar.language()
    raise ValueError(f"no grammar for {language!r}")


@cache
def grammar(language: str) -> tuple[Any, Any]:
    """(Parser, Query) for a language, compiled once per process."""
    import tree_sitter

    lang = tree_sitter.Language(_load_language(language))
    scm = "typescript" if language == "tsx" else language
    text = resources.files("code_assistant.index").joinpath(f"queries/{scm}.scm").read_text()
    return tree_sitter.Parser(lang), tree_sitter.Query(lang, text)


def parse_source(source: bytes, language: str) -> ParsedFile:
    """Parse a file and extract its definitions; syntax errors keep whatever still parses."""
    parser, query = grammar(language)
    tree = parser.parse(source)
    import tree_sitter

    defs: dict[int, tuple[int, str, Any, Any, Any]] = {}
    for index, captures in tree_sitter.QueryCursor(query).matches(tree.root_node):
        label = next((k for k in captures if k.startswith("definition.")), None)
        if label is None or "name" not in captures:
            continue
        node = captures[label][0]
        known = defs.get(node.id)
        if known is not None and known[0] <= index:
            continue
        parent = captures.get("parent", [None])[0]
        defs[node.id] = (index, label.split(".", 1)[1], node, captures["name"][0], parent)
    lines = source.split(b"\n")
    symbols = []
    for _, kind, node, name_node, parent in sorted(defs.values(), key=lambda d: d[2].start_byte):
        symbol = _symbol(language, kind, node, name_node, parent, defs, lines)
        if symbol is not None:
            symbols.append(symbol)
    return ParsedFile(language, symbols, tree.root_node.has_error)


def _text(node: Any) -> str:
    return node.text.decode("utf-8", errors="replace")


def _type_name(text: str) -> str:
    # `impl<T> Foo<T>`, `impl Display for &'a mut Bar`: the bare type name.
    text = re.sub(r"<.*", "", text, flags=re.S).strip()
    text = re.sub(r"^(&('\w+\s+)?(mut\s+)?|dyn\s+)", "", text).strip()
    return text.rsplit("::", 1)[-1] or text


def _symbol(
    language: str,
    kind: str,
    node: Any,
    name_node: Any,
    parent_node: Any,
    defs: dict[int, tuple[int, str, Any, Any, Any]],
    lines: list[bytes],
) -> Symbol | None:
    container: tuple[int, str, Any, Any, Any] | None = None
    exported = False
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.type == "export_statement":
            exported = True
        outer = defs.get(ancestor.id)
        if outer is not None:
            if outer[1] in CALLABLES:
                return None  # a definition local to a function body is not an API
            container = container or outer
        ancestor = ancestor.parent
    name = _type_name(_text(name_node)) if kind == "impl" else _text(name_node)
    parent = _text(parent_node) if parent_node is not None else ""
    if container is not None and not parent:
        parent = _type_name(_text(container[3])) if container[1] == "impl" else _text(container[3])
    if kind == "function" and (container is not None and container[1] in METHOD_HOSTS):
        kind = "method"
    line = name_node.start_point[0] + 1
    signature = lines[line - 1].decode("utf-8", errors="replace").strip()
    if len(signature) > MAX_SIGNATURE:
        signature = signature[: MAX_SIGNATURE - 1] + "…"
    return Symbol(
        name=name,
        kind=kind,
        line=line,
        start_line=_start_row(node) + 1,
        end_line=node.end_point[0] + 1,
        parent=parent,
        signature=signature,
        visibility=_visibility(language, kind, node, name, container, exported),
    )


def _start_row(node: Any) -> int:
    top = node
    while top.parent is not None:
        outer = top.parent
        single = outer.type in _SINGLE_WRAPPERS and outer.named_child_count == 1
        if outer.type not in _WRAPPERS and not single:
            break
        top = outer
    row = top.start_point[0]
    sibling = top.prev_named_sibling
    while sibling is not None and sibling.type in _LEADING and sibling.end_point[0] >= row - 1:
        row = sibling.start_point[0]
        sibling = sibling.prev_named_sibling
    return row


def _in_rust_api(container: tuple[int, str, Any, Any, Any] | None) -> bool:
    """Items of a trait, or of `impl Trait for T`, are as visible as the trait itself."""
    if container is None:
        return False
    kind, node = container[1], container[2]
    return kind == "trait" or (kind == "impl" and node.child_by_field_name("trait") is not None)


def _visibility(
    language: str,
    kind: str,
    node: Any,
    name: str,
    container: tuple[int, str, Any, Any, Any] | None,
    exported: bool,
) -> str:
    private = False
    if language == "python":
        private = name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
    elif language == "go":
        private = not name[:1].isupper()
    elif language == "rust":
        declared = any(c.type == "visibility_modifier" for c in node.children)
        private = not (declared or kind == "impl" or _in_rust_api(container))
    else:
        modifier = next((c for c in node.children if c.type == "accessibility_modifier"), None)
        if name.startswith(("_", "#")) or (modifier is not None and _text(modifier) != "public"):
            private = True
        elif container is None:
            private = not exported
    return "private" if private else "public"
