"""English questions reach Chinese-only paragraphs through the CC-CEDICT lexicon."""

from __future__ import annotations

import pytest

from qa.lexicon import _singular, to_chinese
from qa.settings import Settings


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("stainless steel and seamless pipe", {"\u4e0d\u9508\u94a2", "\u65e0\u7f1d"}),
        ("iron ore reserves", {"\u94c1\u77ff\u77f3"}),
        ("the carbon emissions trading market", {"\u78b3\u6392\u653e", "\u5e02\u573a"}),
        ("What is the", set()),
    ],
)
def test_to_chinese(question: str, expected: set[str]) -> None:
    words = set(to_chinese(question))
    assert expected <= words
    if not expected:
        assert words == set()


@pytest.mark.parametrize(
    ("word", "singular"),
    [
        ("enterprises", "enterprise"),
        ("companies", "company"),
        ("boxes", "box"),
        ("glass", "glass"),
        ("gas", "gas"),
    ],
)
def test_singular(word: str, singular: str) -> None:
    assert _singular(word) == singular


def test_english_question_reaches_a_chinese_only_paragraph(sample_settings: Settings) -> None:
    from qa.api import get_retriever

    r = get_retriever(sample_settings)
    question = "Which iron ore reserve systems does the steel guidance call for establishing?"
    hybrid = r.search(question, k=10)
    chinese = [p.paragraph for p in hybrid if p.paragraph.lang == "zh"]
    assert any("\u94c1\u77ff" in p.text and "\u50a8\u5907" in p.text for p in chinese)
    # Without the lexicon channel neither English-matching channel finds it in the top 10.
    assert not any(
        "\u94c1\u77ff\u4ea7\u80fd\u50a8\u5907" in p.paragraph.text
        for p in r.search(question, k=10, method="dense")
    )
