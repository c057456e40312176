"""Retrieval quality: docstring first sentences as queries against a docstring-free copy.

    python benchmarks/retrieval_eval.py [REPO ...] [--max-queries N] [--fake-embeddings]
        [--ollama URL --embedding-model NAME] [--json]

For every documented function, method and class of a Python repo, the first sentence of
its docstring becomes a query; the docstrings are blanked in a copy (line numbers kept),
the copy is indexed, and `search` must return a chunk holding the definition's line.
Reports hit@1, hit@5 and MRR@10, lexical only and hybrid (when embeddings are available).
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


def build_copy(repo: Path, target: Path) -> list[Case]:
    cases: list[Case] = []
    for path in iter_project_files(repo, Config().index_exclude, suffixes=(".py",)):
        rel = path.relative_to(repo).as_posix()
        source = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(strip_docstrings(source, tree), encoding="utf-8")
        if "test" in rel.split("/")[-1]:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            doc = ast.get_docstring(node)
            query = first_sentence(doc) if doc else ""
            if len(query.split()) >= 3:
                cases.append(Case(query, rel, node.lineno, node.name))
    return cases


def evaluate(db_root: Path, cases: list[Case], embed: Any = None) -> dict[str, float]:
    hit1 = hit5 = 0
    reciprocal = 0.0
    for case in cases:
        hits = search(db_root, case.query, top_k=10, embed_query=embed)
        for rank, hit in enumerate(hits, start=1):
            if hit.path == case.path and hit.start_line <= case.line <= hit.end_line:
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
            "lexical": evaluate(copy, cases),
        }  # fmt: skip
        if backend is not None and stats.vectors:
            result["hybrid"] = evaluate(copy, cases, QueryEmbedder(backend, config.embedding_model))
        result["notices"] = stats.notices
        shutil.rmtree(copy, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("repos", nargs="*", type=Path, default=[DEFAULT_REPO])
    parser.add_argument("--max-queries", type=int, default=400)
    parser.add_argument("--fake-embeddings", action="store_true")
    parser.add_argument("--wordllama", action="store_true", help="bundled static embeddings")
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
        for mode in ("lexical", "hybrid"):
            if mode in result:
                m = result[mode]
                print(f"  {mode:8s} queries={m['queries']:4d} hit@1={m['hit@1']:.3f} "
                      f"hit@5={m['hit@5']:.3f} mrr@10={m['mrr@10']:.3f}")  # fmt: skip
        for notice in result["notices"]:
            print(f"  note: {notice}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
