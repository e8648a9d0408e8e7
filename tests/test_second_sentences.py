"""eval.second_sentences: when a second sentence is quoted, and what it does to the cites."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from eval.second_sentences import card_section, measure, quoted
from qa.answering.scorer import Linear
from qa.answering.stack import Stack


@pytest.mark.parametrize(
    "order, share, expected",
    [
        ([], 0.8, []),
        ([(3, 0.5)], 0.8, [3]),
        ([(3, 0.5), (1, 0.4)], 0.8, [3, 1]),  # exactly the share
        ([(3, 0.5), (1, 0.39)], 0.8, [3]),
        ([(3, 0.5), (1, 0.45), (2, 0.45)], 0.5, [3, 1]),  # never more than one runner-up
        ([(3, 0.5), (1, 0.49)], 1.0, [3]),  # 1: never a second sentence
    ],
)
def test_quoted(order: list[tuple[int, float]], share: float, expected: list[int]) -> None:
    assert quoted(order, share) == expected


def _row(
    answerable: bool, p: list[float], para: list[list[int]], asked_of: list[bool], y: list[bool]
) -> dict[str, Any]:
    return {
        "answerable": answerable,
        "absent": False,
        "gather": False,
        "synthetic": False,
        "today_support": 0.9,
        "scorer_order": list(range(len(p))),
        "scorer_p": p,
        "para": para,
        "asked_of": asked_of,
        "y": y,
    }


def _stack() -> Stack:
    one = Linear(np.zeros(2), np.ones(2), np.ones(2), 0.0)
    return Stack(one, one, (1.0, 0.0), 4)


def test_a_runner_up_from_the_same_paragraph_costs_no_cite_but_one_from_another_does() -> None:
    rows = [
        # the runner-up holds the answer, in the paragraph asked of: quoted, it is found
        _row(True, [0.5, 0.45], [[1, 1], [1, 1]], [True, True], [False, True]),
        # a runner-up from another paragraph: a wrong cite
        _row(True, [0.5, 0.45], [[1, 2], [1, 3]], [True, False], [True, False]),
        # unanswerable: every cite is wrong
        _row(False, [0.5, 0.1], [[1, 4], [1, 5]], [False, False], [False, False]),
    ]
    curve = measure(rows, "scorer", _stack(), threshold=0.5)
    alone, both = curve["1.00"], curve["0.80"]
    assert alone == {
        "citation_precision": pytest.approx(2 / 3, abs=1e-4),
        "answer_quoted": 0.5,
        "second_sentence": 0.0,
    }
    assert both["citation_precision"] == pytest.approx(2 / 4)
    assert both["answer_quoted"] == 1.0 and both["second_sentence"] == pytest.approx(2 / 3, abs=1e-4)
    # below the threshold every question is refused: nothing is quoted, nothing measured
    refused = measure(rows, "scorer", _stack(), threshold=0.95)["0.80"]
    assert all(math.isnan(refused[k]) for k in ("citation_precision", "second_sentence"))


def test_the_card_table_has_a_row_per_judge_and_set() -> None:
    cell = {"citation_precision": 0.5, "answer_quoted": 0.75, "second_sentence": 0.125}
    report = {"pick": {"SQuAD": {"0.80": cell, "1.00": cell | {"second_sentence": 0.0}}}}
    text = card_section(report, ("0.80", "1.00"))
    assert "| pick | SQuAD | 0.500 / 0.750 / 0.125 | 0.500 / 0.750 / 0.000 |" in text.splitlines()
