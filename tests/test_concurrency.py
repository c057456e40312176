"""Real concurrent processes: `ca index` three at a time, first runs racing on ca.config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from code_assistant.config import write_config_file
from code_assistant.index.store import IndexStore, db_path_for
from tests.helpers import json_result

pytestmark = pytest.mark.timeout(240)


def start_ca(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "code_assistant", *args], env=env, cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def make_project(root: Path, files: int) -> None:
    (root / "pkg").mkdir(parents=True)
    for n in range(files):
        (root / "pkg" / f"mod{n}.py").write_text(
            f'"""Module {n}."""\n\n\ndef function_{n}(x):\n    return x + {n}\n\n\n'
            f"class Thing{n}:\n    def method(self):\n        return {n}\n",
            encoding="utf-8",
        )


@pytest.mark.parametrize("round_", range(2))
def test_three_concurrent_index_runs_all_succeed(
    ca_env: dict[str, str], tmp_path: Path, round_: int
) -> None:
    root = tmp_path / "proj"
    make_project(root, 60)
    procs = [start_ca(["index", "--no-embed", "--json"], ca_env, root) for _ in range(3)]
    results = [(p.wait(timeout=200), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0, err
        assert "Traceback" not in err and "rebuilding" not in err, err
        assert json_result(out)["files"] == 60
    with IndexStore(db_path_for(root)) as store:
        assert store.counts()["files"] == 60
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = [r[0] for r in store.conn.execute("SELECT name FROM migrations")]
        assert names == ["001_initial"]


def test_first_runs_racing_on_the_config_file_never_fail_or_overwrite(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from code_assistant.config import "
        "write_config_file; print(write_config_file(Path(sys.argv[1]), 'project'))"
    )
    for attempt in range(5):
        target = tmp_path / str(attempt) / "ca.config"
        procs = [
            subprocess.Popen([sys.executable, "-c", code, str(target)], text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(4)
        ]
        outcomes = [(p.wait(timeout=60), *p.communicate()) for p in procs]
        assert [c for c, _, _ in outcomes] == [0] * 4, [e for _, _, e in outcomes]
        assert sorted(out.strip() for _, out, _ in outcomes).count("True") == 1
        assert sorted(p.name for p in target.parent.iterdir()) == ["ca.config"]  # no *.tmp


def test_an_existing_config_file_is_left_as_it_is(tmp_path: Path) -> None:
    target = tmp_path / "ca.config"
    target.write_text('architect_model = "mine"\n')
    assert write_config_file(target, "project") is False
    assert target.read_text() == 'architect_model = "mine"\n'
    assert write_config_file(tmp_path / "new" / "ca.config", "project") is True
    assert (tmp_path / "new" / "ca.config").stat().st_mode & 0o777 == 0o644
