"""`ca index`, `ca search` and `ca symbols` as real subprocesses against the fake server."""

from __future__ import annotations

from pathlib import Path

import pytest

from code_assistant.index import static_embed
from tests.fakes.model_server import FakeModelServer
from tests.helpers import json_result, run_ca


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src" / "state.rs").write_text(
        "pub struct TerminalState {\n    rows: u16,\n}\n\n"
        "impl TerminalState {\n    pub fn new() -> Self { Self { rows: 0 } }\n"
        "    pub fn resize(&mut self, rows: u16) { self.rows = rows; }\n}\n"
    )
    (root / "src" / "app.py").write_text("def load_settings(path):\n    return open(path).read()\n")
    return root


def test_index_json_summary_then_no_change(
    project: Path, ca_env: dict[str, str], fake_server: FakeModelServer
) -> None:
    first = run_ca(["index", "--json"], ca_env, project)
    assert first.returncode == 0, first.stderr
    summary = json_result(first.stdout)
    assert {"files", "symbols", "chunks", "seconds"} <= set(summary)
    assert (summary["files"], summary["symbols"], summary["indexed"]) == (2, 5, 2)
    assert summary["vectors"] == summary["chunks"] > 0  # embedded by the fake server
    assert fake_server.requests  # the embeddings went over HTTP
    again = json_result(run_ca(["--json", "index"], ca_env, project).stdout)
    assert (again["indexed"], again["embedded"], again["unchanged"]) == (0, 0, 2)
    human = run_ca(["index", "--no-embed"], ca_env, project)
    assert human.returncode == 0
    assert human.stdout.startswith("indexed 2 files: 5 symbols, ")


def test_index_without_a_reachable_backend_warns_and_stays_lexical(
    project: Path, ca_env: dict[str, str]
) -> None:
    env = {**ca_env, "CA_OLLAMA_HOST": "http://127.0.0.1:9"}
    result = run_ca(["index", "--json"], env, project)
    assert result.returncode == 0
    stats = json_result(result.stdout)
    # The bundled static model (when installed) stands in for the unreachable one.
    assert stats["vectors"] == (stats["chunks"] if static_embed.load() else 0)
    assert "embeddings skipped" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_ca(["index", "--json", "--no-embed"], env, project)
    assert json_result(result.stdout)["vectors"] == stats["vectors"]  # kept, none added


def test_search_json_is_the_stable_public_format(project: Path, ca_env: dict[str, str]) -> None:
    run_ca(["index", "--no-embed"], ca_env, project)
    result = run_ca(["search", "TerminalState", "--json", "--top-k", "1"], ca_env, project)
    assert result.returncode == 0, result.stderr
    hits = json_result(result.stdout)["hits"]
    assert len(hits) == 1
    hit = hits[0]
    assert list(hit) == ["path", "start_line", "end_line", "symbol", "kind", "score"]
    assert (hit["path"], hit["start_line"], hit["end_line"]) == ("src/state.rs", 1, 3)
    assert (hit["symbol"], hit["kind"]) == ("TerminalState", "struct")
    assert isinstance(hit["score"], float)


def test_search_updates_the_index_and_reports_no_match(
    project: Path, ca_env: dict[str, str], fake_server: FakeModelServer
) -> None:
    # No prior `ca index`: search indexes first (lexically) and finds the function.
    result = run_ca(["search", "load settings"], ca_env, project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("src/app.py:1-2 (load_settings, function)\n```python\n")
    assert not fake_server.requests  # no model was needed
    missing = run_ca(["search", "zebra"], ca_env, project)
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert "no matches" in missing.stderr


def test_hybrid_search_after_embedding(
    project: Path, ca_env: dict[str, str], fake_server: FakeModelServer
) -> None:
    run_ca(["index"], ca_env, project)
    result = run_ca(["--json", "search", "resize rows"], ca_env, project)
    embeds = [r["body"]["input"] for r in fake_server.requests if r["path"] == "/api/embed"]
    assert embeds[-1] == ["search_query: resize rows"]
    hits = json_result(result.stdout)["hits"]
    assert hits[0]["symbol"] == "TerminalState"
    assert hits[0]["kind"] == "impl"


def test_symbols_map_and_budget(project: Path, ca_env: dict[str, str]) -> None:
    result = run_ca(["symbols", "--budget", "200"], ca_env, project)
    assert result.returncode == 0, result.stderr
    assert (
        "src/state.rs: TerminalState (public struct, line 1);\n"
        "  TerminalState (impl, line 5, members: new, resize)\n" in result.stdout
    )
    payload = json_result(run_ca(["symbols", "--json", "--budget", "40"], ca_env, project).stdout)
    assert payload["tokens"] <= 40 == payload["budget"]


def test_path_argument_and_bad_paths(project: Path, ca_env: dict[str, str], tmp_path: Path) -> None:
    result = run_ca(["index", str(project), "--json", "--no-embed"], ca_env, tmp_path)
    assert json_result(result.stdout)["files"] == 2
    assert (project / ".ca" / "index.db").exists()
    bad = run_ca(["index", str(tmp_path / "missing")], ca_env, tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("ca: error: ")
    assert "not a directory" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_damaged_index_is_rebuilt_by_the_cli(project: Path, ca_env: dict[str, str]) -> None:
    run_ca(["index", "--no-embed"], ca_env, project)
    for suffix in ("-wal", "-shm"):
        (project / ".ca" / f"index.db{suffix}").unlink(missing_ok=True)
    (project / ".ca" / "index.db").write_bytes(b"garbage" * 100)
    result = run_ca(["index", "--no-embed", "--json"], ca_env, project)
    assert result.returncode == 0
    assert json_result(result.stdout)["rebuilt"] is True
    assert "rebuilding it from scratch" in result.stderr


def test_an_unwritable_index_location_is_one_line(project: Path, ca_env: dict[str, str]) -> None:
    (project / ".ca").write_text("a file where the index directory should be")
    result = run_ca(["index", "--no-embed"], ca_env, project)
    assert result.returncode == 1
    assert result.stderr.startswith("ca: error: cannot write the index at ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_one_letter_name_is_found_when_asked_alone(project: Path, ca_env: dict[str, str]) -> None:
    (project / "src" / "tiny.py").write_text("def f(x):\n    return x\n")
    hits = json_result(run_ca(["search", "f", "--json"], ca_env, project).stdout)["hits"]
    assert (hits[0]["path"], hits[0]["symbol"]) == ("src/tiny.py", "f")
