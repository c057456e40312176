"""`ca feedback add|list|show|rm|stats` as real processes on an isolated machine directory."""

from __future__ import annotations

import json
from pathlib import Path

from code_assistant.feedback.pairs import CATEGORIES
from tests.helpers import json_result, run_ca


def test_add_list_show_stats_rm(ca_env: dict[str, str], tmp_path: Path) -> None:
    added = run_ca(
        ["feedback", "add", "bad", "use logging, not print", "--task", "add logging",
         "--output", "-", "--correction", "log.info('x')"],
        ca_env, tmp_path, input="print('x')\n",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("recorded user_bad ")
    pair_id = added.stdout.split()[-1]
    good = run_ca(["feedback", "add", "good", "--task", "explain", "--output", "It works."],
                  ca_env, tmp_path)
    assert good.returncode == 0, good.stderr

    listed = run_ca(["feedback", "list"], ca_env, tmp_path)
    lines = listed.stdout.splitlines()
    assert len(lines) == 2 and lines[1].startswith(pair_id)  # newest first
    assert "user_bad" in lines[1] and "| add logging" in lines[1]
    as_json = json_result(run_ca(["feedback", "list", "--json"], ca_env, tmp_path).stdout)["pairs"]
    assert [p["category"] for p in as_json] == ["user_good", "user_bad"]
    only = run_ca(["feedback", "list", "--category", "user_good", "--json"], ca_env, tmp_path)
    assert [p["category"] for p in json_result(only.stdout)["pairs"]] == ["user_good"]

    shown = json.loads(run_ca(["feedback", "show", pair_id[:6]], ca_env, tmp_path).stdout)
    assert shown["id"] == pair_id and shown["bad"]["text"] == "print('x')\n"
    assert shown["good"]["text"] == "log.info('x')" and shown["note"] == "use logging, not print"
    assert shown["model"] == "qwen2.5-coder:14b"  # the persona's model from config

    stats = json_result(run_ca(["feedback", "stats", "--json"], ca_env, tmp_path).stdout)
    assert list(stats["by_category"]) == list(CATEGORIES)
    assert stats["by_category"]["user_bad"] == 1 and stats["by_category"]["user_good"] == 1
    assert stats["total"] == 2 and stats["unreadable_lines"] == 0
    text = run_ca(["feedback", "stats"], ca_env, tmp_path).stdout
    assert text.startswith("2 pairs (2 distinct) in ") and "tool_errors" in text

    removed = run_ca(["feedback", "rm", pair_id], ca_env, tmp_path)
    assert removed.returncode == 0 and removed.stdout.strip() == f"removed 1 pair(s): {pair_id}"
    after = json_result(run_ca(["feedback", "list", "--json"], ca_env, tmp_path).stdout)["pairs"]
    assert [p["category"] for p in after] == ["user_good"]


def test_pairs_live_in_the_machine_directory_only(ca_env: dict[str, str], tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    result = run_ca(["feedback", "add", "good", "--output", "fine"], ca_env, project)
    assert result.returncode == 0, result.stderr
    assert list(project.iterdir()) == []
    assert (Path(ca_env["CA_HOME"]) / "feedback" / "pairs.jsonl").is_file()
    custom = tmp_path / "elsewhere"
    env = {**ca_env, "CA_FEEDBACK_DIR": str(custom)}
    assert run_ca(["feedback", "add", "good", "--output", "x"], env, project).returncode == 0
    assert (custom / "pairs.jsonl").is_file()


def test_a_project_cannot_redirect_the_feedback_dir(ca_env: dict[str, str], tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "ca.config").write_text(f'feedback_dir = "{project / "stolen"}"\n')
    result = run_ca(["feedback", "add", "good", "--output", "x"], ca_env, project)
    assert result.returncode == 0
    assert "machine-only" in result.stderr
    assert not (project / "stolen").exists()


def test_bad_input_is_one_line_and_exit_2(ca_env: dict[str, str], tmp_path: Path) -> None:
    cases = [
        (["feedback", "add", "meh", "--output", "x"], "feedback is 'good' or 'bad', not 'meh'"),
        (["feedback", "add", "bad"], "nothing to record: no answer yet, and no note given"),
        (["feedback", "show", "nope"], "no feedback pair 'nope' (see `ca feedback list`)"),
        (["feedback", "rm", "nope"], "no feedback pair 'nope' (see `ca feedback list`)"),
        (["feedback", "list", "--category", "oops"], "unknown category 'oops'"),
        (["feedback", "add", "good", "--output", "x", "--persona", "coder"],
         "unknown persona 'coder'"),
    ]
    for args, message in cases:
        result = run_ca(args, ca_env, tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
        assert message in result.stderr and "Traceback" not in result.stderr


def test_empty_store_lists_and_counts_nothing(ca_env: dict[str, str], tmp_path: Path) -> None:
    assert run_ca(["feedback", "list"], ca_env, tmp_path).stdout == "no feedback pairs yet\n"
    stats = json_result(run_ca(["feedback", "stats", "--json"], ca_env, tmp_path).stdout)
    assert stats["total"] == 0 and set(stats["by_category"].values()) == {0}
