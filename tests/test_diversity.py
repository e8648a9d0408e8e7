"""Per-exhibit quotas on the fused ranking (pure function)."""

from __future__ import annotations

import pytest

from qa.diversity import diverse_top


@pytest.mark.parametrize(
    "exhibits, k, cap, required, expected",
    [
        # No quotas needed: the fused order is kept.
        ([61, 62, 63, 64], 3, 8, (), [0, 1, 2]),
        # One exhibit fills the ranking: the cap lets the best other exhibit in.
        ([61, 61, 61, 61, 62, 61], 4, 3, (), [0, 1, 2, 4]),
        # Nothing else to take: capped hits return in order.
        ([61, 61, 61, 61, 61], 4, 2, (), [0, 1, 2, 3]),
        # Two named exhibits: each gets its floor even when ranked low.
        ([62, 62, 62, 62, 62, 62, 64, 64], 4, 8, (62, 64), [0, 1, 6, 7]),
        # A named exhibit without hits takes nothing.
        ([62, 62, 62], 2, 8, (62, 70), [0, 1]),
        # Three named exhibits with k=3: one place each.
        ([61, 61, 61, 62, 63], 3, 8, (61, 62, 63), [0, 3, 4]),
        ([], 5, 3, (), []),
        ([61, 62], 0, 3, (), []),
    ],
)
def test_diverse_top(
    exhibits: list[int], k: int, cap: int, required: tuple[int, ...], expected: list[int]
) -> None:
    assert diverse_top(exhibits, k, cap=cap, required=required) == expected
