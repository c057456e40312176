import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orders import order_total


def test_total():
    assert order_total([(3, 2.0)]) == 6.0
