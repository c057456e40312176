"""The unbiased pass@k estimator of the Codex paper (Chen et al. 2021, figure 3)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

DEFAULT_KS = (1, 10, 100)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The chance that at least one of k samples drawn from n, c of them correct, passes.

    1 - C(n-c, k) / C(n, k), computed as a product so large n does not overflow.
    """
    if not 0 <= c <= n:
        raise ValueError(f"correct samples must be between 0 and n={n}, got {c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of samples n={n}, got {k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(
    counts: Iterable[tuple[int, int]], ks: Sequence[int] = DEFAULT_KS
) -> dict[str, float]:
    """pass@k averaged over problems, from (samples, correct) per problem.

    Only the k that every problem has enough samples for are reported.
    """
    pairs = list(counts)
    if not pairs:
        return {}
    fewest = min(n for n, _ in pairs)
    return {
        f"pass@{k}": float(np.mean([pass_at_k(n, c, k) for n, c in pairs]))
        for k in ks
        if k <= fewest
    }
