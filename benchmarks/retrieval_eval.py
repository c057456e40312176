"""Retrieval quality: docstring first sentences as queries against a docstring-free copy.

    python benchmarks/retrieval_eval.py [REPO ...] [--max-queries N] [--fake-embeddings]
        [--ollama URL --embedding-model NAME] [--json]

For every documented definition of a repo, the first sentence of its docstring (Python) or
doc comment (`/** … */` above JavaScript/TypeScript code, `///` above Rust items) becomes a
query (Go: the `//` lines above a `func` or `type`); the docs are blanked in a copy (line
numbers kept), the copy is indexed, and `search`
must return a chunk holding the definition's line. The targets are found from the doc
comments alone, not by the index's parser. Reports hit@1, hit@5 and MRR@10, lexical only,
hybrid (when embeddings are available), and a baseline computed in the same run: plain BM25
(FTS5, default tokenizer) over one chunk per function/class node of the tree-sitter tree.
`--fake-embeddings` uses the test suite's fake server (hashed bag of words over real HTTP):
it exercises the hybrid path but is no semantic model. `--wordllama` uses the static
embeddings bundled in the `wordllama` wheel (`pip install wordllama`; no download), a small
real model that runs here without a model server.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
import shutil
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from code_assistant.config import Config
from code_assistant.index.build import update_index
from code_assistant.index.retrieve import QueryEmbedder, search
from code_assistant.index.walk import iter_project_files

DEFAULT_REPO = Path(__file__).resolve().parents[1] / "src" / "code_assistant"
_SENTENCE = re.compile(r"^(.+?[.!?])(\s|$)", re.S)


@dataclass(frozen=True)
class Case:
    query: str
    path: str
    line: int  # the def/class line the answer must contain
    name: str


def first_sentence(doc: str) -> str:
    text = " ".join(doc.strip().split("\n\n")[0].split())
    match = _SENTENCE.match(text)
    return (match.group(1) if match else text).strip()


def _docstring_node(node: ast.AST) -> ast.Expr | None:
    body = getattr(node, "body", None)
    first = body[0] if isinstance(body, list) and body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        return first if isinstance(first.value.value, str) else None
    return None


def strip_docstrings(source: str, tree: ast.Module) -> str:
    """Blank every docstring (module, class, function), keeping each line's number."""
    lines = source.split("\n")
    nodes = [tree, *ast.walk(tree)]
    for node in nodes:
        doc = _docstring_node(node)
        if doc is None or doc.end_lineno is None:
            continue
        indent = re.match(r"\s*", lines[doc.lineno - 1]).group(0)  # type: ignore[union-attr]
        lines[doc.lineno - 1] = indent + "..."  # keeps a body that held only the docstring
        for number in range(doc.lineno, doc.end_lineno):
            lines[number] = ""
    return "\n".join(lines)


def _python_cases(rel: str, source: str, out: Path, cases: list[Case]) -> None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    out.write_text(strip_docstrings(source, tree), encoding="utf-8")
    if "test" in rel.split("/")[-1]:
        return
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        doc = ast.get_docstring(node)
        query = first_sentence(doc) if doc else ""
        if len(query.split()) >= 3:
            cases.append(Case(query, rel, node.lineno, node.name))


_JS_DOC = re.compile(r"/\*\*(.*?)\*/", re.S)
_JS_CODE = re.compile(r"function\b|=>|\bclass\b|^\s*(async\s+)?[\w$#]+\s*\([^)]*\)\s*\{")
_RUST_DOC = re.compile(r"^\s*//[/!](?!/)(.*)$")
_RUST_ITEM = re.compile(
    r"^\s*(pub(\([^)]*\))?\s+)?((async|const|unsafe|extern\s+\"\w+\")\s+)*"
    r"(fn|struct|enum|trait|impl|type|const|static|mod|macro_rules!|union)\b"
)


def _doc_query(lines: list[str]) -> str:
    """The first sentence of a doc comment's text, before any `@tag` or `# Section`."""
    text: list[str] = []
    for line in lines:
        line = line.strip().lstrip("*").strip()
        if line.startswith(("@", "#", "```")):
            break
        text.append(line)
    return first_sentence("\n".join(text).strip())


def _next_code_line(lines: list[str], start: int, skip: tuple[str, ...]) -> int | None:
    for number in range(start, len(lines)):
        stripped = lines[number].strip()
        if stripped and not stripped.startswith(skip):
            return number
    return None


def _js_cases(rel: str, source: str, out: Path, cases: list[Case]) -> None:
    lines = source.split("\n")
    found = []
    for match in _JS_DOC.finditer(source):
        first = source.count("\n", 0, match.start())
        last = source.count("\n", 0, match.end())
        target = _next_code_line(lines, last + 1, ("//", "/*", "*"))
        if target is not None and _JS_CODE.search(lines[target]):
            found.append((_doc_query(match.group(1).split("\n")), target + 1))
        for number in range(first, last + 1):
            lines[number] = ""
    out.write_text("\n".join(lines), encoding="utf-8")
    if "test" not in rel.split("/")[-1]:
        cases.extend(Case(q, rel, line, "") for q, line in found if len(q.split()) >= 3)


def _rust_cases(rel: str, source: str, out: Path, cases: list[Case]) -> None:
    lines = source.split("\n")
    block: list[str] = []
    for number, line in enumerate(lines):
        doc = _RUST_DOC.match(line)
        if doc:
            block.append(doc.group(1))
            lines[number] = ""
            continue
        if block and not line.lstrip().startswith("//!"):
            target = _next_code_line(lines, number, ("#[", "//"))
            if target is not None and _RUST_ITEM.match(lines[target]):
                query = _doc_query(block)
                if len(query.split()) >= 3 and "test" not in rel.split("/")[-1]:
                    cases.append(Case(query, rel, target + 1, ""))
        block = []
    out.write_text("\n".join(lines), encoding="utf-8")


_GO_DOC = re.compile(r"^//\s?(.*)$")
_GO_ITEM = re.compile(r"^(func|type)\b")


def _go_cases(rel: str, source: str, out: Path, cases: list[Case]) -> None:
    """Go doc comments: the `//` lines right above a top-level `func` or `type`."""
    lines = source.split("\n")
    block: list[int] = []
    for number, line in enumerate(lines):
        if _GO_DOC.match(line):
            block.append(number)
            continue
        if block and _GO_ITEM.match(line) and block[-1] == number - 1:
            query = _doc_query([_GO_DOC.match(lines[n]).group(1) for n in block])  # type: ignore[union-attr]
            if len(query.split()) >= 3 and not rel.endswith("_test.go"):
                cases.append(Case(query, rel, number + 1, ""))
            for n in block:
                lines[n] = ""
        block = []
    out.write_text("\n".join(lines), encoding="utf-8")


CASE_MAKERS = {".py": _python_cases, ".rs": _rust_cases, ".go": _go_cases}
CASE_MAKERS.update(dict.fromkeys((".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx"), _js_cases))


def build_copy(repo: Path, target: Path) -> list[Case]:
    """A copy of the repo's sources without their docs, and the queries made from the docs."""
    cases: list[Case] = []
    for path in iter_project_files(repo, Config().index_exclude, suffixes=tuple(CASE_MAKERS)):
        rel = path.relative_to(repo).as_posix()
        source = path.read_text(encoding="utf-8", errors="replace")
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        CASE_MAKERS[path.suffix](rel, source, out, cases)
    return cases


def evaluate(db_root: Path, cases: list[Case], embed: Any = None) -> dict[str, float]:
    ranked = {}
    for case in cases:
        hits = search(db_root, case.query, top_k=10, embed_query=embed, semantic=embed is not None)
        ranked[case] = [(hit.path, hit.start_line, hit.end_line) for hit in hits]
    return score(cases, ranked)


# Function-like and class-like nodes: one baseline chunk each (nested ones too).
BASELINE_NODES = frozenset({
    "function_definition", "class_definition", "function_declaration", "function_expression",
    "arrow_function", "method_definition", "generator_function_declaration", "class_declaration",
    "function_item", "impl_item", "struct_item", "enum_item", "trait_item", "macro_definition",
    "method_declaration", "func_literal", "type_declaration",
})  # fmt: skip


def _baseline_chunks(copy: Path) -> list[tuple[str, int, int, str]]:
    from code_assistant.index.parse import grammar, language_for

    chunks = []
    for path in iter_project_files(copy, Config().index_exclude, suffixes=tuple(CASE_MAKERS)):
        rel = path.relative_to(copy).as_posix()
        data = path.read_bytes()
        stack = [grammar(language_for(rel) or "python")[0].parse(data).root_node]
        while stack:
            node = stack.pop()
            if node.type in BASELINE_NODES:
                text = node.text.decode("utf-8", errors="replace")
                chunks.append((rel, node.start_point[0] + 1, node.end_point[0] + 1, text))
            stack.extend(node.children)
    return chunks


def baseline(copy: Path, cases: list[Case]) -> dict[str, float]:
    """Plain BM25 (FTS5's default tokenizer, every query word) over function/class chunks."""
    import sqlite3

    chunks = _baseline_chunks(copy)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE b USING fts5(text)")
    conn.executemany("INSERT INTO b(rowid, text) VALUES (?, ?)",
                     [(i, c[3]) for i, c in enumerate(chunks)])  # fmt: skip
    ranked = {}
    for case in cases:
        words = re.findall(r"\w+", case.query.lower())
        query = " OR ".join(f'"{w}"' for w in words) or '""'
        rows = conn.execute("SELECT rowid FROM b WHERE b MATCH ? ORDER BY rank LIMIT 10", (query,))
        ranked[case] = [chunks[row[0]][:3] for row in rows]
    return score(cases, ranked)


def score(cases: list[Case], ranked: dict[Case, list[tuple[str, int, int]]]) -> dict[str, float]:
    """hit@1, hit@5, MRR@10 of ranked (path, first, last) lists against each case's line."""
    hit1 = hit5 = 0
    reciprocal = 0.0
    for case in cases:
        for rank, (path, first, last) in enumerate(ranked[case], start=1):
            if path == case.path and first <= case.line <= last:
                hit1 += rank == 1
                hit5 += rank <= 5
                reciprocal += 1.0 / rank
                break
    count = max(1, len(cases))
    return {
        "queries": len(cases),
        "hit@1": round(hit1 / count, 3),
        "hit@5": round(hit5 / count, 3),
        "mrr@10": round(reciprocal / count, 3),
    }


class WordLlamaEmbedder:
    """The embed() half of the Backend protocol over WordLlama's bundled weights."""

    def __init__(self) -> None:
        import wordllama

        # The weights and tokenizer ship inside the wheel; never reach for the hub.
        here = Path(wordllama.__file__).parent
        self.model = wordllama.WordLlama.load(cache_dir=here, disable_download=True)

    def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        return self.model.embed(list(texts), norm=True).tolist()


def _backend(args: argparse.Namespace, stack: ExitStack) -> Any:
    from code_assistant.backends.ollama import OllamaBackend

    if args.wordllama:
        return WordLlamaEmbedder()
    if args.static:
        from code_assistant.index.static_embed import MODEL, load

        args.embedding_model = MODEL
        return load()
    if args.fake_embeddings:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.fakes.model_server import FakeModelServer

        server = stack.enter_context(FakeModelServer())
        url = server.url
    elif args.ollama:
        url = args.ollama
    else:
        return None
    backend = OllamaBackend(host=url, timeout=600, retries=1)
    stack.callback(backend.close)
    return backend


def run_repo(repo: Path, args: argparse.Namespace, backend: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / repo.name
        cases = build_copy(repo, copy)
        random.Random(1).shuffle(cases)
        cases = cases[: args.max_queries]
        config = Config(embedding_model=args.embedding_model)
        stats = update_index(copy, config, backend)
        result: dict[str, Any] = {
            "repo": str(repo), "files": stats.files, "chunks": stats.chunks,
            "lexical": evaluate(copy, cases), "baseline_bm25": baseline(copy, cases),
        }  # fmt: skip
        if backend is not None and stats.vectors:
            embed = QueryEmbedder(backend, config.embedding_model)
            if args.static:  # what `search` itself uses for a statically embedded index
                from code_assistant.index.static_embed import StaticQueryEmbedder

                embed = StaticQueryEmbedder(backend)
            for weight in args.vector_weights:
                embed.weight = weight  # type: ignore[attr-defined]
                result[f"hybrid@{weight:g}"] = evaluate(copy, cases, embed)
        result["notices"] = stats.notices
        shutil.rmtree(copy, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("repos", nargs="*", type=Path, default=[DEFAULT_REPO])
    parser.add_argument("--max-queries", type=int, default=400)
    parser.add_argument("--fake-embeddings", action="store_true")
    parser.add_argument("--wordllama", action="store_true", help="bundled static embeddings")
    parser.add_argument("--static", action="store_true", help="ca's bundled static embedder")
    parser.add_argument("--vector-weights", type=lambda text: [float(w) for w in text.split(",")],
                        default=[1.0], help="RRF weights of the vector list to measure: 0.5,1")
    parser.add_argument("--ollama", default="", help="Ollama URL for real embeddings")
    parser.add_argument("--embedding-model", default="nomic-embed-text")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        backend = _backend(args, stack)
        results = [run_repo(repo.resolve(), args, backend) for repo in args.repos]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for result in results:
        print(f"{result['repo']} ({result['files']} files, {result['chunks']} chunks)")
        for mode, m in result.items():
            if isinstance(m, dict):
                print(f"  {mode:13s} queries={m['queries']:4d} hit@1={m['hit@1']:.3f} "
                      f"hit@5={m['hit@5']:.3f} mrr@10={m['mrr@10']:.3f}")  # fmt: skip
        for notice in result["notices"]:
            print(f"  note: {notice}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
