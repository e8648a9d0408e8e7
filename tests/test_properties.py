"""Property-based tests (hypothesis): segmentation and citations never crash and keep their laws."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.segment import segment
from index.sources import paragraphs_of
from qa.answering.prompt import parse_key
from qa.cites import parse, render
from qa.types import Citation

_CONTENT = re.compile(r"[0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]")

# Pieces real exhibits are made of: prose words, Chinese, punctuation, list markers, table rows,
# page furniture, and every kind of line break and blank line.
PIECES = st.sampled_from(
    [
        "the",
        "Steel",
        "output",
        "rose",
        "5%",
        "in",
        "2016.",
        "and",
        "of",
        ",",
        ";",
        ":",
        "-",
        "钢铁",
        "产能。",
        "（一）",
        "一、",
        "第三条",
        "1.",
        "(a)",
        "•",
        "#",
        "## Heading",
        "|",
        "| a | b |",
        "|---|---|",
        "Page 3 of 9",
        "-----",
        "***",
        "\u3000",
        "\xa0",
        "“quoted”",
        "EXHIBIT 7",
        "\n",
        "\n\n",
        "\n \n",
        "\n\n\n",
        " ",
        "\t",
    ]
)
TEXTS = st.one_of(
    st.lists(PIECES, max_size=80).map(" ".join),
    st.lists(PIECES, max_size=80).map("".join),
    st.text(max_size=400),
)


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_segment_never_crashes_and_blocks_cover_the_text_in_order(text: str) -> None:
    blocks = segment(text)
    previous_end = 0
    for b in blocks:
        assert 0 <= previous_end <= b.start < b.end <= len(text)
        assert _CONTENT.search(b.text)  # no block without a letter, digit or character
        # A block's words come from its span, in order (joins only add or drop whitespace/hyphens).
        assert _subsequence("".join(b.text.split()), "".join(text[b.start : b.end].split()))
        previous_end = b.end
    # Every letter, digit and character of the source lies inside some paragraph.
    for m in _CONTENT.finditer(text):
        assert any(b.start <= m.start() < b.end for b in blocks), (m.group(), m.start())


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.integers(min_value=1, max_value=99999), st.integers(min_value=0, max_value=10_000))
def test_paragraph_numbers_are_contiguous_from_one(text: str, exhibit: int, offset: int) -> None:
    paragraphs = paragraphs_of(exhibit, text, offset)
    assert [p.number for p in paragraphs] == list(range(1, len(paragraphs) + 1))
    assert all(p.exhibit == exhibit and p.start >= offset for p in paragraphs)


NUMBERS = st.integers(min_value=1, max_value=99999)


@given(NUMBERS, NUMBERS, st.booleans())
def test_parse_of_render_is_the_cite(exhibit: int, paragraph: int, original: bool) -> None:
    assert parse(render(exhibit, paragraph, original)) == [(exhibit, paragraph)]
    cite = Citation(exhibit, paragraph, "q", original=original)
    assert parse(cite.render()) == [(cite.exhibit, cite.paragraph)]


@given(NUMBERS, NUMBERS, st.text(max_size=60), st.text(max_size=60))
def test_a_cite_is_found_inside_any_sentence(exhibit: int, paragraph: int, before: str, after: str) -> None:
    text = f"{before} {render(exhibit, paragraph)} {after}"
    assert (exhibit, paragraph) in parse(text)


@given(st.text(max_size=200))
def test_parsing_arbitrary_text_never_crashes(text: str) -> None:
    for exhibit, paragraph in parse(text):
        assert exhibit >= 0 and paragraph >= 0
    parse_key(text)


@given(NUMBERS, NUMBERS)
def test_model_source_keys_round_trip(exhibit: int, paragraph: int) -> None:
    assert parse_key(f"{exhibit}.{paragraph}") == (exhibit, paragraph)
