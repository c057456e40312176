"""Print the area of a shape: python main.py circle R | rectangle W H."""

import sys

from shapes import Circle, Rectangle, Square


def build(args: list[str]):
    kind, *numbers = args
    values = [float(n) for n in numbers]
    if kind == "circle":
        return Circle(*values)
    if kind == "rectangle":
        return Rectangle(*values)
    if kind == "square":
        return Square(*values)
    raise SystemExit(f"unknown shape: {kind}")


def main() -> None:
    print(f"{build(sys.argv[1:]).area():.2f}")


if __name__ == "__main__":
    main()
