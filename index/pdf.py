"""PDF text layer -> blank-line separated blocks with page numbers (pdfplumber, MIT).

pdfplumber gives words with positions but no paragraphs, and its plain text runs two columns
together line by line; the layout logic here (columns, lines, paragraph gaps, running headers,
footnote markers, hyphenation) is what no library offers for reports like CRS's and the
Federal Register's, so it is written by hand as small functions over word boxes.

Tables (index/pdftables.py) are found first and their words taken out of the prose; each comes
back as one markdown-table block, placed in reading order like a line of its own.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.pdftables import Table, find_tables
from index.words import Word, join_lines, word_rows


@dataclass(frozen=True)
class Line:
    """A line of text in one column of one page."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    column: int
    table: bool = False  # text is a whole markdown table, never joined to the lines around it


def _is_superscript(word: Word, body_size: float, prev: Word | None) -> bool:
    # "about 130 each day.1", "the 119th": small type glued to the word before it.
    return word["size"] < 0.8 * body_size and prev is not None and abs(word["x0"] - prev["x1"]) < 1.5


def find_gutters(words: Sequence[Word], width: float) -> list[float]:
    """x of each vertical gap between text columns (none for one column).

    A gutter is where many rows have a wide gap between two words; rows that span the page
    (titles, tables) simply do not vote, so they cannot hide the columns.
    """
    if len(words) < 40:
        return []
    size = statistics.median(w["size"] for w in words)
    rows = word_rows(words)
    gaps = []
    for row in rows:
        gaps += [
            (a["x1"], b["x0"])
            for a, b in zip(row, row[1:], strict=False)
            if b["x0"] - a["x1"] >= max(5.0, 0.7 * size)
        ]
    lo, hi = int(width * 0.15), int(width * 0.85)
    votes = [sum(1 for g0, g1 in gaps if g0 < x < g1) for x in range(lo, hi)]
    need = max(5, 0.2 * len(rows))
    gutters: list[tuple[float, int]] = []  # (x, votes)
    x = 0
    while x < len(votes):
        if votes[x] >= need:
            end = x
            while end + 1 < len(votes) and votes[end + 1] >= need:
                end += 1
            peak = max(votes[x : end + 1])
            best = [i for i in range(x, end + 1) if votes[i] == peak]
            mid = lo + (best[0] + best[-1]) / 2
            left = sum(1 for w in words if w["x1"] <= mid)
            right = sum(1 for w in words if w["x0"] >= mid)
            if min(left, right) > 0.15 * len(words):
                gutters.append((mid, peak))
            x = end + 1
        else:
            x += 1
    # Text columns are wide; a narrow "column" is a table's column of codes or dates.
    left_edge = min(w["x0"] for w in words)
    right_edge = max(w["x1"] for w in words)
    while gutters:
        edges = [left_edge, *(g for g, _ in gutters), right_edge]
        widths = [b - a for a, b in zip(edges, edges[1:], strict=False)]
        narrow = min(range(len(widths)), key=widths.__getitem__)
        if widths[narrow] >= 0.22 * width:
            break
        neighbours = [i for i in (narrow - 1, narrow) if 0 <= i < len(gutters)]
        gutters.pop(min(neighbours, key=lambda i: gutters[i][1]))
    return [g for g, _ in gutters]


def _gaps_at(words: Sequence[Word], x: float, size: float) -> int:
    """How many rows have a gap between two words (wider than a space) across ``x``."""
    return sum(
        any(
            a["x1"] < x < b["x0"] and b["x0"] - a["x1"] >= max(5.0, 0.7 * size)
            for a, b in zip(row, row[1:], strict=False)
        )
        for row in word_rows(words)
    )


def page_lines(words: Sequence[Word], width: float, tables: Sequence[Table] = ()) -> list[Line]:
    """Words grouped into lines, column by column, in reading order; each table is one line."""
    upright = [w for w in words if w.get("upright", True)]  # rotated margin print is not text
    words = [w for w in upright if not any(t.holds(w) for t in tables)]
    if not words:
        return [_table_line(t, []) for t in sorted(tables, key=lambda t: t.top)]
    body_size = statistics.median(w["size"] for w in words)
    if tables:
        # A few lines of prose between tables are too few to find columns by; the whole page
        # finds them, and a gutter only a table's columns voted for is dropped.
        gutters = [g for g in find_gutters(upright, width) if _gaps_at(words, g, body_size) >= 2]
    else:
        gutters = find_gutters(words, width)
    kept: list[Word] = []
    # Row by row: a raised marker's top can round apart from its line's (175.8 vs 176.5 pt), so
    # sorting by rounded top would put it before the word it is glued to and keep it as text.
    for row in word_rows(words):
        start = len(kept)
        for w in row:
            prev = kept[-1] if len(kept) > start else None
            if _is_superscript(w, body_size, prev):
                if not w["text"].isdigit() and prev is not None:  # 119th: keep the ordinal
                    kept[-1] = {**prev, "text": prev["text"] + w["text"], "x1": w["x1"]}
                continue  # footnote markers are not text
            kept.append(w)

    lines: list[Line] = []
    for row in word_rows(kept):
        spans = any(w["x0"] < g - 3 and w["x1"] > g + 3 for w in row for g in gutters)
        parts: dict[int, list[Word]] = {}
        for w in row:
            center = (w["x0"] + w["x1"]) / 2
            col = 0 if not gutters or spans else 1 + sum(1 for g in gutters if center > g)
            parts.setdefault(col, []).append(w)
        for col, ws in parts.items():
            ws.sort(key=lambda w: w["x0"])
            lines.append(
                Line(
                    text=" ".join(w["text"] for w in ws),
                    x0=ws[0]["x0"],
                    x1=ws[-1]["x1"],
                    top=min(w["top"] for w in ws),
                    bottom=max(w["bottom"] for w in ws),
                    size=statistics.median(w["size"] for w in ws),
                    column=col,
                )
            )
    lines += [_table_line(t, gutters) for t in tables]
    # Full-width lines (column 0) cut the page into bands; each band reads left then right.
    lines.sort(key=lambda ln: ln.top)
    out: list[Line] = []
    band: list[Line] = []
    for ln in lines:
        if ln.column == 0 and gutters:
            out.extend(sorted(band, key=lambda b: (b.column, b.top)))
            band = []
            out.append(ln)
        else:
            band.append(ln)
    out.extend(sorted(band, key=lambda b: (b.column, b.top)))
    return out


def _table_line(t: Table, gutters: Sequence[float]) -> Line:
    # A table across a gutter cuts the page like a full-width title; one inside a column is read
    # with that column.
    center = (t.x0 + t.x1) / 2
    spans = any(t.x0 < g - 3 and t.x1 > g + 3 for g in gutters)
    col = 0 if not gutters or spans else 1 + sum(1 for g in gutters if center > g)
    return Line(t.markdown(), t.x0, t.x1, t.top, t.bottom, 0.0, col, table=True)


def _margin_key(text: str) -> str:
    # Page numbers (arabic or roman) differ from page to page; the rest of a running line does not.
    return " ".join(re.sub(r"\b(?:\d+|[ivxlc]+)\b", " ", text.strip().lower()).split())


def repeated_margin_lines(pages: Sequence[Sequence[Line]], heights: Sequence[float]) -> set[str]:
    """Running headers and footers: margin lines that recur (digits aside) on most pages."""
    if len(pages) < 2:
        return set()
    counts: Counter[str] = Counter()
    for lines, h in zip(pages, heights, strict=True):
        counts.update(
            {
                _margin_key(ln.text)
                for ln in lines
                if not ln.table and (ln.top < h * 0.1 or ln.bottom > h * 0.9)
            }
        )
    return {k for k, n in counts.items() if n >= max(2, len(pages) // 2)}


# Paragraph gaps are measured against the document's own line spacing, not a fixed fraction of
# the line height: CRS Insights set paragraphs 18.5 pt apart on 12.7 pt lines (a 7.5 pt gap, under
# a fixed "0.7 x height" rule), In Focus sheets 22 pt on 11 pt, and a double-spaced filing would
# pass that rule under every line. What holds across layouts is that a paragraph gap is clearly
# more than the spacing most lines of that size have.
_GAP_OVER_SPACING = 0.4  # x font size. On record2, lines of a paragraph, unruled table rows,
# contents entries and footnote-to-footnote steps sit at most 0.35 over the usual spacing, CRS
# paragraph gaps 0.45 and more; list items (0.22-0.43) are found by their markers instead.


def _size_key(size: float) -> float:
    return round(size * 2) / 2  # 11.04 and 10.98 pt are one size


def _same_flow(a: Line, b: Line) -> bool:
    """Consecutive lines of one column, text not tables, in about the same type size."""
    return not (a.table or b.table) and a.column == b.column and abs(a.size - b.size) <= 0.9


def line_spacing(pages: Sequence[Sequence[Line]]) -> dict[float, float]:
    """Usual baseline-to-baseline distance per font size (key: size to 0.5 pt), over a document.

    The modal distance is the line spacing: most consecutive lines are inside a paragraph. A
    size with fewer than 4 measured steps (titles, captions) has no entry; measured over the whole
    document because one page may hold only a few lines of a size (footnotes, a short last page).
    """
    steps: dict[float, list[float]] = {}
    for lines in pages:
        for a, b in zip(lines, lines[1:], strict=False):
            step = b.bottom - a.bottom  # bottoms, as baselines, are at the same place in a line
            if _same_flow(a, b) and 0 < step < 3 * a.size:
                steps.setdefault(_size_key(a.size), []).append(step)
    out: dict[float, float] = {}
    for key, ds in steps.items():
        if len(ds) < 4:
            continue
        bins = Counter(round(d * 2) / 2 for d in ds)
        mode = max(bins, key=lambda b: (bins[b], -b))  # a tie: the tighter spacing
        out[key] = statistics.median(d for d in ds if abs(d - mode) <= 0.5)
    return out


def wide_gap(prev: Line, ln: Line, spacing: dict[float, float], lh: float) -> bool:
    """Whether the space above ``ln`` is a paragraph gap (see ``_GAP_OVER_SPACING``)."""
    # Of the two sizes, the tighter known spacing: a caption in 9.5 pt over 9 pt table text is
    # judged by the 9 pt lines, which are many, not by the few caption-to-text steps.
    known = [spacing[k] for k in {_size_key(prev.size), _size_key(ln.size)} if k in spacing]
    usual = min(known, default=None)
    if usual is None:  # a size too rare to know its spacing: a fixed share of the line height
        return ln.top - prev.bottom > 0.7 * lh
    return ln.bottom - prev.bottom > usual + _GAP_OVER_SPACING * prev.size


# A list item's first line. Bullet glyphs never start a line in running text; a dash or a number
# can ("... pp. 37", "- 38."), so those count only after a line that ended a sentence.
_BULLET_RE = re.compile(r"[\u2022\u25aa\u25cf\u25a0\u25e6\u2023\u25ab\u25a1\u27a2\uf0b7]\s*\S")
_MARKER_RE = re.compile(r"(?:[-\u2013\u2014]|\(?(?:\d{1,2}|[a-z]|[ivx]{1,4})[.)])\s+\S")


def starts_item(prev_text: str, text: str) -> bool:
    """Whether a line opens a bulleted or numbered item (a new block) after the line ``prev_text``."""
    text = text.lstrip()
    if _BULLET_RE.match(text):
        return True
    ended = prev_text.rstrip().rstrip("\"'\u201d\u2019)]")[-1:] in set(".!?:;")
    return ended and bool(_MARKER_RE.match(text))


def lines_to_blocks(lines: Sequence[Line], spacing: dict[float, float] | None = None) -> list[str]:
    """Paragraph blocks: a new one at a column change, a paragraph gap (against ``spacing``, by
    default this page's own), a size change or a bulleted or numbered item."""
    if not lines:
        return []
    if spacing is None:
        spacing = line_spacing([lines])
    heights = [ln.bottom - ln.top for ln in lines if ln.bottom > ln.top and not ln.table]
    lh = statistics.median(heights) if heights else 10.0
    blocks: list[list[Line]] = [[lines[0]]]
    for prev, ln in zip(lines, lines[1:], strict=False):
        new = (
            ln.table
            or prev.table
            or ln.column != prev.column
            or ln.top - prev.bottom < -lh  # moved up: a new column or band
            or abs(ln.size - prev.size) > 0.9
            or wide_gap(prev, ln, spacing, lh)
            or starts_item(prev.text, ln.text)
        )
        if new:
            blocks.append([ln])
        else:
            blocks[-1].append(ln)
    return [b[0].text if b[0].table else join_lines([ln.text for ln in b]) for b in blocks]


def read_pdf_pages(path: Path) -> list[list[str]]:
    """Each page's paragraph blocks, running headers, footers and page numbers removed."""
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        raw = []
        heights = []
        for page in pdf.pages:
            words = page.extract_words(
                extra_attrs=["size", "upright"], keep_blank_chars=False, use_text_flow=False
            )
            tables = find_tables(page, [w for w in words if w.get("upright", True)])
            raw.append(page_lines(words, float(page.width), tables))
            heights.append(float(page.height))
    furniture = repeated_margin_lines(raw, heights)
    kept_pages = []
    for lines, h in zip(raw, heights, strict=True):
        kept = [
            ln
            for ln in lines
            if ln.table
            or not (
                (ln.top < h * 0.1 or ln.bottom > h * 0.9)
                and (
                    _margin_key(ln.text) in furniture
                    or re.fullmatch(r"(?:page\s*)?\d{1,4}", ln.text.strip(), re.I)
                )
            )
        ]
        kept_pages.append(kept)
    spacing = line_spacing(kept_pages)  # the document's, so a page with few lines is judged alike
    return [lines_to_blocks(kept, spacing) for kept in kept_pages]
