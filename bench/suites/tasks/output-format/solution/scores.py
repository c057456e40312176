"""Print the league table, best first."""

SCORES = {"ines": 42, "bo": 17, "kwame": 58}


def ranked(scores: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(scores.items(), key=lambda item: -item[1])


def main() -> None:
    print("name,score")
    for name, score in ranked(SCORES):
        print(f"{name},{score}")


if __name__ == "__main__":
    main()
