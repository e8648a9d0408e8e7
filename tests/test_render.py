"""The pure renderers of ``qa.render``: HTML escaping for the evidence panel, Markdown for the chat."""

from __future__ import annotations

import re

import pytest

from qa import render
from qa.events import CitedParagraph
from qa.types import Citation, Paragraph
from tests.conftest import SAMPLE

DOLLARS = "the United States kept in place tariffs on $370 billion of Chinese imports"


def _cited(text: str, quote: str) -> str:
    p = Paragraph(61, 231, text, "en", 0, len(text), title="Report")
    return render.evidence_html([CitedParagraph(Citation(61, 231, quote, True), p)], [], (p,))


@pytest.mark.parametrize(
    ("text", "quote", "shown", "marked"),
    [
        (f"After some minor adjustments, {DOLLARS}.", "$370 billion", DOLLARS, "<mark>$370 billion</mark>"),
        ("Tariffs of 25 percent on $250 billion and US$$5 fees.", "$250 billion", "US$$5", "<mark>$250"),
        (
            "Fees <b>&</b> $120 billion",
            "<b>&</b> $120",
            "Fees &lt;b&gt;&amp;&lt;/b&gt; $120",
            "<mark>&lt;b&gt;&amp;&lt;/b&gt; $120</mark>",
        ),
        (
            'The "Phase One" deal',
            '"Phase One"',
            "&quot;Phase One&quot;",
            "<mark>&quot;Phase One&quot;</mark>",
        ),
    ],
)
def test_the_evidence_panel_html_escapes_record_text_and_nothing_else(
    text: str, quote: str, shown: str, marked: str
) -> None:
    out = _cited(text, quote)
    assert shown in out and marked in out
    assert "\\" not in out  # no Markdown escape in HTML
    assert "<b>&" not in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tariffs on $370 billion", "tariffs on \\$370 billion"),
        ("$$x^2$$", "\\$\\$x^2\\$\\$"),
        ("<script>alert(1)</script> & co", "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"),
        ('the "deal"', 'the "deal"'),
        ("no dollars", "no dollars"),
    ],
)
def test_markdown_text_escapes_markup_and_dollars(text: str, expected: str) -> None:
    assert render.markdown_text(text) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            "\u201ctariffs on $370 billion\u201d [Ex. 61 \u00b6 231]",
            "\u201ctariffs on \\$370 billion\u201d [\\[Ex. 61 \u00b6 231\\]](#cite-61-231)",
        ),
        (
            "\u201cUS$$5 <i>fee</i>\u201d [Ex. 62 \u00b6 3 (Chinese original)]",
            "\u201cUS\\$\\$5 &lt;i&gt;fee&lt;/i&gt;\u201d [\\[Ex. 62 \u00b6 3 (Chinese original)\\]](#cite-62-3)",
        ),
    ],
)
def test_the_chat_escapes_dollars_for_markdown_and_links_each_cite(answer: str, expected: str) -> None:
    assert render.chat_text(answer) == expected


def test_the_sample_records_markdown_escapes_are_undone_in_its_paragraphs() -> None:
    """The sample record writes dollars as Markdown escapes (``\\$370``); its paragraphs, which
    the HTML panels show as they are, hold ``$370``."""
    from index.sources import find_sources, read_record

    paragraphs = [p.text for _, paras in read_record(find_sources([SAMPLE])[0]) for p in paras]
    assert any("$370 billion" in t for t in paragraphs)
    escapes = [m.group(0) for t in paragraphs for m in re.finditer(r".{0,30}\\[!-/:-@\[-`{-~]", t)]
    assert not escapes, escapes[:5]
