"""Sentence splitting, terms, question types and exhibit mentions."""

from __future__ import annotations

import pytest

from qa.questions import exhibits_named, question_type
from qa.text import split_sentences, terms


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("One. Two.", ["One.", "Two."]),
        (
            "The U.S. Trade Representative spoke. China agreed.",
            ["The U.S. Trade Representative spoke.", "China agreed."],
        ),
        (
            "Guofa [2016] No. 6 was issued. Then it ended.",
            ["Guofa [2016] No. 6 was issued.", "Then it ended."],
        ),
        ("It rose 5.5% in 2016. Output fell.", ["It rose 5.5% in 2016.", "Output fell."]),
        ("He said \u201cstop.\u201d Then left.", ["He said \u201cstop.\u201d", "Then left."]),
        ("J. Smith wrote it.", ["J. Smith wrote it."]),
        ("No ending here", ["No ending here"]),
        (
            "\u94a2\u94c1\u3002\u8239\u8236\uff01\u597d",
            ["\u94a2\u94c1\u3002", "\u8239\u8236\uff01", "\u597d"],
        ),
        ("| a | b |\n|---|---|\n| 1 | 2 |", ["| a | b |", "| 1 | 2 |"]),
        ("lower. case follows", ["lower. case follows"]),
    ],
)
def test_split_sentences(text: str, sentences: list[str]) -> None:
    out = split_sentences(text)
    assert out == sentences
    for s in out:
        assert s in text  # every sentence is verbatim, so it can be quoted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The subsidies", ["subsidi"]),
        ("China's enterprises", ["china", "enterpris"]),
        ("state-owned", ["state", "own"]),
        ("3,000 tons in 2016", ["3,000", "ton", "2016"]),
        ("\u94a2\u94c1", ["\u94a2", "\u94c1"]),
        ("what is the of and", []),
    ],
)
def test_terms(text: str, expected: list[str]) -> None:
    assert terms(text) == expected


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many blast furnaces were closed?", "numeric"),
        ("How much higher was the price?", "numeric"),
        ("What share of output came from the east?", "numeric"),
        ("When was the agreement signed?", "date"),
        ("In what year did China join the WTO?", "date"),
        ("Who chaired the meeting?", "name"),
        ("Which association signed the memorandum?", "name"),
        ("What are the main tasks of the plan?", "list"),
        ("Why did steel prices rise?", "other"),
        ("What does the notice require of local governments?", "other"),
        ("What is the document number of the notice?", "identifier"),
        ("Under which docket number were the comments filed?", "identifier"),
        ("What is its case no.?", "identifier"),
        ("What number of documents were filed?", "numeric"),
        ("How many case numbers were assigned?", "numeric"),
    ],
)
def test_question_type(question: str, kind: str) -> None:
    assert question_type(question).kind == kind


@pytest.mark.parametrize(
    ("kind", "sentence", "ok"),
    [
        ("numeric", "Output rose by 5%.", True),
        ("numeric", "Output rose by five percent.", True),
        ("numeric", "Output rose.", False),
        # A date or a clock time is not a quantity, however many digits it has.
        ("numeric", "| Date of writing: | January 20, 2022 |", False),
        ("numeric", "It met on 20 January 2022.", False),
        ("numeric", "2021-09-27 13:12:23 Source: Shanghai Securities News", False),
        ("numeric", "9\u670823\u65e5\u53ec\u5f00", False),
        ("numeric", "On January 20, 35 firms signed.", True),
        ("numeric", "\u57f9\u80b21~2\u5bb6\u4f01\u4e1a", True),
        ("date", "It was signed on September 27.", True),
        ("date", "It was signed in 2021.", True),
        ("date", "It was signed.", False),
        ("name", "The China Iron and Steel Industry Association signed.", True),
        ("name", "the association signed.", False),
        ("other", "anything", True),
        ("identifier", "| Text number: | Guofa [2016] No. 6 |", True),
        ("identifier", "Comments are in docket USTR-2022-0012.", True),
        ("identifier", "The notice was issued by the ministry.", False),
    ],
)
def test_question_type_matches(kind: str, sentence: str, ok: bool) -> None:
    from qa.questions import QuestionType

    assert QuestionType(kind).matches(sentence) is ok


def test_an_identifier_the_question_already_gives_does_not_answer_it() -> None:
    from qa.questions import QuestionType

    asked = "What is the docket number of the notice Guofa [2016] No. 6?"
    assert not QuestionType("identifier").matches("Guofa [2016] No. 6 was issued.", asked)
    assert QuestionType("identifier").matches("Guofa [2016] No. 6 is in docket USTR-2016-0001.", asked)


@pytest.mark.parametrize(
    ("question", "exhibits"),
    [
        ("In Exhibit 64, what is the goal?", [64]),
        ("Compare Exhibits 61 and 63.", [61, 63]),
        ("What does Ex. 70 say?", [70]),
        ("What happened in 2016?", []),
    ],
)
def test_exhibits_named(question: str, exhibits: list[int]) -> None:
    assert exhibits_named(question) == exhibits


@pytest.mark.parametrize(
    "title, expected",
    [
        ("Notice of the Ministry of Industry and Information Technology on Issuing the Plan", {"miit"}),
        ("Report of the United States Trade Representative", {"ustr"}),
        ("2022 Report to Congress On China's WTO Compliance", {"wto"}),
        ("guidance on steel", set()),
    ],
)
def test_acronyms(title: str, expected: set[str]) -> None:
    from qa.questions import acronyms

    assert expected <= acronyms(title)
    if not expected:
        assert acronyms(title) == set()


_REFS = {
    62: (
        "Opinions of the State Council on resolving excess production capacity in the steel industry",
        "February 1, 2016",
    ),
    63: (
        "Notice of the Ministry of Industry and Information Technology on Issuing the Steel Adjustment Plan",
        "2016-10-28",
    ),
    64: ("Guidance on promoting high-quality development of the steel industry", "2022-02-07"),
    65: (
        "Notice of the Ministry of Industry and Information Technology on the Steel Work Plan",
        "2023-06-01",
    ),
}


@pytest.mark.parametrize(
    "question, expected",
    [
        ("What does the 2016 State Council opinions say about mergers?", [62]),
        ("What was output according to the MIIT adjustment plan?", [63]),
        ("How many firms does the 2022 guidance plan to select?", [64]),
        ("What does the 2023 work plan say about rail?", [65]),
        ("What does the MIIT plan say?", []),  # two MIIT plans: ambiguous, so no filter
        ("What does the plan say?", []),  # one word is not a reference
        ("What does the 2019 guidance say?", []),  # no exhibit from 2019
        ("What does the new guidance say?", []),  # a word no title has
        ("How much steel did China export in 2016?", []),  # no document reference at all
        # One reference resolves, the other does not: no filter (it may be another exhibit).
        ("What target appears in both the 2022 guidance and the 2023 stable-growth plan?", []),
    ],
)
def test_exhibits_referenced(question: str, expected: list[int]) -> None:
    from qa.questions import exhibits_referenced, reference_terms

    refs = {n: reference_terms(t, opening) for n, (t, opening) in _REFS.items()}
    found, rest = exhibits_referenced(question, refs)
    assert found == expected
    assert (rest != question) == bool(expected)
