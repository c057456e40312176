"""Order arithmetic."""


def calc_total(lines: list[tuple[int, float]]) -> float:
    """Sum of quantity * unit price over the order lines."""
    return round(sum(qty * price for qty, price in lines), 2)


def line_count(lines: list[tuple[int, float]]) -> int:
    return sum(qty for qty, _ in lines)
