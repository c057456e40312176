"""Prices for the shop's basket."""


def apply_discount(price: float, percent: float) -> float:
    """The price after taking `percent` percent off."""
    return round(price - price * percent, 2)


def total(prices: list[float]) -> float:
    return round(sum(prices), 2)
