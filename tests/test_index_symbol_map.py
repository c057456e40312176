"""The symbol map: format, PageRank ordering, focus files and the token budget."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from code_assistant.backends.base import estimate_tokens
from code_assistant.config import Config
from code_assistant.index.build import update_index
from code_assistant.index.symbol_map import render_symbol_map

FILES = {
    "src/terminal.rs": """
        pub struct TerminalState {
            rows: u16,
        }

        impl TerminalState {
            pub fn new() -> Self { Self { rows: 0 } }
            pub fn update(&mut self) {}
            pub fn reset(&mut self) {}
        }
        """,
    "src/main.rs": """
        fn main() {
            let mut state = TerminalState::new();
            state.update();
            state.reset();
        }
        """,
    "app/engine.py": """
        class Engine:
            def start(self):
                pass

            def _spin(self):
                pass


        def make_engine():
            return Engine()
        """,
    "app/cli.py": """
        from app.engine import Engine, make_engine

        def main():
            engine = make_engine()
            Engine.start(engine)
        """,
    "app/jobs.py": """
        from app.engine import Engine

        def run_job(engine: Engine):
            engine.start()
        """,
    "app/lonely.py": """
        def unused_helper():
            return 42
        """,
    "web/api.ts": """
        export interface Client { get(url: string): Promise<string>; }
        export function makeClient(): Client { return { get: async () => "" }; }
        """,
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("map")
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    update_index(root, Config())
    return root


def test_format_header_and_entries(repo: Path) -> None:
    text = render_symbol_map(repo, 2000)
    lines = text.splitlines()
    assert lines[0] == (
        "Symbol map (an outline, not code: read_file before editing): 7 files, 16 symbols"
        " (python 4/7, rust 2/6, typescript 1/3 files/symbols), most important first."
    )
    assert (
        "src/terminal.rs: TerminalState (public struct, line 1);\n"
        "  TerminalState (impl, line 5, members: new, update, reset)\n"
    ) in text
    assert (
        "app/engine.py: Engine (class, line 1, members: start, _spin);"
        " make_engine (function, line 9)\n"
    ) in text
    assert (
        "web/api.ts: Client (public interface, line 1, members: get);"
        " makeClient (public function, line 2)"
    ) in text
    assert "src/main.rs: main (function, line 1)" in text


def entries(text: str) -> list[str]:
    """Every entry of a map: what a model could copy out of it."""
    found = []
    for line in text.splitlines()[1:]:
        body = line.strip() if line.startswith("  ") else line.split(": ", 1)[1]
        found += [part.strip() for part in body.split(";") if part.strip()]
    return found


def test_no_entry_can_pass_for_code_or_an_edit_snippet(repo: Path) -> None:
    # `def mean :1 · def spread :9` came back from a real model as edit_file's `old` text.
    text = render_symbol_map(repo, 2000)
    sources = "\n".join((repo / rel).read_text() for rel in FILES)
    found = entries(text)
    assert len(found) == 10
    for entry in found:
        assert entry not in sources, entry
        with pytest.raises(SyntaxError):
            ast.parse(entry)
        assert not re.match(r"(?:pub |export )?(?:def|fn|func|class|struct|impl|const) ", entry)
    for line in text.splitlines()[1:]:
        with pytest.raises(SyntaxError):
            ast.parse(line.strip())


def file_order(text: str) -> list[str]:
    return [line.split(": ", 1)[0] for line in text.splitlines()[1:] if not line.startswith("  ")]


def test_referenced_files_rank_above_unreferenced_ones(repo: Path) -> None:
    order = file_order(render_symbol_map(repo, 2000))
    assert set(order) == set(FILES)
    assert order.index("app/engine.py") < order.index("app/lonely.py")
    assert order.index("src/terminal.rs") < order.index("src/main.rs")
    assert order[0] in ("app/engine.py", "src/terminal.rs")


def test_focus_files_pull_the_ranking(repo: Path) -> None:
    assert file_order(render_symbol_map(repo, 2000, ["app/lonely.py"]))[0] == "app/lonely.py"
    focused = file_order(render_symbol_map(repo, 2000, ["src/main.rs"]))
    assert focused[:2] == ["src/main.rs", "src/terminal.rs"]


def test_small_budgets_keep_the_most_important_entries(repo: Path) -> None:
    small = render_symbol_map(repo, 70)
    assert estimate_tokens(small) <= 70
    assert "lonely" not in small
    assert "Engine" in small or "TerminalState" in small
    assert render_symbol_map(repo, 0) == ""
    assert render_symbol_map(repo, 5) == ""  # not even the header fits


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(min_value=1, max_value=600))
def test_every_budget_is_respected(repo: Path, budget: int) -> None:
    assert estimate_tokens(render_symbol_map(repo, budget)) <= budget


def test_no_index_gives_an_empty_map(tmp_path: Path) -> None:
    assert render_symbol_map(tmp_path, 1000) == ""


def test_a_damaged_index_gives_an_empty_map(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    pass\n")
    update_index(tmp_path, Config())
    db = tmp_path / ".ca" / "index.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"broken" * 100)
    assert render_symbol_map(tmp_path, 1000) == ""
    update_index(tmp_path, Config())
    assert "a.py: f (function, line 1)" in render_symbol_map(tmp_path, 1000)
