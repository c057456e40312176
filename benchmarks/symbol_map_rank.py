"""Where the symbol map puts the files a user opens first, on real checkouts.

    python benchmarks/symbol_map_rank.py [--budget N] NAME=DIR:central1,central2 ...
    python benchmarks/symbol_map_rank.py --defaults CLICK_DIR REQUESTS_DIR FLASK_DIR
    git show OLD:src/code_assistant/index/symbol_map.py > /tmp/old_map.py
    python benchmarks/symbol_map_rank.py --symbol-map /tmp/old_map.py ...   # before

For each checkout, indexes DIR (without embeddings) and renders the map twice: with
`--budget` tokens (the default prompt budget) and with a budget large enough for every
entry. Prints the 1-based position of each central file in the full map's file order, and
whether it made it into the budgeted map, plus the first files of the budgeted map and
the number of repeated entries (the same name listed twice in one file: overloads).
The central files are judged by hand (the modules a new user opens first), never
derived from the ranking being measured.

Last result (issue 17.14; rank before -> after the share-based ranking, 1024-token map):
click 8.1.7 core.py 17 (not in the map) -> 2, decorators.py 7 -> 3; requests api.py 1 -> 2,
sessions.py 2 -> 4, models.py 12 -> 1; flask app.py 6 -> 1, blueprints.py 14 -> 9,
sansio/app.py 17 -> 5. Held out (not looked at while tuning): sqlalchemy orm/session.py
193 -> 8, sql/selectable.py 212 -> 5, engine/base.py 16 -> 24; express application.js
2 -> 1; mux route.go 7 -> 1, mux.go 8 -> 2; ky core/Ky.ts 10 -> 3; ripgrep
searcher/mod.rs 26 -> 9, regex/matcher.rs 17 -> 27; this project's src+tests cli.py
25 -> 69, agent/loop.py 24 -> 82, config.py 160 -> 81 (worse: an entry point and a top
layer that few files use get little of a ranking by use; refs from code tokens only, not
comments, did not change that). Repeated entries: click 4 -> 0, requests 6 -> 0, ky 59 -> 0.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from code_assistant.config import load_config
from code_assistant.index import symbol_map
from code_assistant.index.build import update_index

DEFAULTS = {
    "click": ["src/click/core.py", "src/click/decorators.py"],
    "requests": ["src/requests/api.py", "src/requests/sessions.py", "src/requests/models.py"],
    "flask": ["src/flask/app.py", "src/flask/blueprints.py", "src/flask/sansio/app.py"],
}
_FILE_LINE = re.compile(r"^(\S[^:]*): ")


def file_order(text: str) -> list[str]:
    """The files of a rendered map, in order."""
    return [m.group(1) for line in text.splitlines()[1:] if (m := _FILE_LINE.match(line))]


def repeats(text: str) -> int:
    """Entries whose name and kind already appeared in the same file (overloads listed twice;
    Rust's several `impl` blocks of one type are apart by design and not counted)."""
    count = 0
    current: Counter[str] = Counter()
    for line in text.splitlines()[1:]:
        match = _FILE_LINE.match(line)
        body = line[match.end() :] if match else line.strip()
        if match:
            current = Counter()
        for item in body.split("; "):
            name = item.split(",", 1)[0].strip()  # "command (function"
            if name and not name.endswith("(impl"):
                current[name] += 1
                count += current[name] > 1
    return count


def load_map(path: str | None) -> Any:
    """This checkout's symbol map module, or another version of it read from `path`."""
    if path is None:
        return symbol_map
    spec = importlib.util.spec_from_file_location("other_symbol_map", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def measure(
    module: Any, name: str, root: Path, central: list[str], budget: int
) -> dict[str, object]:  # fmt: skip
    loaded = load_config(root.resolve(), {})
    update_index(root, loaded.config, static=False)
    full = module.render_symbol_map(root, 10**7)
    small = module.render_symbol_map(root, budget)
    order, shown = file_order(full), set(file_order(small))
    ranks = {c: (order.index(c) + 1 if c in order else None, c in shown) for c in central}
    return {"name": name, "files": len(order), "ranks": ranks, "head": file_order(small)[:6],
            "repeats": repeats(small)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="+", help="NAME=DIR:a.py,b.py, or DIRs with --defaults")
    parser.add_argument("--defaults", action="store_true", help="click, requests, flask DIRs")
    parser.add_argument("--budget", type=int, default=1024)
    parser.add_argument("--symbol-map", help="another version of index/symbol_map.py")
    args = parser.parse_args()
    jobs: list[tuple[str, Path, list[str]]] = []
    if args.defaults:
        jobs = [(n, Path(d), c) for (n, c), d in zip(DEFAULTS.items(), args.repos, strict=True)]
    else:
        for spec in args.repos:
            name, rest = spec.split("=", 1)
            folder, files = rest.rsplit(":", 1)
            jobs.append((name, Path(folder), files.split(",")))
    for name, root, central in jobs:
        row = measure(load_map(args.symbol_map), name, root, central, args.budget)
        print(f"{name}: {row['files']} files, {row['repeats']} repeated entries in the map")
        for path, (rank, shown) in row["ranks"].items():  # type: ignore[attr-defined]
            where = "in" if shown else "NOT in"
            print(f"  {path}: rank {rank}, {where} the {args.budget}-token map")
        print("  first files: " + ", ".join(row["head"]))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
