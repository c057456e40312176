"""Print an invoice for a sample order."""

from orders import calc_total, line_count

ORDER = [(2, 3.5), (1, 10.0), (4, 0.25)]


def main() -> None:
    print(f"items: {line_count(ORDER)}")
    print(f"total: {calc_total(ORDER):.2f}")


if __name__ == "__main__":
    main()
