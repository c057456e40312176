"""Index benchmark: full index vs `ctags -R`, no-change re-index, db size, search latency,
static embedding time, and the share of ctags' definitions the index has as symbols.

    python benchmarks/index_bench.py [PATH] [--workers N] [--queries N] [--phases] [--json]

PATH defaults to this interpreter's site-packages. The index is written to a temp dir,
never into PATH. Numbers depend on the machine's load: ctags runs right before and right
after ours, and the CPU-time ratio (one process each, user + system) moves less with the
load than the wall-clock one. `--phases` adds a serial per-phase profile of a cold index.
The last lines are the ratios issue 18 asks for.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from code_assistant.config import Config
from code_assistant.index.build import scan_sources, update_index
from code_assistant.index.parse import language_for, parse_source
from code_assistant.index.retrieve import search
from code_assistant.index.store import IndexStore

CTAGS_LANGUAGES = "Python,JavaScript,TypeScript,Rust,Go"
# ctags kinds that are definitions a user looks up: functions, methods, types, modules,
# constants (not variables, fields, enum variants, properties or imports).
DEFINITION_KINDS = {
    "Python": {"class", "function", "member"},
    "JavaScript": {"function", "class", "method", "generator", "getter", "setter"},
    "TypeScript": {"function", "class", "method", "interface", "enum", "alias", "namespace"},
    "Rust": {"function", "method", "struct", "enum", "interface", "implementation", "module",
             "macro", "typedef", "constant"},
    "Go": {"func", "struct", "interface", "type", "methodSpec", "alias", "const"},
}  # fmt: skip


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ctags(args: list[str]) -> tuple[float, int, float]:
    """Wall time of one ctags run, the number of tags it wrote, and its CPU time."""
    with tempfile.TemporaryDirectory() as tmp:
        tags = Path(tmp) / "tags"
        cpu = _children_cpu()
        seconds, _ = timed(
            subprocess.run, ["ctags", "-f", str(tags), *args], check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        cpu = _children_cpu() - cpu
        lines = sum(1 for line in tags.open(errors="replace") if not line.startswith("!_"))
    return seconds, lines, cpu


def serial_cpu(root: Path, config: Config) -> float:
    """CPU seconds (user + system) of a cold lexical index in this one process."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.process_time()
        update_index(root, config, workers=1, db_path=Path(tmp) / "index.db", static=False)
        return time.process_time() - start


def _symbols_of(paths: list[str]) -> int:
    count = 0
    for path in paths:
        data = Path(path).read_bytes()
        count += len(parse_source(data, language_for(path) or "python").symbols)
    return count


def symbols_only(files: list[str], workers: int) -> tuple[float, int]:
    """tree-sitter parse + queries over all files in a process pool, nothing stored."""
    batches = [files[i : i + 64] for i in range(0, len(files), 64)]
    start = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        total = sum(pool.map(_symbols_of, batches))
    return time.perf_counter() - start, total


def ctags_definitions(root: Path, files: list[str]) -> list[tuple[str, str, int, str]]:
    """(path, name, line, language) of every named definition ctags finds in `files`."""
    with tempfile.NamedTemporaryFile("w", suffix=".list") as listing:
        listing.write("\n".join(files))
        listing.flush()
        out = subprocess.run(
            ["ctags", "-x", "--_xformat=%N\t%F\t%n\t%K\t%l\t%C", f"--languages={CTAGS_LANGUAGES}",
             "-L", listing.name], cwd=root, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    found = set()
    for row in out.splitlines():
        parts = row.split("\t")
        if len(parts) < 6 or not parts[2].isdigit():
            continue
        name, path, line, kind, language, code = parts[:6]
        anonymous = name.startswith(("Anonymous", "__anon"))
        if kind not in DEFINITION_KINDS.get(language, ()) or anonymous:
            continue
        if language == "JavaScript" and kind == "class" and "class" not in code:
            continue  # ctags calls every object literal (`var user = {…}`) a class
        if code.lstrip().startswith(("import ", "export {", "export type {")):
            continue  # TypeScript `import {type X}` is a use, not a definition
        found.add((path, name, int(line), language))
    return sorted(found)


def ctags_coverage(root: Path, verbose: int = 0) -> dict[str, Any]:
    """The share of ctags' definitions that the index has as a symbol (same file, name and
    name line, ±1), per language; `verbose` prints that many misses."""
    files = [entry.rel for entry in scan_sources(root, Config())]
    ours: dict[str, set[tuple[str, int]]] = {}
    for rel in files:
        parsed = parse_source((root / rel).read_bytes(), language_for(rel) or "python")
        ours[rel] = {(s.name, s.line) for s in parsed.symbols}
    totals: dict[str, list[int]] = {}
    misses = []
    for path, name, line, language in ctags_definitions(root, files):
        have = ours.get(path, set())
        hit = any((name, line + d) in have for d in (0, -1, 1))
        counts = totals.setdefault(language, [0, 0])
        counts[0] += hit
        counts[1] += 1
        if not hit:
            misses.append(f"{path}:{line} {name}")
    if verbose:
        print("\n".join(random.Random(3).sample(misses, min(verbose, len(misses)))))
    report = {lang: round(hit / total, 3) for lang, (hit, total) in sorted(totals.items())}
    report["definitions"] = sum(total for _, total in totals.values())
    report["all"] = round(sum(hit for hit, _ in totals.values()) / max(1, report["definitions"]), 3)
    return report


def cold_phases(root: Path, config: Config) -> dict[str, float]:
    """Seconds per phase of a serial cold index, the way extract.process_file and the writer
    run them (the tree is parsed twice: once alone, to time tree-sitter's parser)."""
    import hashlib

    import tree_sitter

    from code_assistant.index.chunk import make_chunks
    from code_assistant.index.extract import process_file
    from code_assistant.index.parse import grammar
    from code_assistant.index.store import open_store
    from code_assistant.index.writer import Writer

    took: dict[str, float] = dict.fromkeys(
        ("walk", "read+hash", "tree-sitter parse", "queries", "symbols", "chunking",
         "terms and rows", "sqlite write"), 0.0)  # fmt: skip
    start = time.perf_counter()
    entries = scan_sources(root, config)
    took["walk"] = time.perf_counter() - start
    results = []
    for entry in entries:
        language = language_for(entry.rel) or "python"
        parser, query = grammar(language)
        clock = time.perf_counter()
        data = Path(entry.abspath).read_bytes()
        hashlib.sha256(data).hexdigest()
        marks = [clock, time.perf_counter()]
        tree = parser.parse(data)
        marks.append(time.perf_counter())
        tree_sitter.QueryCursor(query).matches(tree.root_node)
        marks.append(time.perf_counter())
        symbols = parse_source(data, language).symbols  # parses and queries again
        marks.append(time.perf_counter())
        make_chunks(data.decode("utf-8", errors="replace"), symbols)
        marks.append(now := time.perf_counter())
        took["read+hash"] += marks[1] - marks[0]
        took["tree-sitter parse"] += marks[2] - marks[1]
        took["queries"] += marks[3] - marks[2]
        took["symbols"] += max(0.0, marks[4] - marks[3] - (marks[3] - marks[1]))
        took["chunking"] += marks[5] - marks[4]
        results.append(process_file(Path(entry.abspath), entry.rel, entry.size, entry.mtime_ns, ""))
        took["terms and rows"] += time.perf_counter() - now
    # process_file redid read, parse, queries, symbols and chunking: take them out again.
    took["terms and rows"] = max(0.0, took["terms and rows"] - sum(list(took.values())[1:6]))
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "index.db")
        clock = time.perf_counter()
        writer = Writer(store, {})
        for at in range(0, len(results), 48):
            writer.add(results[at : at + 48])
        writer.commit()
        took["sqlite write"] = time.perf_counter() - clock
        store.close()
    return {name: round(seconds, 2) for name, seconds in took.items()}


def copy_subset(root: Path, files: list[str], count: int, target: Path) -> None:
    for rel in files[:count]:
        destination = target / rel
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, destination)


def median_no_change(root: Path, config: Config, db: Path | None, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        seconds, stats = timed(update_index, root, config, db_path=db, static=False)
        assert stats.indexed == 0, "the tree changed while benchmarking"
        times.append(seconds)
    return statistics.median(times)


def make_queries(store: IndexStore, count: int, seed: int = 7) -> list[str]:
    """Half exact identifiers, half their words as a phrase ("parse headers")."""
    from code_assistant.index.terms import split_identifier

    names = [
        row[0]
        for row in store.conn.execute(
            "SELECT DISTINCT name FROM symbols WHERE length(name) > 5 ORDER BY name"
        )
    ]
    rng = random.Random(seed)
    picked = rng.sample(names, min(count, len(names)))
    queries = []
    for i, name in enumerate(picked):
        words = split_identifier(name)
        queries.append(name if i % 2 == 0 or len(words) < 2 else " ".join(words))
    return queries


def latency(db: Path, queries: list[str]) -> dict[str, float]:
    store = IndexStore(db)
    try:
        search(store, "warm up the page cache")
        held = [timed(search, store, q, 8)[0] * 1000 for q in queries]
    finally:
        store.close()
    opened = [timed(search, db, q, 8)[0] * 1000 for q in queries[:50]]
    quantiles = statistics.quantiles(held, n=20)
    return {
        "p50_ms": round(statistics.median(held), 2),
        "p95_ms": round(quantiles[18], 2),
        "max_ms": round(max(held), 2),
        "p50_ms_open_per_query": round(statistics.median(opened), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", default=sysconfig.get_paths()["purelib"])
    parser.add_argument("--workers", type=int, default=None, help="default: 2 for big trees")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-coverage", action="store_true", help="skip the ctags comparison")
    parser.add_argument("--phases", action="store_true", help="a serial per-phase profile")
    args = parser.parse_args(argv)
    root = Path(args.path).resolve()
    config = Config()
    entries = scan_sources(root, config)
    files = [entry.rel for entry in entries]
    source_bytes = sum(entry.size for entry in entries)
    report: dict[str, Any] = {
        "path": str(root), "files": len(files), "source_mb": round(source_bytes / 1e6, 1),
        "workers": args.workers, "cpus": os.cpu_count(), "load_avg": os.getloadavg()[0],
    }  # fmt: skip
    if shutil.which("ctags"):
        seconds, tags, cpu = run_ctags(["-R", str(root)])
        report["ctags_R_s"], report["ctags_R_tags"] = round(seconds, 2), tags
        report["ctags_R_cpu_s"] = round(cpu, 2)
        with tempfile.NamedTemporaryFile("w", suffix=".list") as listing:
            listing.write("\n".join(str(root / rel) for rel in files))
            listing.flush()
            seconds, tags, _ = run_ctags(["-L", listing.name])
        report["ctags_same_files_s"], report["ctags_same_files_tags"] = round(seconds, 2), tags
        report["serial_index_cpu_s"] = round(serial_cpu(root, config), 2)
    seconds, count = symbols_only([str(root / rel) for rel in files], args.workers or 2)
    report["symbols_only_s"], report["symbols_only_count"] = round(seconds, 2), count
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "index.db"
        seconds, stats = timed(update_index, root, config, workers=args.workers, db_path=db,
                               static=False)  # fmt: skip
        report.update(
            full_index_s=round(seconds, 2), symbols=stats.symbols, chunks=stats.chunks,
            symbols_per_s=round(stats.symbols / seconds), parse_errors=stats.parse_errors,
        )  # fmt: skip
        if shutil.which("ctags"):  # again right after: the load may have changed meanwhile
            seconds, _, cpu = run_ctags(["-R", str(root)])
            report["ctags_R_s"] = round((report["ctags_R_s"] + seconds) / 2, 2)
            report["ctags_R_cpu_s"] = round((report["ctags_R_cpu_s"] + cpu) / 2, 2)
        report["no_change_s"] = round(median_no_change(root, config, db), 3)
        report["no_change_per_1000_files_s"] = round(report["no_change_s"] * 1000 / len(files), 3)
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        report["db_mb"] = round(size / 1e6, 1)
        report["db_mb_per_source_mb"] = round(size / source_bytes, 2)
        seconds, stats = timed(update_index, root, config, workers=args.workers, db_path=db)
        if stats.vectors:  # the bundled static model is installed
            report["static_embed_s"] = round(seconds, 2)
            size = sum(p.stat().st_size for p in Path(tmp).iterdir())
            report["db_mb_with_static_vectors"] = round(size / 1e6, 1)
        store = IndexStore(db)
        queries = make_queries(store, args.queries)
        store.close()
        report["search"] = latency(db, queries)
        subset = Path(tmp) / "subset"
        copy_subset(root, files, 1000, subset)
        update_index(subset, config, workers=args.workers, static=False)
        report["no_change_1000_files_s"] = round(median_no_change(subset, config, None), 3)
    if shutil.which("ctags") and not args.no_coverage:
        report["ctags_coverage"] = ctags_coverage(root)
    if args.phases:
        report["phases_s"] = cold_phases(root, config)
    if "ctags_R_s" in report:
        report["full_vs_ctags_R"] = round(report["full_index_s"] / report["ctags_R_s"], 2)
        report["symbols_only_vs_ctags_R"] = round(report["symbols_only_s"] / report["ctags_R_s"], 2)
        report["full_vs_ctags_same_files"] = round(
            report["full_index_s"] / report["ctags_same_files_s"], 2
        )
        report["serial_cpu_vs_ctags_cpu"] = round(
            report["serial_index_cpu_s"] / max(0.01, report["ctags_R_cpu_s"]), 2
        )
    report["goals"] = goals(report)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            if key != "goals":
                print(f"{key:28s} {value}")
        print("\n".join(report["goals"]))
    return 0


def goals(report: dict[str, Any]) -> list[str]:
    """Issue 18's speed goals, measured in this run, as one line each."""
    lines = [
        f"no-change re-index per 1,000 files {report['no_change_per_1000_files_s']} s; of a"
        f" 1,000-file copy {report['no_change_1000_files_s']} s (goal <= 0.2 s)",
        f"index size {report['db_mb']} MB = {report['db_mb_per_source_mb']} x the source"
        f" ({report['source_mb']} MB)",
    ]
    if "full_vs_ctags_R" in report:
        lines[:0] = [
            f"cold index / ctags -R, wall  {report['full_vs_ctags_R']}x (goal <= 3x)",
            f"cold index / ctags -R, CPU   {report['serial_cpu_vs_ctags_cpu']}x"
            " (one process each)",
        ]
    return lines


if __name__ == "__main__":
    sys.exit(main())
