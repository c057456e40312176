"""Convert, filter and sort tables between CSV, TSV, JSON, JSON Lines and markdown
(reference solution of 03-tabconv)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "jsonl",
              ".ndjson": "jsonl", ".md": "md"}
READABLE = ("csv", "tsv", "json", "jsonl")
WRITABLE = ("csv", "tsv", "json", "jsonl", "md")
EXPRESSION = re.compile(r"^\s*([^=!<>]+?)\s*(!=|>=|<=|=|>|<)\s*(.*?)\s*$")

Record = dict[str, Any]


def detect_format(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ValueError(f"unknown file extension {suffix or '(none)'!r} of {filename}")
    return EXTENSIONS[suffix]


def read_records(text: str, fmt: str) -> list[Record]:
    if fmt in ("csv", "tsv"):
        reader = csv.reader(io.StringIO(text), delimiter="," if fmt == "csv" else "\t")
        rows = [row for row in reader if row]
        if not rows:
            return []
        header = rows[0]
        width = len(header)
        return [dict(zip(header, (row + [""] * width)[:width], strict=True)) for row in rows[1:]]
    if fmt == "json":
        data = json.loads(text)
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ValueError("JSON input must be an array of objects")
        return data
    if fmt == "jsonl":
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"line {number}: invalid JSON ({exc})") from None
            if not isinstance(value, dict):
                raise ValueError(f"line {number}: not a JSON object")
            records.append(value)
        return records
    raise ValueError(f"cannot read format {fmt!r} (readable: {', '.join(READABLE)})")


def columns_of(records: list[Record]) -> list[str]:
    return list(dict.fromkeys(key for record in records for key in record))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_records(records: list[Record], fmt: str) -> str:
    if fmt not in WRITABLE:
        raise ValueError(f"cannot write format {fmt!r} (writable: {', '.join(WRITABLE)})")
    if not records:
        return ""
    columns = columns_of(records)
    if fmt in ("csv", "tsv"):
        out = io.StringIO()
        writer = csv.writer(out, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow(columns)
        for record in records:
            writer.writerow([_cell(record.get(c)) for c in columns])
        return out.getvalue()
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)

    def row(values: list[str]) -> str:
        return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"

    lines = [row(columns), row(["---"] * len(columns))]
    lines += [row([_cell(r.get(c)) for c in columns]) for r in records]
    return "\n".join(lines) + "\n"


def select(records: list[Record], columns: list[str]) -> list[Record]:
    present = set(columns_of(records))
    for column in columns:
        if records and column not in present:
            raise KeyError(column)
    return [{c: r[c] for c in columns if c in r} for r in records]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def filter_records(records: list[Record], expression: str) -> list[Record]:
    match = EXPRESSION.match(expression)
    if not match or not match.group(1):
        raise ValueError(f"malformed expression {expression!r} (use col=value, col>number, ...)")
    column, op, operand = match.groups()
    if op in ("=", "!="):
        want = op == "="
        return [r for r in records if (column in r and _cell(r[column]) == operand) == want]
    limit = _number(operand)
    if limit is None:
        raise ValueError(f"malformed expression {expression!r}: {operand!r} is not a number")
    compare = {">": float.__gt__, "<": float.__lt__, ">=": float.__ge__, "<=": float.__le__}[op]
    kept = []
    for record in records:
        value = _number(record.get(column))
        if value is not None and compare(value, limit):
            kept.append(record)
    return kept


def sort_records(records: list[Record], column: str, descending: bool = False) -> list[Record]:
    present = [r for r in records if column in r and r[column] is not None]
    missing = [r for r in records if not (column in r and r[column] is not None)]
    numeric = all(_number(r[column]) is not None for r in present)
    key = (lambda r: _number(r[column])) if numeric else (lambda r: _cell(r[column]))
    return sorted(present, key=key, reverse=descending) + missing


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(prog="tabconv", description="Convert tables.")
    parse.add_argument("input", help="input file, or - for stdin")
    parse.add_argument("-o", "--output")
    parse.add_argument("--from", dest="source")
    parse.add_argument("--to", dest="target")
    parse.add_argument("--select")
    parse.add_argument("--where", action="append", default=[])
    parse.add_argument("--sort")
    parse.add_argument("--desc", action="store_true")
    return parse


def run(args: argparse.Namespace) -> None:
    if args.input == "-":
        if not args.source:
            raise ValueError("--from is required when reading standard input")
        text = sys.stdin.read()
    else:
        try:
            text = Path(args.input).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read {args.input}: {exc.strerror or exc}") from None
    records = read_records(text, args.source or detect_format(args.input))
    for expression in args.where:
        records = filter_records(records, expression)
    if args.sort:
        records = sort_records(records, args.sort, args.desc)
    if args.select:
        records = select(records, [c.strip() for c in args.select.split(",") if c.strip()])
    if args.output:
        Path(args.output).write_text(write_records(records, args.target or
                                                   detect_format(args.output)), encoding="utf-8")
    elif args.target:
        sys.stdout.write(write_records(records, args.target))
    else:
        raise ValueError("--to is required when writing to standard output")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        run(args)
    except KeyError as exc:
        print(f"error: unknown column {exc.args[0]!r}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
