"""Greet someone by name."""

import argparse


def greeting(name: str) -> str:
    return f"Hello, {name}!"


def main() -> None:
    parser = argparse.ArgumentParser(description="Greet someone.")
    parser.add_argument("name", help="who to greet")
    parser.add_argument("--shout", action="store_true", help="print in capitals")
    args = parser.parse_args()
    text = greeting(args.name)
    print(text.upper() if args.shout else text)


if __name__ == "__main__":
    main()
