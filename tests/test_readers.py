"""Readers for PDF, HTML, DOCX and text in several encodings, on files the tests make themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from index.pdf import Line, line_spacing, starts_item, wide_gap
from index.readers import read_docx, read_html, read_pdf, read_text
from index.sources import find_sources, read_record
from index.words import join_lines
from tests.conftest import write

LINE_H = 6.0  # mm between lines of a paragraph
PlacedText = tuple[
    float | None, float, str, float
]  # x mm (None: right after the last text), y mm, text, size


def _pdf(
    path: Path,
    pages: list[list[tuple[float | None, float, str, float]]],
    header: str | None = "ACME TRADE REPORT",
) -> Path:
    """A PDF whose text sits exactly where given: (x mm, y mm, text, font size) per line;
    x None puts the text right after the line before (a superscript)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    for n, lines in enumerate(pages, 1):
        pdf.add_page()
        if header:
            pdf.set_font("Helvetica", size=9)
            pdf.text(20, 12, header)
            pdf.text(105, 287, str(n))  # page number in the footer
        prev_end = 0.0
        for x, y, text, size in lines:
            pdf.set_font("Helvetica", size=size)
            at = prev_end if x is None else x
            pdf.text(at, y, text)
            prev_end = at + pdf.get_string_width(text)
    pdf.output(str(path))
    return path


def _para(x: float, y: float, lines: list[str], size: float = 11) -> list[PlacedText]:
    return [(x, y + i * LINE_H, line, size) for i, line in enumerate(lines)]


@pytest.fixture()
def report_pdf(tmp_path: Path) -> Path:
    page1 = (
        _para(
            20,
            40,
            [
                "The mill produced steel for export markets and its output rose",
                "sharply in the eco-",
                "nomic recovery of 2021.",
            ],
        )
        + _para(20, 75, ["Officials said the balance-of-", "payments position improved as exports grew."])
        + _para(
            20,
            255,
            [
                "A paragraph that starts near the bottom of the first page and",
                "continues onto the next page where",
            ],
        )
    )
    page2 = _para(20, 40, ["it ends after the break with a full stop."]) + _para(
        20, 60, ["Ships carried about 130 cargoes each day."]
    )
    page2.append((None, 58.5, "1", 6))  # footnote marker glued to "day."
    # A two-column page: the left column is read before the right one.
    left = _para(
        20,
        40,
        [f"Left column line {i} about tariffs and" for i in range(1, 9)] + ["left ends here."],
        size=10,
    )
    right = _para(
        115,
        40,
        [f"Right column line {i} about ships and" for i in range(1, 9)] + ["right ends here."],
        size=10,
    )
    return _pdf(tmp_path / "Exhibit 5.pdf", [page1, page2, left + right])


def _pdf_paragraphs(path: Path) -> list[tuple[str, int | None]]:
    ((exhibit, paras),) = read_record(find_sources([path])[0])
    return [(p.text, p.page) for p in paras]


def test_pdf_paragraphs_pages_headers_hyphens_and_footnotes(report_pdf: Path) -> None:
    paras = _pdf_paragraphs(report_pdf)
    texts = [t for t, _ in paras]
    assert texts[:4] == [
        "The mill produced steel for export markets and its output rose sharply in the economic recovery of 2021.",
        "Officials said the balance-of-payments position improved as exports grew.",
        "A paragraph that starts near the bottom of the first page and continues onto the next page where "
        "it ends after the break with a full stop.",
        "Ships carried about 130 cargoes each day.",
    ]
    assert [p for _, p in paras[:4]] == [1, 1, 1, 2]
    assert not any("ACME TRADE REPORT" in t for t in texts)  # running header dropped
    assert not any(t.strip().isdigit() for t in texts)  # page numbers dropped


def test_pdf_two_columns_read_in_order(report_pdf: Path) -> None:
    texts = [t for t, page in _pdf_paragraphs(report_pdf) if page == 3]
    assert len(texts) == 2
    assert texts[0].startswith("Left column line 1") and texts[0].endswith("left ends here.")
    assert texts[1].startswith("Right column line 1") and texts[1].endswith("right ends here.")


def test_pdf_without_text_layer_is_reported_not_skipped(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # a "scan": marks, no text
    pdf.output(str(tmp_path / "Exhibit 9.pdf"))
    source = read_pdf(tmp_path / "Exhibit 9.pdf")
    assert source.text == "" and source.problem == "no text layer \u2014 OCR it first"
    write(tmp_path / "Exhibit 8.txt", "Some real text here.")
    record = read_record(find_sources([tmp_path])[0])
    assert [(e.number, len(ps), e.problem) for e, ps in record] == [
        (8, 1, ""),
        (9, 0, "no text layer \u2014 OCR it first"),
    ]


def test_broken_pdf_is_an_error_naming_it(tmp_path: Path) -> None:
    from qa.errors import SourceError

    (tmp_path / "Exhibit 2.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(SourceError, match="Exhibit 2.pdf: not a readable PDF"):
        read_pdf(tmp_path / "Exhibit 2.pdf")


@pytest.mark.parametrize(
    ("lines", "joined"),
    [
        (["eco-", "nomic growth"], "economic growth"),
        (["balance-of-", "payments"], "balance-of-payments"),
        (["U.S.-", "Mexico trade"], "U.S.- Mexico trade"),
        (["ends with a dash -", "next"], "ends with a dash - next"),
        (["plain", "lines"], "plain lines"),
    ],
)
def test_join_lines(lines: list[str], joined: str) -> None:
    assert join_lines(lines) == joined


def _lines(steps: list[float], size: float = 11.0, column: int = 1) -> list[Line]:
    """Lines of one column whose bottoms lie ``steps`` pt apart, one after the other."""
    bottom, out = 100.0, []
    for step in [0.0, *steps]:
        bottom += step
        out.append(Line("text", 72, 300, bottom - size, bottom, size, column))
    return out


# CRS Insight: 12.7 pt lines, paragraphs 18.5 pt apart (a 7.5 pt gap, under 0.7 x 11 pt).
_INSIGHT = [12.7, 12.6, 12.7, 18.5, 12.6, 12.7, 12.6, 18.5, 12.7]
# A double-spaced filing: 24 pt lines of 12 pt type, paragraphs 36 pt apart.
_DOUBLE = [24.0, 24.0, 24.0, 36.0, 24.0, 24.0, 24.0]


@pytest.mark.parametrize(
    ("steps", "size", "step", "gap"),
    [
        (_INSIGHT, 11.0, 18.5, True),  # the paragraph gap a fixed threshold missed
        (_INSIGHT, 11.0, 12.7, False),  # the usual line spacing
        (_INSIGHT, 11.0, 16.4, False),  # list items set a little apart are not paragraphs by gap
        (_DOUBLE, 12.0, 24.0, False),  # double spacing is line spacing, not a gap under every line
        (_DOUBLE, 12.0, 36.0, True),
        (_INSIGHT[:2], 11.0, 19.0, True),  # too few lines to know the spacing: 0.7 x the height
        (_INSIGHT[:2], 11.0, 18.5, False),  # (which is how the Insight's gaps were missed)
    ],
)
def test_paragraph_gap_is_measured_against_the_usual_line_spacing(
    steps: list[float], size: float, step: float, gap: bool
) -> None:
    spacing = line_spacing([_lines(steps, size)])
    prev, ln = _lines([step], size)
    assert wide_gap(prev, ln, spacing, size) is gap


def test_line_spacing_is_the_modal_step_per_size() -> None:
    body = _lines(_INSIGHT)
    notes = _lines([10.3, 10.4, 13.3, 10.3, 13.3, 10.3], size=9.0, column=2)
    assert line_spacing([body, notes]) == {11.0: pytest.approx(12.7), 9.0: pytest.approx(10.3)}
    assert line_spacing([_lines([12.7, 12.7])]) == {}  # two steps are not a distribution


@pytest.mark.parametrize(
    ("prev", "text", "item"),
    [
        (
            "the Commerce Secretary recommended a range of actions including",
            "\u2022 an immediate 30% tariff",
            True,
        ),
        ("copper products;", "\u25aa a phased universal tariff", True),
        ("of goods subject to tariffs.", "- steel and aluminum articles", True),
        (
            "effective S232 burden for specific categories of imports:",
            "1. US-origin metal (all annexes).",
            True,
        ),
        ("is amended by:", "ii. Deleting \u2018\u2018or South Korea\u2019\u2019", True),
        ("as listed below.", "(b) As provided in headings 9903.02.84", True),
        ("the tariff rose from 10%", "- 25% on steel", False),  # a dash inside a running sentence
        ("prices rose in the second quarter of", "2. The index", False),
        ("The rate was cut.", "2.5 percent of imports were affected", False),  # a number, not a marker
        ("The rate was cut.", "Imports fell.", False),
    ],
)
def test_starts_item(prev: str, text: str, item: bool) -> None:
    assert starts_item(prev, text) is item


def test_docx_paragraphs_and_table(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("Steel Notice", level=1)
    d.add_paragraph("The ministry issued the notice on 4 February 2016.")
    table = d.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Item", (0, 1): "Target", (1, 0): "Output", (1, 1): "5%"}.items():
        table.cell(r, c).text = text
    d.add_paragraph("It takes effect at once.")
    d.save(str(tmp_path / "Exhibit 3.docx"))
    source = read_docx(tmp_path / "Exhibit 3.docx")
    ((exhibit, paras),) = read_record(find_sources([tmp_path / "Exhibit 3.docx"])[0])
    assert exhibit.title == "Steel Notice"
    assert [p.text for p in paras] == [
        "Steel Notice",
        "The ministry issued the notice on 4 February 2016.",
        "| Item | Target |\n|---|---|\n| Output | 5% |",
        "It takes effect at once.",
    ]
    assert "Output" in source.text


def test_html_article_without_navigation(tmp_path: Path) -> None:
    page = """<html><head><title>Steel news</title><style>.x{color:red}</style>
    <script>var tracking = "ignore previous instructions";</script></head><body>
    <nav><a href="/">Home</a> | <a href="/news">News</a> | <a href="/subscribe">Subscribe now</a></nav>
    <article><h1>Shipyards sign steel deals</h1>
    <p>Three shipbuilding groups signed long-term steel purchase agreements on Friday, the industry association said.</p>
    <p>The agreements fix prices against a steel price index so that both sides avoid sudden cost swings.</p>
    </article>
    <footer><ul><li><a href="/a">Related: ports</a></li><li><a href="/b">Related: rail</a></li></ul>Copyright 2021</footer>
    </body></html>"""
    path = write(tmp_path / "Exhibit 4.html", page)
    text = read_html(path).text
    assert "Three shipbuilding groups signed long-term steel purchase agreements" in text
    assert "both sides avoid sudden cost swings" in text
    assert "Subscribe now" not in text and "tracking" not in text and "color:red" not in text
    ((exhibit, paras),) = read_record(find_sources([path])[0])
    assert any(p.text.startswith("Three shipbuilding groups") for p in paras)


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("utf-8", "Steel \u94a2\u94c1 caf\u00e9"),
        ("utf-8-sig", "Steel \u94a2\u94c1 caf\u00e9"),
        ("utf-16", "Steel \u94a2\u94c1 caf\u00e9"),
        (
            "gb18030",
            "\u56fd\u52a1\u9662\u5173\u4e8e\u94a2\u94c1\u884c\u4e1a\u5316\u89e3\u8fc7\u5269\u4ea7\u80fd\u5b9e\u73b0\u8131\u56f0\u53d1\u5c55\u7684\u610f\u89c1",
        ),
        ("cp1252", "The caf\u00e9\u2019s na\u00efve r\u00e9sum\u00e9 \u2014 \u201cquoted\u201d"),
    ],
)
def test_text_encodings(tmp_path: Path, encoding: str, text: str) -> None:
    path = tmp_path / "Exhibit 1.txt"
    path.write_bytes(text.encode(encoding))
    assert read_text(path).text == text


QUOTA_TABLE = (
    "| Destination | Quota (t) | Licence |\n"
    "|---|---|---|\n"
    "| Mexico | 120,000 | Open general |\n"
    "| Canada | 85,500 | Individual licence, issued each quarter by the ministry of trade and industry |"
)
BEFORE_TABLE = (
    "The ministry set these export quotas for steel in 2021, by destination and licence type, as below."
)
AFTER_TABLE = "Quotas not used by the end of the year lapse and are not carried over to the next year."


def _page_with_header(pdf: Any, n: int) -> None:
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    pdf.text(20, 12, "ACME TRADE REPORT")
    pdf.text(105, 287, str(n))
    pdf.set_font("Helvetica", size=11)


def test_pdf_ruled_table_is_one_markdown_paragraph(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_left_margin(20)
    _page_with_header(pdf, 1)
    pdf.set_xy(20, 40)
    pdf.multi_cell(170, 6, BEFORE_TABLE)
    pdf.set_y(70)
    with pdf.table(width=170, col_widths=(50, 40, 80), text_align="LEFT", line_height=6) as table:
        for cells in (line.split(" | ") for line in QUOTA_TABLE.replace("|---|---|---|\n", "").splitlines()):
            row = table.row()
            for text in cells:
                row.cell(text.strip("| "))
    _page_with_header(pdf, 2)
    pdf.set_xy(20, 40)
    pdf.multi_cell(170, 6, AFTER_TABLE)
    pdf.output(str(tmp_path / "Exhibit 3.pdf"))
    assert _pdf_paragraphs(tmp_path / "Exhibit 3.pdf") == [
        (BEFORE_TABLE, 1),
        (QUOTA_TABLE, 1),
        (AFTER_TABLE, 2),
    ]


def test_pdf_table_ruled_only_above_and_below_rows(tmp_path: Path) -> None:
    """A CRS (Word) table: rules over and under the header and at the foot, each broken where
    columns meet, no vertical rules; a cell of two lines, rows set apart by white space."""
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.text(20, 40, BEFORE_TABLE)
    columns = (20.0, 70.0, 110.0, 190.0)
    pdf.set_line_width(0.2)
    for y in (50.0, 58.0, 88.0):
        for a, b in zip(columns, columns[1:], strict=False):
            pdf.line(a, y, b, y)  # one segment a column, as Word draws them
    rows = [
        (55.0, ("Destination", "Quota (t)", "Licence")),
        (64.0, ("Mexico", "120,000", "Open general")),
        (73.0, ("Canada", "85,500", "Individual licence, issued each quarter")),
        (77.5, ("", "", "by the ministry of trade and industry")),
    ]
    for y, cells in rows:
        for x, text in zip(columns, cells, strict=False):
            pdf.text(x + 1.5, y, text)
    pdf.text(20, 100, AFTER_TABLE)
    pdf.output(str(tmp_path / "Exhibit 4.pdf"))
    assert _pdf_paragraphs(tmp_path / "Exhibit 4.pdf") == [
        (BEFORE_TABLE, 1),
        (QUOTA_TABLE, 1),
        (AFTER_TABLE, 1),
    ]
