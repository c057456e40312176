"""Symbol lookup in the index: by name (exact, glob or substring), kind and path."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from code_assistant.index.store import IndexStore, db_path_for, open_readonly

KIND_ALIASES = {
    "def": "function",
    "fn": "function",
    "func": "function",
    "functions": "function",
    "methods": "method",
    "classes": "class",
    "const": "constant",
    "constants": "constant",
    "mod": "module",
    "structs": "struct",
    "traits": "trait",
    "interfaces": "interface",
    "enums": "enum",
}


@dataclass(frozen=True)
class SymbolInfo:
    """A definition found in the index; lines are 1-based, `line` is where the name is."""

    path: str
    name: str
    kind: str
    parent: str
    line: int
    start_line: int
    end_line: int
    signature: str
    visibility: str

    @property
    def qualname(self) -> str:
        return f"{self.parent}.{self.name}" if self.parent else self.name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalise_kind(kind: str) -> str:
    kind = kind.strip().lower()
    return KIND_ALIASES.get(kind, kind)


def _name_clause(name: str) -> tuple[str, list[Any]]:
    parent = ""
    name = name.replace("::", ".")  # Rust `Type::method` is stored as parent Type, name method
    if "." in name.strip(".") and "*" not in name:
        parent, name = name.rsplit(".", 1)
    if any(ch in name for ch in "*?["):
        clause, args = "lower(s.name) GLOB ?", [name.lower()]
    else:
        clause, args = "s.name = ? COLLATE NOCASE", [name]
    if parent:
        clause += " AND s.parent = ? COLLATE NOCASE"
        args.append(parent)
    return clause, args


def _query(
    store: IndexStore, name: str | None, kind: str | None, path: str | None, limit: int,
    substring: bool = False,
) -> list[SymbolInfo]:  # fmt: skip
    clauses: list[str] = []
    args: list[Any] = []
    if name:
        if substring:
            clauses.append("instr(lower(s.name), ?) > 0")
            args.append(name.lower())
        else:
            clause, extra = _name_clause(name)
            clauses.append(clause)
            args.extend(extra)
    if kind:
        clauses.append("s.kind = ?")
        args.append(normalise_kind(kind))
    if path:
        path = path.strip().removeprefix("./")
        if any(ch in path for ch in "*?["):
            clauses.append("f.path GLOB ?")
            args.append(path)
        else:
            clauses.append("(f.path = ? OR f.path LIKE ? ESCAPE '\\')")
            escaped = path.rstrip("/").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args.extend([path, escaped + "/%"])
    where = " AND ".join(clauses) or "1"
    exact = "s.name = ? DESC, " if name else ""
    rows = store.conn.execute(
        "SELECT f.path, s.name, s.kind, s.parent, s.line, s.start_line, s.end_line,"
        " s.signature, s.visibility FROM symbols s JOIN files f ON f.id = s.file_id"
        f" WHERE {where} ORDER BY {exact}s.visibility != 'public', f.path, s.line"
        " LIMIT ?",
        [*args, *([name] if name else []), limit],
    )
    return [SymbolInfo(*row) for row in rows]


def find_symbols(
    root_or_store: Path | str | IndexStore,
    name: str | None = None,
    kind: str | None = None,
    path: str | None = None,
    limit: int = 50,
) -> list[SymbolInfo]:
    """Definitions matching all the given filters.

    `name` matches case-insensitively, exactly (`Foo.bar` also checks the parent) or as a glob
    (`get_*`); when nothing matches exactly, as a substring. `kind` is function, method,
    class, struct, enum, trait, interface, impl, constant, type, module or macro. `path` is a
    file, a directory prefix or a glob.
    """
    if isinstance(root_or_store, IndexStore):
        store, owned = root_or_store, False
    else:
        opened = open_readonly(db_path_for(Path(root_or_store)))
        if opened is None:
            return []
        store, owned = opened, True
    try:
        found = _query(store, name, kind, path, limit)
        if not found and name and not any(ch in name for ch in "*?[."):
            found = _query(store, name, kind, path, limit, substring=True)
        return found
    finally:
        if owned:
            store.close()
