"""Section headings: detected by marker or look, carried by each paragraph."""

from __future__ import annotations

import pytest

from index.headings import heading_level, section_headings


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("1. General requirements", 1),
        ("\u4e09\u3001\u4fdd\u969c\u63aa\u65bd", 1),
        ("STATE-OWNED ENTERPRISES", 1),
        ("(2) Basic principles.", 2),
        ("\uff08\u4e00\uff09\u6307\u5bfc\u601d\u60f3", 2),
        ("Industrial Subsidies", 2),
        ("Trade Secrets 44", 0),
        ("2022-05-05 21:52 Source: Xinhua News Agency", 0),
        ("The steel industry is an important basic industry.", 0),
        (
            "(3) Work objectives. On the basis of eliminating backward steel production capacity in recent years, starting from 2016, it will take five years.",
            0,
        ),
        ("| a | b |", 0),
    ],
)
def test_heading_level(text: str, level: int) -> None:
    assert heading_level(text) == level


def test_section_headings_nest_and_reset() -> None:
    paragraphs = [
        "Intro text of the notice comes first.",
        "1. Overall requirements",
        "(1) Guiding ideology",
        "Adhere to the guidance of the plan.",
        "(2) Basic principles",
        "Adhere to innovation.",
        "2. Main tasks",
        "Cut capacity.",
    ]
    assert section_headings(paragraphs) == [
        "",
        "",
        "1. Overall requirements",
        "1. Overall requirements \u203a (1) Guiding ideology",
        "1. Overall requirements",
        "1. Overall requirements \u203a (2) Basic principles",
        "",
        "2. Main tasks",
    ]
