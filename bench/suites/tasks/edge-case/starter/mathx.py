"""Small numeric helpers."""


def average(values: list[float]) -> float:
    return sum(values) / len(values)


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
