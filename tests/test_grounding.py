"""The verifier's name check and cite pruning (qa.answering.grounding): pure functions."""

from __future__ import annotations

import pytest

from qa.answering.grounding import missing_names, name_in, needed, stated_names


@pytest.mark.parametrize(
    ("sentence", "names"),
    [
        ("The European Union has brought 27 WTO disputes [Ex. 61 ¶ 117].", ["European Union", "WTO"]),
        # A name that opens the sentence counts when the next word is capitalised too.
        ("Tan Naifen chaired the morning session in Nantong.", ["Tan Naifen", "Nantong"]),
        # ... and not when the first word is capitalised only by position.
        ("Officials from two departments attended.", []),
        ("Shipbuilders signed nine agreements.", []),
        # Small words join the capitalised words of one name; a trailing one does not.
        (
            "It was the Ministry of Industry and Information Technology of China.",
            ["Ministry of Industry and Information Technology of China"],
        ),
        ("It went to the Department of Commerce and the court.", ["Department of Commerce"]),
        # References to the record and figures are not names.
        ("According to Exhibit 70, output rose 5% in 2021.", []),
        ("The figure is in [61.12] and Ex. 63 ¶ 4.", []),
        # A possessive is the name.
        ("The plan set China's target.", ["China"]),
        # Punctuation and a possessive end a name.
        ("It named China, Japan and the EU's Council.", ["China", "Japan", "EU", "Council"]),
        ("According to the plan, China cut output.", ["China"]),
        # Dotted initials are one acronym.
        ("The U.S. legislation and the U. S. Commerce Department.", ["US", "US Commerce Department"]),
        ("", []),
    ],
)
def test_stated_names(sentence: str, names: list[str]) -> None:
    assert stated_names(sentence) == names


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("WTO", "disputes at the WTO", True),
        ("Tan Naifen", "Wang Yingsheng chaired the session", False),
        ("Tan Naifen", "chaired by tan naifen", True),  # case is not the name
        # Acronyms both ways.
        ("MIIT", "Notice of the Ministry of Industry and Information Technology on the plan", True),
        ("Ministry of Industry and Information Technology", "the MIIT said", True),
        ("European Union", "the EU brought disputes", True),
        ("European Union", "the United States brought disputes", False),
        ("MIIT", "the Ministry of Finance", False),
        ("NDRCs", "the National Development and Reform Commission", True),
        ("US", "the United States said", True),
        ("U.S.", "U.S. companies", True),
        ("US", "the Chinese side", False),
        # Demonyms and their countries, both ways; a shared prefix alone is not enough.
        ("Chinese", "steel output in China", True),
        ("China", "Chinese steel output", True),
        ("Korean", "prices in South Korea", True),
        ("Department", "the departure of ships", False),
        # Every word of a longer name must be there.
        ("Second Equipment Industry Department", "the Raw Materials Industry Department", False),
    ],
)
def test_name_in(name: str, text: str, expected: bool) -> None:
    assert name_in(name, text) is expected


def test_missing_names_are_listed_once_in_order() -> None:
    sentence = "The European Union and the European Union's Council met in Nantong."
    assert missing_names(sentence, "They met in Nantong.") == ["European Union", "Council"]
    assert missing_names(sentence, "The EU Council met in Nantong.") == []


@pytest.mark.parametrize(
    ("sentence", "question", "cited", "expected"),
    [
        # The second cite repeats only the subject: not needed.
        (
            "USTR cites the CHIPS and Science Act and the Inflation Reduction Act.",
            "Which legislation does USTR cite?",
            ["the CHIPS and Science Act and the Inflation Reduction Act", "USTR cites legislation"],
            [0],
        ),
        # Each cite holds a part of the answer: both needed.
        (
            "The plan forecast 750 million tons; output reached 1,065 million tons.",
            "How did forecast and output compare?",
            ["a forecast of 750 million tons", "output reached 1,065 million tons"],
            [0, 1],
        ),
        # The cite holding more of the answer is chosen; one adding nothing more is not.
        (
            "Wang Yingsheng chaired the afternoon session.",
            "Who chaired it?",
            ["Wang chaired", "Wang Yingsheng chaired the afternoon session", "the afternoon session"],
            [1],
        ),
        # A tie goes to the cite holding more of the sentence (the translation, not the original).
        (
            "120 representatives from industry attended.",
            "How many representatives attended?",
            ["\u51fa\u5e2d120\u540d", "more than 120 representatives from industry attended"],
            [1],
        ),
        # The question's year is still a figure the sentence states: the cite holding it stays.
        (
            "In 2015 the industry earned 241.6 billion yuan.",
            "How much did the industry earn in 2015?",
            ["the industry earned 241.6 billion yuan", "In 2015 output fell"],
            [0, 1],
        ),
        # A reference to the record is not a figure to keep a cite for.
        (
            "The industry earned 241.6 billion yuan [63.13].",
            "How much did the industry earn?",
            ["the industry earned 241.6 billion yuan", "paragraph 63 item 13"],
            [0],
        ),
        # A sentence of the question's words only is judged on all its terms.
        ("The plan was approved.", "Was the plan approved?", ["the plan", "approved"], [0, 1]),
        # Nothing in common: the first cite is kept (the sentence is judged elsewhere).
        ("Steel output fell.", "What happened?", ["ships", "boats"], [0]),
        ("Steel output fell.", "What happened?", [], []),
    ],
)
def test_needed(sentence: str, question: str, cited: list[str], expected: list[int]) -> None:
    assert needed(sentence, question, cited) == expected
