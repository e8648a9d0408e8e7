"""The fallback probe's judgement of an answer and of what a policy would have done."""

from __future__ import annotations

from typing import Any

import pytest

from eval.probe_fallback import POLICIES, dropped_terms, outcome, right
from eval.train_scorer import Item
from qa.types import Answer, Citation

CONTEXT = "The Normans were in Normandy in the 10th century. Rollo led them."
ITEM = Item("q1", "Who led the Normans?", CONTEXT, ("Rollo",))


def answer(text: str, *cites: Citation, refused: bool = False) -> Answer:
    return Answer("q", text, cites, (), refused, "local", "h")


@pytest.mark.parametrize(
    "ans, expected",
    [
        (answer("Rollo led them [Ex. 1 ¶ 1].", Citation(1, 1, "Rollo led them.", True)), True),
        # The answer's words are in the cited quote, not in the written text.
        (answer("He did [Ex. 1 ¶ 1].", Citation(1, 1, "Rollo led them.", True)), True),
        # Right words, but the cite is another paragraph's.
        (answer("Rollo led them [Ex. 2 ¶ 1].", Citation(2, 1, "Rollo was elsewhere.", True)), False),
        (answer("The exhibits do not answer this.", refused=True), False),
        (
            answer(
                "They were in Normandy [Ex. 1 ¶ 1].", Citation(1, 1, "The Normans were in Normandy", True)
            ),
            False,
        ),
    ],
)
def test_right(ans: Answer, expected: bool) -> None:
    assert right(ITEM, ans) is expected


def test_an_unanswerable_question_answered_is_never_right() -> None:
    item = Item("q2", "Who led the Vikings?", CONTEXT, ())
    assert right(item, answer("Rollo led them.", Citation(1, 1, "Rollo led them.", True))) is False


@pytest.mark.parametrize(
    "reason, question, expected",
    [
        (
            "names European Union, which no cited paragraph names",
            "Has the European Union sued?",
            ("names", True),
        ),
        ("names Bill Tanner, which no cited paragraph names", "Who wrote it?", ("names", False)),
        ("states 2015, 760, which no cited paragraph contains", "What was it in 2015?", ("states", True)),
        ("restates the question without answering it", "Why?", None),
        ("no cite", "Why?", None),
    ],
)
def test_dropped_terms(reason: str, question: str, expected: tuple[str, bool] | None) -> None:
    assert dropped_terms(reason, question) == expected


def row(**kw: Any) -> dict[str, Any]:
    return {"refused": False, "fell_back": False, "dropped": [], "support": 0.5, "right": True, **kw}


@pytest.mark.parametrize(
    "r, threshold, policy, expected",
    [
        (row(), 0.0, "fall back (shipped)", "right"),
        (row(right=False), 0.0, "fall back (shipped)", "wrong"),
        (row(support=0.1), 0.2, "fall back (shipped)", "refused"),
        (row(refused=True), 0.0, "fall back (shipped)", "refused"),
        (
            row(fell_back=True, dropped=["states 1999, which no cited paragraph contains"]),
            0.0,
            "refuse after any name or figure drop",
            "refused",
        ),
        # 1999 is not the question's figure: only the any-drop policy refuses.
        (
            row(fell_back=True, dropped=["states 1999, which no cited paragraph contains"]),
            0.0,
            "refuse when a dropped term is the question's",
            "right",
        ),
        (
            row(fell_back=True, dropped=["names Normans, which no cited paragraph names"]),
            0.0,
            "refuse when a dropped name is the question's",
            "refused",
        ),
        # A drop on an answer that did not fall back changes nothing.
        (
            row(dropped=["names Normans, which no cited paragraph names"]),
            0.0,
            "refuse after any name or figure drop",
            "right",
        ),
    ],
)
def test_outcome(r: dict[str, Any], threshold: float, policy: str, expected: str) -> None:
    assert outcome(r, "Who led the Normans?", threshold, POLICIES[policy]) == expected
