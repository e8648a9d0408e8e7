"""The second, real record (data/record2: nine PDFs and a saved web page) reads cleanly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.sources import find_sources, read_record
from qa.types import Exhibit, Paragraph
from tests.conftest import ROOT

RECORD2 = ROOT / "data" / "record2"


@pytest.fixture(scope="module")
def record2() -> list[tuple[Exhibit, list[Paragraph]]]:
    files, warnings = find_sources([RECORD2])
    assert warnings == [
        f"skipped {RECORD2 / 'SOURCES.md'}: its name gives no exhibit number (name it like 'Exhibit 7.md')"
    ]
    return read_record(files)


def test_every_exhibit_has_paragraphs_and_pages(record2: list[tuple[Exhibit, list[Paragraph]]]) -> None:
    assert [e.number for e, _ in record2] == list(range(1, 11))
    for e, ps in record2:
        assert len(ps) >= 15, (e.number, len(ps))
        assert not e.problem
        if e.source.endswith(".pdf"):
            assert all(p.page is not None and p.page >= 1 for p in ps)
            assert ps[-1].page is not None and ps[-1].page >= 3


def test_titles(record2: list[tuple[Exhibit, list[Paragraph]]]) -> None:
    titles = {e.number: e.title for e, _ in record2}
    assert titles[1] == "Section 122 of the Trade Act of 1974"
    assert titles[6] == "U.S.-Mexico Trade Relations"
    assert titles[3].startswith("The Updated Section 232 Tariffs on Metals")


def test_no_printer_marks_running_heads_or_glued_footnote_markers(
    record2: list[tuple[Exhibit, list[Paragraph]]],
) -> None:
    text = {e.number: [p.text for p in ps] for e, ps in record2}
    assert not any("VerDate" in t or "Jkt 268001" in t for t in text[5])  # Federal Register margin print
    for n in (1, 2, 6, 7, 8, 9, 10):
        # A line like "Congressional Research Service 3" repeats on every page and is not text.
        assert not any(re.fullmatch(r"Congressional Research Service\s*\d*", t) for t in text[n]), n
    assert any("balance-of-payments" in t for t in text[1])
    assert not any("balance-ofpayments" in t for t in text[1])


def test_paragraphs_read_like_paragraphs(record2: list[tuple[Exhibit, list[Paragraph]]]) -> None:
    body = [p.text for e, ps in record2 if e.number != 5 for p in ps if not p.text.startswith("|")]
    words = [len(t.split()) for t in body]
    assert sum(words) / len(words) > 25  # paragraphs, not lines
    # Two-column CRS pages: a sentence is not interleaved with the other column.
    mexico = " ".join(p.text for e, ps in record2 if e.number == 6 for p in ps)
    assert (
        "Mexico has a population of 132 million people, making it the most populous Spanish-speaking country"
        in mexico
    )


def _starts_at(paras: list[Paragraph], opening: str) -> int:
    (i,) = [i for i, p in enumerate(paras) if p.text.startswith(opening)]
    return i


def test_crs_insight_paragraphs_split_where_the_pdf_leaves_a_gap(
    record2: list[tuple[Exhibit, list[Paragraph]]],
) -> None:
    # Exhibit 2 (a CRS Insight) sets paragraphs 18.5 pt apart on 12.7 pt lines, a gap that a fixed
    # share of the line height missed: these paragraphs each came out joined to the one before.
    paras = next(ps for e, ps in record2 if e.number == 2)
    for first, second in [
        ("Congress has constitutional authority over foreign commerce", "Issues facing Congress include"),
        ("Starting August 1, 2025, President Trump imposed", "Effective April 6, 2026, President Trump"),
    ]:
        i = _starts_at(paras, first)
        assert _starts_at(paras, second) == i + 1, (first, second)
        assert paras[i].page == paras[i + 1].page
    # A bulleted list: one paragraph per item, and the paragraph after the list is its own.
    bullets = [p.text for p in paras if p.text.startswith("\u2022 ")]
    assert len(bullets) == 4 and bullets[0].endswith("intensive copper derivative products;")
    after = paras[_starts_at(paras, "\u2022 a 25% domestic sales requirement") + 1]
    assert after.text.startswith("The Commerce Secretary is to provide the President with an update")


def test_html_page_keeps_article_and_drops_scripts(record2: list[tuple[Exhibit, list[Paragraph]]]) -> None:
    (_, paras) = next((e, ps) for e, ps in record2 if e.number == 3)
    text = "\n".join(p.text for p in paras)
    assert "The trade-weighted average US tariff falls by 0.53 percentage points" in text
    assert "function(" not in text and "{" not in text
    assert any(p.text.startswith("|") for p in paras)  # the annex table stays a table


def test_paragraph_counts_are_reported(
    record2: list[tuple[Exhibit, list[Paragraph]]], capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print("\nrecord2 paragraphs per exhibit:", {e.number: len(ps) for e, ps in record2})
    assert sum(len(ps) for _, ps in record2) > 300


def test_record2_path_is_the_projects_copy() -> None:
    assert Path(RECORD2 / "Exhibit 5.pdf").stat().st_size == 357_576  # byte-for-byte copy of the source


def _tables(paras: list[Paragraph]) -> list[str]:
    return [p.text for p in paras if p.text.startswith("|")]


def test_pdf_tables_are_markdown_tables_not_prose(record2: list[tuple[Exhibit, list[Paragraph]]]) -> None:
    paras = {e.number: ps for e, ps in record2}
    # The CRS reports' numbered tables, each one paragraph; their text boxes are not tables.
    assert {n: len(_tables(paras[n])) for n in (1, 2, 6, 8, 9, 10)} == {1: 1, 2: 2, 6: 0, 8: 0, 9: 2, 10: 3}
    # Exhibit 5's annexes: a ruled tariff schedule on most of its 37 pages.
    assert len(_tables(paras[5])) >= 30
    for n, row in [
        (5, "| 0106.14.00 | Live rabbits and hares. |  |"),
        (2, "| Public hearing held | May 24, 2017 | No hearing held |"),
        (9, "| Enforcement and Compliance | 125.1 | 124.7 | — | 130.7 | — | — |"),
        (10, "| Shrimp | 749.7 | 7.77 | 448 | 252.1 | 2.34 | 95 |"),
    ]:
        cell = row.split(" | ")[1]
        (table,) = [t for t in _tables(paras[n]) if row in t.splitlines()]
        assert table.splitlines()[1].startswith("|---|"), n  # a header row, then the separator
        assert not any(cell in p.text for p in paras[n] if not p.text.startswith("|")), (n, cell)
    (schedule,) = [t for t in _tables(paras[5]) if "Rates of duty" in t]
    assert schedule.splitlines()[0] == (
        "| Heading/ subheading | Article description | Rates of duty 1 General | Rates of duty 1 Special "
        "| Rates of duty 2 |"
    )


def test_prose_beside_tables_reads_in_order(record2: list[tuple[Exhibit, list[Paragraph]]]) -> None:
    # Exhibit 5 p. 2: three columns of prose above the annex table; with the table's words out of
    # the way the columns are found and a sentence runs on from one column to the next.
    text = [p.text for e, ps in record2 if e.number == 5 for p in ps]
    assert any(
        "the Secretary and the Trade Representative, in consultation with other officials, are to continue"
        in t
        for t in text
    )
