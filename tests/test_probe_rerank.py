"""The reranker probe's orders and evidence figures (eval/probe_rerank.py)."""

from __future__ import annotations

import pytest

from eval.probe_rerank import evidence, orders


@pytest.mark.parametrize(
    ("scores", "by_reader", "both"),
    [
        ([0.1, 0.9, 0.5], [1, 2, 0], [1, 0, 2]),  # fused first vs reader first: reciprocal ranks tie-break
        ([0.5, 0.5, 0.5], [0, 1, 2], [0, 1, 2]),  # ties keep the fused order
        ([-99.0, -99.0, 0.2], [2, 0, 1], [0, 2, 1]),  # unread paragraphs (-99) go last for the reader
        ([0.3], [0], [0]),
    ],
)
def test_orders(scores: list[float], by_reader: list[int], both: list[int]) -> None:
    got = orders(scores)
    assert got["fused"] == list(range(len(scores)))
    assert got["reader"] == by_reader
    assert got["fused+reader"] == both


@pytest.mark.parametrize(
    ("ranks", "expected"),
    [
        ([0, 2, 4, None], {"evidence@1": 0.25, "evidence@3": 0.5, "evidence@5": 0.75, "evidence@8": 0.75}),
        ([7, None], {"evidence@1": 0.0, "evidence@3": 0.0, "evidence@5": 0.0, "evidence@8": 0.5}),
        ([None], {"evidence@1": 0.0, "evidence@3": 0.0, "evidence@5": 0.0, "evidence@8": 0.0}),
    ],
)
def test_evidence(ranks: list[int | None], expected: dict[str, float]) -> None:
    assert evidence(ranks) == expected
