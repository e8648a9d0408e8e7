"""The reranker and gate probes' pure parts (eval/probe_rerank.py, eval/probe_gate.py)."""

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


def test_the_gate_report_measures_every_gate_on_the_same_questions() -> None:
    """A gate whose score puts every answerable question above every unanswerable one has AUC 1
    and refuses them all at 8% false refusals; one that scores them the other way round, AUC 0."""
    from eval.probe_gate import GATES, report

    rows = [
        {
            "answerable": a,
            "synthetic": False,
            "right": a,
            "scorer": s,
            "stack": 1 - s,
            "model": 0.5,
            "scorer+model": s,
        }
        for a, s in [(True, 0.9), (True, 0.8), (True, 0.7), (False, 0.2), (False, 0.1)]
    ]
    got = report(rows)
    assert set(got) == set(GATES)
    assert got["scorer"]["auc"] == 1.0 and got["scorer"]["refusal_recall_at_fr"] == 1.0
    assert got["stack"]["auc"] == 0.0
    assert got["model"]["auc"] == 0.5  # all tied
