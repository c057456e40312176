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
    {"lexical_declaration", "variable_declaration", "type_declaration", "const_declaration",
     "var_declaration", "expression_statement"}
)  # fmt: skip
# Names for the object that JavaScript members are assigned to or defined in.
_EXPORT_OBJECTS = frozenset({"exports", "module.exports"})
_LITERAL_OWNERS = {"variable_declarator": "name", "assignment_expression": "left", "pair": "key"}
# Comments and attributes directly above a definition document it: they join its extent.
_LEADING = frozenset({"comment", "line_comment", "block_comment", "attribute_item"})
MAX_SIGNATURE = 200
# A query match: (pattern index, kind, definition node, name node, @parent node or None).
Def = tuple[int, str, Any, Any, Any]


@dataclass(frozen=True)
class Symbol:
    """One definition. Lines are 1-based and inclusive; `line` is where its name stands.

    `visibility` is public, private, or local (defined inside a function body; `parent` is
    then that function's name).
    """

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
        import tree_sitter_python

        return tree_sitter_python.language()
    if language == "javascript":
        import tree_sitter_javascript

        return tree_sitter_javascript.language()
    if language in ("typescript", "tsx"):
        import tree_sitter_typescript as ts

        return ts.language_tsx() if language == "tsx" else ts.language_typescript()
    if language == "rust":
        import tree_sitter_rust

        return tree_sitter_rust.language()
    if language == "go":
        import tree_sitter_go

        return tree_sitter_go.language()
    raise ValueError(f"no grammar for {language!r}")


@cache
def grammar(language: str) -> tuple[Any, Any]:
    """(Parser, Query) for a language, compiled once per process."""
    import tree_sitter

    lang = tree_sitter.Language(_load_language(language))
    scm = "typescript" if language == "tsx" else language
    return tree_sitter.Parser(lang), tree_sitter.Query(lang, query_text(scm))


_INCLUDE = re.compile(r"^; \(include ([\w.]+)\).*$", re.M)


def query_text(name: str) -> str:
    """queries/NAME.scm with each `; (include OTHER.scm)` line replaced by that file, in place
    (pattern order decides which definition wins a node)."""
    queries = resources.files("code_assistant.index").joinpath("queries")
    text = queries.joinpath(f"{name}.scm").read_text()
    return _INCLUDE.sub(lambda m: queries.joinpath(m.group(1)).read_text(), text)


def parse_source(source: bytes, language: str) -> ParsedFile:
    """Parse a file and extract its definitions; syntax errors keep whatever still parses."""
    parser, query = grammar(language)
    tree = parser.parse(source)
    import tree_sitter

    defs: dict[int, Def] = {}
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
    # `x.send = function send() {}` is one definition: the assignment (declarator, pair) names it;
    # `module.exports = function render() {}` is named by the function.
    for key, (_, _, node, _, _) in list(defs.items()):
        left = node.child_by_field_name("left") if node.type == "assignment_expression" else None
        if left is not None and _text(left) in _EXPORT_OBJECTS:
            del defs[key]
    for key, (_, _, node, _, _) in list(defs.items()):
        holder = node.parent
        if node.type == "function_expression" and holder is not None and holder.id in defs:
            del defs[key]
    lines = source.split(b"\n")
    symbols = []
    for _, kind, node, name_node, parent in sorted(defs.values(), key=lambda d: d[2].start_byte):
        symbols.append(_symbol(language, kind, node, name_node, parent, defs, lines))
    return ParsedFile(language, symbols, tree.root_node.has_error)


def _text(node: Any) -> str:
    return node.text.decode("utf-8", errors="replace")


def _type_name(text: str) -> str:
    # `impl<T> Foo<T>`, `impl Display for &'a mut Bar`: the bare type name.
    text = re.sub(r"<.*", "", text, flags=re.S).strip()
    text = re.sub(r"^(&('\w+\s+)?(mut\s+)?|dyn\s+)", "", text).strip()
    return text.rsplit("::", 1)[-1] or text


def _def_name(definition: Def) -> str:
    name = _text(definition[3])
    return _type_name(name) if definition[1] == "impl" else name


def _object_name(target: Any) -> str:
    """The parent a JavaScript member gets from the object it is assigned to or defined in."""
    text = _text(target).strip("'\"").removesuffix(".prototype")
    return "" if text in _EXPORT_OBJECTS else text  # CommonJS `exports.x`: module API


def _literal_owner(node: Any) -> Any:
    """What names the object literal holding `node`: `x = {…}`, `const x = {…}`, `k: {…}`."""
    holder = node.parent.parent if node.parent is not None else None
    if node.parent is None or node.parent.type != "object" or holder is None:
        return None
    field = _LITERAL_OWNERS.get(holder.type)
    return holder.child_by_field_name(field) if field else None


def _parent(node: Any, parent_node: Any, scope: Def | None, host: Def | None) -> tuple[str, str]:
    """(parent name, how): an explicit @parent or the literal's owner ("member"), `this.x`
    ("this": the class or constructor function), CommonJS exports ("exports"), or the scope."""
    target = parent_node if parent_node is not None else _literal_owner(node)
    if target is not None and _text(target) == "this":
        owner = host or scope
        return (_def_name(owner) if owner is not None else ""), "this"
    if target is not None:
        name = _object_name(target)
        return name, ("member" if name else "exports")
    return (_def_name(scope) if scope is not None else ""), "scope"


def _surroundings(node: Any, defs: dict[int, Def]) -> tuple[Def | None, Def | None, bool, bool]:
    """(innermost enclosing definition, innermost class-like one, inside a function body,
    exported by `export` or `module.exports = …`)."""
    scope = host = None
    exported = local = False
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.type == "export_statement":
            exported = True
        elif ancestor.type == "assignment_expression":
            left = ancestor.child_by_field_name("left")
            exported = exported or (left is not None and _text(left) in _EXPORT_OBJECTS)
        outer = defs.get(ancestor.id)
        if outer is not None:
            local = local or outer[1] in CALLABLES
            scope = scope or outer
            host = host or (outer if outer[1] in METHOD_HOSTS else None)
        ancestor = ancestor.parent
    return scope, host, local, exported


def _symbol(
    language: str,
    kind: str,
    node: Any,
    name_node: Any,
    parent_node: Any,
    defs: dict[int, Def],
    lines: list[bytes],
) -> Symbol:
    scope, host, local, exported = _surroundings(node, defs)
    name = _type_name(_text(name_node)) if kind == "impl" else _text(name_node)
    parent, how = _parent(node, parent_node, scope, host)
    local = local and how != "this"  # `this.x = function` in a constructor: an instance method
    if kind == "method" and not parent:
        kind = "function"
    if kind == "function" and scope is not None and scope[1] in METHOD_HOSTS:
        kind = "method"
    line = name_node.start_point[0] + 1
    signature = lines[line - 1].decode("utf-8", errors="replace").strip()
    if len(signature) > MAX_SIGNATURE:
        signature = signature[: MAX_SIGNATURE - 1] + "…"
    visibility = "local" if local else _visibility(
        language, kind, node, name, scope, exported or how in ("member", "exports", "this")
    )  # fmt: skip
    return Symbol(
        name=name,
        kind=kind,
        line=line,
        start_line=_start_row(node) + 1,
        end_line=node.end_point[0] + 1,
        parent=parent,
        signature=signature,
        visibility=visibility,
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
    while sibling is not None and sibling.type in _LEADING:
        # A `/** doc */` block often stands one blank line above what it documents.
        gap = 2 if sibling.text.startswith(b"/**") else 1
        if sibling.end_point[0] < row - gap:
            break
        row = sibling.start_point[0]
        sibling = sibling.prev_named_sibling
    return row


def _in_rust_api(container: Def | None) -> bool:
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
    container: Def | None,
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
            private = not exported  # exported: `export`, CommonJS `exports.x`, `obj.x = …`
    return "private" if private else "public"
