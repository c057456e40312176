"""Print an invoice for a sample order."""

from orders import line_count, order_total

ORDER = [(2, 3.5), (1, 10.0), (4, 0.25)]


def main() -> None:
    print(f"items: {line_count(ORDER)}")
    print(f"total: {order_total(ORDER):.2f}")


if __name__ == "__main__":
    main()
