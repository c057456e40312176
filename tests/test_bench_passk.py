"""The pass@k estimator against the Codex paper's formula, by hand and by property."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_assistant.bench.passk import mean_pass_at_k, pass_at_k


def exact(n: int, c: int, k: int) -> Fraction:
    """1 - C(n-c, k) / C(n, k), the paper's definition, in exact arithmetic."""
    return 1 - Fraction(comb(n - c, k), comb(n, k))


@pytest.mark.parametrize(("n", "c", "k", "expected"), [
    (1, 1, 1, 1.0),
    (1, 0, 1, 0.0),
    (10, 3, 1, 0.3),  # pass@1 is the share of correct samples
    (10, 3, 10, 1.0),  # every sample drawn: one of them is correct
    (10, 3, 5, 1 - 21 / 252),  # C(7,5) = 21, C(10,5) = 252
    (5, 2, 2, 1 - 3 / 10),  # C(3,2) = 3, C(5,2) = 10
    (4, 1, 2, 0.5),  # C(3,2) = 3, C(4,2) = 6
    (200, 0, 100, 0.0),
    (200, 200, 1, 1.0),
    (6, 2, 3, 1 - 4 / 20),  # C(4,3) = 4, C(6,3) = 20
])
def test_hand_computed_cases(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@given(st.integers(1, 80).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))
))
def test_matches_the_exact_formula(case: tuple[int, int, int]) -> None:
    n, c, k = case
    assert pass_at_k(n, c, k) == pytest.approx(float(exact(n, c, k)), abs=1e-9)


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_grows_with_k_and_pass_at_1_is_the_share(case: tuple[int, int]) -> None:
    n, c = case
    values = [pass_at_k(n, c, k) for k in range(1, n + 1)]
    assert values == sorted(values)
    assert values[0] == pytest.approx(c / n)


def test_large_n_does_not_overflow() -> None:
    assert pass_at_k(10_000, 1, 5000) == pytest.approx(0.5)


@pytest.mark.parametrize(("n", "c", "k"), [(5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)])
def test_impossible_arguments_are_refused(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_mean_over_problems_reports_only_the_k_every_problem_allows() -> None:
    scores = mean_pass_at_k([(10, 10), (10, 0), (20, 5)])
    assert set(scores) == {"pass@1", "pass@10"}
    assert scores["pass@1"] == pytest.approx((1.0 + 0.0 + 0.25) / 3)
    assert scores["pass@10"] == pytest.approx((1.0 + 0.0 + float(exact(20, 5, 10))) / 3)
    one = mean_pass_at_k([(100, 1)], ks=(1, 100))
    assert one == pytest.approx({"pass@1": 0.01, "pass@100": 1.0})
    assert mean_pass_at_k([]) == {}
