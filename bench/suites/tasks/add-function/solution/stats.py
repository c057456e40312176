"""Summary statistics for lists of numbers."""


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def variance(values: list[float]) -> float:
    centre = mean(values)
    return sum((v - centre) ** 2 for v in values) / len(values)
