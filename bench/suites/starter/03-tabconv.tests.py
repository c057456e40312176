"""Held-out tests of 03-tabconv: the Python interface, then the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import tabconv

TOOL = Path(tabconv.__file__).resolve()
PEOPLE = [
    {"name": "Ada", "age": "36", "city": "London"},
    {"name": "Alan", "age": "41", "city": "Wilmslow"},
    {"name": "Grace", "age": "85", "city": "New York, NY"},
]
CSV = 'name,age,city\nAda,36,London\nAlan,41,Wilmslow\nGrace,85,"New York, NY"\n'


def tool(*args: str, stdin: str | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOL), *args], input=stdin, cwd=cwd,
                          capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize(("name", "fmt"), [
    ("a.csv", "csv"), ("b.TSV", "tsv"), ("c.tab", "tsv"), ("d.json", "json"),
    ("e.jsonl", "jsonl"), ("f.ndjson", "jsonl"), ("dir.x/g.md", "md"),
])
def test_detect_format(name: str, fmt: str) -> None:
    assert tabconv.detect_format(name) == fmt


def test_detect_unknown_extension() -> None:
    with pytest.raises(ValueError):
        tabconv.detect_format("notes.xlsx")


def test_read_csv_with_quotes_and_blank_lines() -> None:
    text = CSV.replace("\nAlan", "\n\nAlan") + '"Lin, ""Q""",7,"two\nlines"\n'
    records = tabconv.read_records(text, "csv")
    assert records[:3] == PEOPLE
    assert records[3] == {"name": 'Lin, "Q"', "age": "7", "city": "two\nlines"}


def test_read_tsv_json_and_jsonl() -> None:
    tsv = "a\tb\n1\tx y\n"
    assert tabconv.read_records(tsv, "tsv") == [{"a": "1", "b": "x y"}]
    data = [{"a": 1, "b": [1, 2]}, {"a": None, "c": True}]
    assert tabconv.read_records(json.dumps(data), "json") == data
    lines = '{"a": 1}\n\n{"a": 2, "b": "z"}\n'
    assert tabconv.read_records(lines, "jsonl") == [{"a": 1}, {"a": 2, "b": "z"}]


def test_bad_inputs_raise_value_error_with_the_line() -> None:
    with pytest.raises(ValueError):
        tabconv.read_records('{"a": 1}', "json")
    with pytest.raises(ValueError, match="line 3"):
        tabconv.read_records('{"a": 1}\n{"a": 2}\n[3]\n', "jsonl")
    with pytest.raises(ValueError, match="line 2"):
        tabconv.read_records('{"a": 1}\n{oops\n', "jsonl")
    with pytest.raises(ValueError):
        tabconv.read_records("a,b\n", "xml")


def test_write_csv_and_tsv_use_the_union_of_columns() -> None:
    records = [{"a": "1", "b": "x,y"}, {"c": None, "a": "2"}]
    assert tabconv.write_records(records, "csv") == 'a,b,c\n1,"x,y",\n2,,\n'
    assert tabconv.write_records(records, "tsv") == "a\tb\tc\n1\tx,y\t\n2\t\t\n"


def test_write_json_jsonl_and_markdown() -> None:
    records = [{"n": "é", "v": 1}, {"n": "a|b"}]
    assert tabconv.write_records(records, "json") == json.dumps(
        records, indent=2, ensure_ascii=False) + "\n"
    assert tabconv.write_records(records, "jsonl") == '{"n": "é", "v": 1}\n{"n": "a|b"}\n'
    markdown = tabconv.write_records(records, "md").splitlines()
    assert markdown == ["| n | v |", "| --- | --- |", "| é | 1 |", "| a\\|b |  |"]


def test_no_records_write_nothing() -> None:
    for fmt in ("csv", "tsv", "json", "jsonl", "md"):
        assert tabconv.write_records([], fmt) == ""


def test_round_trips_keep_the_data() -> None:
    for fmt in ("csv", "tsv", "json", "jsonl"):
        assert tabconv.read_records(tabconv.write_records(PEOPLE, fmt), fmt) == PEOPLE


def test_select_orders_and_refuses_unknown_columns() -> None:
    assert tabconv.select(PEOPLE, ["city", "name"])[0] == {"city": "London", "name": "Ada"}
    assert list(tabconv.select(PEOPLE, ["city", "name"])[0]) == ["city", "name"]
    with pytest.raises(KeyError):
        tabconv.select(PEOPLE, ["salary"])


def test_filters() -> None:
    def names(expression: str) -> list[str]:
        return [r["name"] for r in tabconv.filter_records(PEOPLE, expression)]

    assert names("city=London") == ["Ada"]
    assert names("city!=London") == ["Alan", "Grace"]
    assert names("age>40") == ["Alan", "Grace"]
    assert names("age<=41") == ["Ada", "Alan"]
    assert names("age>=85") == ["Grace"]
    mixed = [{"v": "3"}, {"v": "x"}, {}, {"v": 10}]
    assert tabconv.filter_records(mixed, "v<5") == [{"v": "3"}]
    for bad in ("no operator", "=5"):
        with pytest.raises(ValueError):
            tabconv.filter_records(PEOPLE, bad)


def test_sort_numeric_string_stable_missing_last() -> None:
    records = [{"k": "10", "i": 1}, {"i": 2}, {"k": "9", "i": 3}, {"k": "10", "i": 4}]
    assert [r["i"] for r in tabconv.sort_records(records, "k")] == [3, 1, 4, 2]
    assert [r["i"] for r in tabconv.sort_records(records, "k", descending=True)][-1] == 2
    words = [{"w": "pear"}, {"w": "apple"}, {"w": "10"}]
    assert [r["w"] for r in tabconv.sort_records(words, "w")] == ["10", "apple", "pear"]


def test_cli_converts_files_with_where_sort_select(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text(CSV, encoding="utf-8")
    result = tool("people.csv", "-o", "out.jsonl", "--where", "age>30", "--where",
                  "city!=London", "--sort", "age", "--desc", "--select", "name,age", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"name": "Grace", "age": "85"},
                                                    {"name": "Alan", "age": "41"}]


def test_cli_reads_stdin_and_writes_stdout(tmp_path: Path) -> None:
    result = tool("-", "--from", "jsonl", "--to", "md", stdin='{"a": 1}\n', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "| a |\n| --- |\n| 1 |\n"


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text(CSV, encoding="utf-8")
    for args in (["missing.csv", "--to", "json"], ["people.csv", "--to", "xml"],
                 ["people.csv", "--to", "csv", "--select", "salary"],
                 ["people.csv", "--to", "csv", "--where", "nonsense"]):
        result = tool(*args, stdin="", cwd=tmp_path)
        assert result.returncode == 1, args
        assert result.stderr.startswith("error:"), args
        assert len(result.stderr.strip().splitlines()) == 1, args
