"""The model's code tools: search_code and find_symbols over a lazily updated index."""

from __future__ import annotations

from pathlib import Path

import pytest

from code_assistant.agent.personas import IMPLEMENTER
from code_assistant.backends.base import ToolCall
from code_assistant.backends.ollama import OllamaBackend
from code_assistant.config import Config, load_config
from code_assistant.errors import ToolError
from code_assistant.index import static_embed
from code_assistant.index.build import update_index
from code_assistant.index.retrieve import search
from code_assistant.tools.code import (
    ProjectIndex,
    _suggest,
    code_tools,
    find_symbols,
    search_code,
)
from code_assistant.tools.registry import Change, ToolContext, ToolRegistry
from code_assistant.workspace import build_context, make_agent
from tests.fakes.model_server import FakeModelServer
from tests.fakes.script import Script


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "store.py").write_text(
        "class SessionStore:\n"
        "    def save_session(self, session):\n"
        "        return write_json(session)\n"
        "\n"
        "    def _compact(self):\n"
        "        pass\n"
        "\n\n"
        "def write_json(data):\n"
        "    return str(data)\n"
    )
    (tmp_path / "lib.rs").write_text("pub fn checksum(data: &[u8]) -> u32 { 0 }\n")
    return tmp_path


def call(ctx: ToolContext, tool_name: str, **arguments: object) -> str:
    return ToolRegistry(code_tools()).dispatch(ToolCall(tool_name, dict(arguments)), ctx).text


def test_schemas() -> None:
    assert search_code.parameters["required"] == ["query"]
    assert set(search_code.parameters["properties"]) == {"query", "top_k"}
    assert find_symbols.parameters["required"] == []
    assert set(find_symbols.parameters["properties"]) == {"name", "kind", "path"}
    assert search_code.kind == find_symbols.kind == "read"


def test_search_code_returns_located_chunks(project: Path) -> None:
    ctx = ToolContext(root=project, config=Config())
    out = call(ctx, "search_code", query="save the session", top_k="2")
    assert out.startswith("1 result(s) for 'save the session', best first:")
    assert out.endswith("edit_file needs its exact current text.")
    assert "pkg/store.py:1-6 (SessionStore, class)\n```python\nclass SessionStore:" in out
    assert isinstance(ctx.index, ProjectIndex)
    assert (project / ".ca" / "index.db").exists()
    assert "no code matches" in call(ctx, "search_code", query="zebra giraffe")
    with pytest.raises(ToolError, match="empty"):
        call(ctx, "search_code", query="  ")


def symbol_lines(out: str) -> list[str]:
    """The result lines of a find_symbols answer, without its leading next-step line."""
    lines = out.splitlines()
    assert lines[0].startswith("Next: read_file path=")
    return lines[1:]


def test_search_in_a_project_without_code_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.bin").write_bytes(b"\0\1\2")
    ctx = ToolContext(root=tmp_path, config=Config())
    out = call(ctx, "search_code", query="slugify")
    assert out.startswith("no code matches 'slugify': the project has no source files yet.")


def test_find_symbols_by_name_kind_and_path(project: Path) -> None:
    ctx = ToolContext(root=project, config=None)  # defaults when the session has no config
    assert call(ctx, "find_symbols", name="save_session") == (
        "Next: read_file path='pkg/store.py' start_line=2 to see the code;"
        " edit_file needs the exact current text.\n"
        "pkg/store.py:2 method SessionStore.save_session  def save_session(self, session):"
    )
    assert symbol_lines(call(ctx, "find_symbols", kind="fn", path="lib.rs")) == [
        "lib.rs:1 function checksum  pub fn checksum(data: &[u8]) -> u32 { 0 }"
    ]
    methods = call(ctx, "find_symbols", kind="method", path="pkg/")
    assert symbol_lines(methods) == [
        "pkg/store.py:2 method SessionStore.save_session  def save_session(self, session):",
        "pkg/store.py:5 method SessionStore._compact (private)  def _compact(self):",
    ]
    assert symbol_lines(call(ctx, "find_symbols", name="write_*"))[0].startswith(
        "pkg/store.py:9 function write_json"
    )
    assert symbol_lines(call(ctx, "find_symbols", name="store"))[0].startswith(
        "pkg/store.py:1 class SessionStore")


@pytest.mark.parametrize("root", [".", "./", " . ", "", "*", "**/*", "ROOT"])
def test_find_symbols_with_the_project_root_as_path_finds_everything(
    project: Path, root: str
) -> None:
    # A real model asked path="." and was told the function it wanted did not exist.
    ctx = ToolContext(root=project, config=Config())
    where = str(project) if root == "ROOT" else root
    out = call(ctx, "find_symbols", name="write_json", path=where)
    assert symbol_lines(out) == ["pkg/store.py:9 function write_json  def write_json(data):"]


def test_find_symbols_paths_in_other_spellings(project: Path) -> None:
    ctx = ToolContext(root=project, config=Config())
    for where in ("./pkg", "pkg", "./pkg/store.py", str(project / "pkg"), "**/*.py", "pkg/**/*.py"):
        out = call(ctx, "find_symbols", name="write_json", path=where)
        assert symbol_lines(out)[0].startswith("pkg/store.py:9 function write_json"), where
    with pytest.raises(ToolError, match="no such file or directory 'nowhere'"):
        call(ctx, "find_symbols", name="write_json", path="nowhere")


def test_a_wrong_filter_shows_where_the_name_is_defined(project: Path) -> None:
    ctx = ToolContext(root=project, config=Config())
    out = call(ctx, "find_symbols", name="write_json", path="lib.rs")
    assert out.splitlines()[:3] == [
        "no symbols match name='write_json', path='lib.rs'; without the kind and path filters"
        " 'write_json' matches:",
        "Next: read_file path='pkg/store.py' start_line=9 to see the code; edit_file needs the"
        " exact current text.",
        "pkg/store.py:9 function write_json  def write_json(data):",
    ]
    out = call(ctx, "find_symbols", name="checksum", kind="class")
    assert "lib.rs:1 function checksum" in out


def test_no_definitions_without_a_name_says_why_not_that_a_name_is_missing(
    project: Path,
) -> None:
    (project / "README.md").write_text("# Notes\n")
    ctx = ToolContext(root=project, config=Config())
    for out in (
        call(ctx, "find_symbols", path="README.md"),
        call(ctx, "find_symbols", kind="variable"),
    ):
        assert out.startswith("no definitions match ")
        assert "nothing by that name" not in out and "kind is one of: function, method" in out


def test_find_symbols_misses_suggest_names(project: Path) -> None:
    ctx = ToolContext(root=project, config=Config())
    out = call(ctx, "find_symbols", name="save_sesion")
    assert out.startswith("no symbols match name='save_sesion': nothing by that name is defined")
    assert "Similar names that do exist: save_session." in out
    with pytest.raises(ToolError, match="at least one"):
        call(ctx, "find_symbols")
    with pytest.raises(ToolError, match="at least one"):
        call(ctx, "find_symbols", name="  ")


def test_a_suggestion_is_never_the_name_asked_for(project: Path) -> None:
    # "no symbols match ... Did you mean: area_of_circle" for area_of_circle sent a real
    # model off to edit the wrong text; a suggestion must name something else.
    (project / "pkg" / "extra.py").write_text("def write_jsonl():\n    pass\n")
    ctx = ToolContext(root=project, config=Config())
    call(ctx, "find_symbols", name="write_jsonl")  # builds the index
    assert _suggest(ctx, "Write_JSON") == " Similar names that do exist: write_jsonl."
    out = call(ctx, "find_symbols", name="write_jsn")
    assert "Similar names that do exist: write_json, write_jsonl." in out


def test_index_refreshes_after_the_agent_changes_files(project: Path) -> None:
    ctx = ToolContext(root=project, config=Config())
    assert "no symbols match" in call(ctx, "find_symbols", name="fresh_function")
    (project / "pkg" / "new.py").write_text("def fresh_function():\n    return 1\n")
    # Same change count: the handle trusts its index (no walk per call).
    assert "no symbols match" in call(ctx, "find_symbols", name="fresh_function")
    ctx.changes.append(Change("pkg/new.py", None, b"def fresh_function(): ..."))
    assert symbol_lines(call(ctx, "find_symbols", name="fresh_function"))[0].startswith(
        "pkg/new.py:1 function")


def static_vectors(text: str, dim: int) -> list[float]:
    """The bundled static embeddings as the server's embedding model: related words are
    near even when the texts share none (the fake's default vectors are made of words)."""
    embedder = static_embed.load()
    assert embedder is not None, "wordllama is a test dependency"
    return embedder.embed("nomic-embed-text", [text])[0]


def test_search_code_finds_by_meaning_through_the_agents_backend(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "money.py").write_text(
        "def convert_currency(amount, rate):\n"
        '    """Multiply an amount by the exchange rate."""\n'
        "    return amount * rate\n"
    )
    (root / "pkg" / "disk.py").write_text(
        "def remove_old_backups(folder, days):\n"
        '    """Delete archive files older than the given number of days."""\n'
        "    for path in folder.iterdir():\n"
        "        if path.stat().st_mtime < days:\n"
        "            path.unlink()\n"
    )
    query = "erase stale copies"  # not one word of it is in the project
    loaded = load_config(root, env={"CA_HOME": str(tmp_path / "home")})
    assert loaded.config.embedding_model == "nomic-embed-text"
    with FakeModelServer(Script(embedder=static_vectors)) as server:
        backend = OllamaBackend(host=server.url, timeout=30, retries=0)
        try:
            stats = update_index(root, loaded.config, backend)  # what `ca index` does
            assert stats.vectors == stats.chunks > 0
            assert search(root, query) == []  # words alone find nothing
            # The context and agent exactly as task mode, the REPL and the pipeline make them.
            ctx = build_context(loaded)
            agent = make_agent(loaded, backend, IMPLEMENTER, ctx, on_event=None)
            asked = ToolCall("search_code", {"query": query, "top_k": 1})
            out = agent.tools.dispatch(asked, agent.ctx).text
        finally:
            backend.close()
        embedded = [r for r in server.requests if r["path"] == "/api/embed"]
    assert out.startswith(f"1 result(s) for {query!r}"), out
    assert "pkg/disk.py:1-5 (remove_old_backups, function)" in out
    assert "search_query: erase stale copies" in str(embedded[-1]["body"]["input"])
