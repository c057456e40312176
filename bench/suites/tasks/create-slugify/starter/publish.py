"""Print the post titles given on the command line."""

import sys


def main() -> None:
    for title in sys.argv[1:]:
        print(title)


if __name__ == "__main__":
    main()
