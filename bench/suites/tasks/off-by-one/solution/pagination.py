"""Split lists into numbered pages."""


def page_count(total: int, size: int) -> int:
    return (total + size - 1) // size


def page(items: list, number: int, size: int) -> list:
    """Items on page `number` (1 is the first page) of `size` items each."""
    start = (number - 1) * size
    return items[start:start + size]
