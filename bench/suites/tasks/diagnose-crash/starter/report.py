"""Print the total hours per person from timesheet.csv."""

import csv
from pathlib import Path


def load_hours(path: Path) -> dict[str, float]:
    totals: dict[str, float] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            totals[row["person"]] = totals.get(row["person"], 0.0) + float(row["hours"])
    return totals


def main() -> None:
    totals = load_hours(Path(__file__).with_name("timesheet.csv"))
    for person in sorted(totals):
        print(f"{person}: {totals[person]:.1f}")


if __name__ == "__main__":
    main()
