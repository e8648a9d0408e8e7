"""Why and how questions: recognising them, the markers of a stated reason, and which
sentences a why answer quotes."""

from __future__ import annotations

from typing import Any

import pytest

from qa.questions import BACKWARD_RE, CAUSAL_RE, asks_reason


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("Why did the United States keep the tariffs?", True),
        ("For what purpose was the fund set up?", True),
        ("What was the main reason for the decline?", True),
        ("How does the quota system work?", True),
        ("What led to the surplus?", True),
        ("How many ships were built?", False),
        ("How did output change between 2016 and 2020?", False),
        ("When was the plan issued?", False),
        ("What was the 2022 meeting intended to achieve?", True),
        ("What directive was the platform meant to implement?", True),
        ("What did the reform aim to accomplish?", True),
        ("What was the fund meant to finance?", False),
        ("How much was the plan intended to cost?", False),
    ],
)
def test_asks_reason(question: str, reason: bool) -> None:
    assert asks_reason(question) is reason


@pytest.mark.parametrize(
    ("sentence", "causal"),
    [
        ("Output fell because demand weakened.", True),
        ("The fund aims to support mergers.", True),
        (
            "\u4e3a\u4e86\u4fc3\u8fdb\u53d1\u5c55\uff0c\u56fd\u52a1\u9662\u53d1\u5e03\u4e86\u610f\u89c1\u3002",
            True,
        ),
        ("Output fell by 5% in 2016.", False),
        ("Since 2016, output has fallen.", False),
    ],
)
def test_causal_markers(sentence: str, causal: bool) -> None:
    assert bool(CAUSAL_RE.search(sentence)) is causal


@pytest.mark.parametrize(
    ("sentence", "backward"),
    [
        ("As a result, China was placed on the Priority Watch List.", True),
        ("Therefore the tariffs stayed.", True),
        ("\u56e0\u6b64\uff0c\u4ea7\u91cf\u4e0b\u964d\u3002", True),
        ("China was placed on the list as a result of its policies.", False),
    ],
)
def test_backward_connectives(sentence: str, backward: bool) -> None:
    assert bool(BACKWARD_RE.search(sentence)) is backward


def _judged(sentences: list[str], best: int, reason: bool = True) -> Any:
    from qa.answering.extractive import Judgement, Scored
    from qa.answering.features import Candidate
    from qa.types import Paragraph, Passage

    p = Passage(Paragraph(7, 3, " ".join(sentences), "en", 0, 1), 1.0)
    c = Candidate(p, 0, best, sentences[best], True)
    return Judgement((Scored(c, 0.9),), 0.9, "other", reason=reason)


WTO = [
    "Members raised the matter at the council.",
    "The mechanism is of only limited value here.",
    "It was built for good faith disputes between members.",
]


@pytest.mark.parametrize(
    ("sentences", "best", "reason", "quoted"),
    [
        (WTO, 1, True, [1, 2]),  # no reason stated: the sentence after it comes too
        (WTO, 1, False, [1]),  # not a why question
        (WTO, 2, True, [2]),  # the last sentence has none after it
        (["It stopped because demand fell.", "Prices then rose."], 0, True, [0]),  # states a reason
        (["Demand fell.", "As a result, output stopped.", "Then it rose."], 1, True, [0, 1]),
    ],
)
def test_why_answers_add_what_explains_the_best_sentence(
    sentences: list[str], best: int, reason: bool, quoted: list[int]
) -> None:
    from qa.answering.extractive import ExtractiveAnswerer
    from qa.settings import Settings

    chosen = ExtractiveAnswerer(Settings())._chosen(_judged(sentences, best, reason))
    assert [c.sentence for c in chosen] == [sentences[i] for i in quoted]
