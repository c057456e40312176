from pricing import apply_discount, total


def test_ten_percent_off():
    assert apply_discount(200.0, 10) == 180.0


def test_no_discount():
    assert apply_discount(59.99, 0) == 59.99


def test_total():
    assert total([1.25, 2.5]) == 3.75
