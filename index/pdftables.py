"""Tables on a PDF page -> rows of cells, emitted as markdown tables (see ``Table.markdown``).

Two kinds of table occur in the exhibits:

* closed grids, ruled round every cell (fpdf2, LibreOffice, most forms): pdfplumber's own finder
  (``find_tables`` with the "lines" strategy) finds and reads them;
* open tables, ruled only in part: CRS (Word) tables have horizontal rules above and below the
  header and at the foot, each broken where two columns meet; Federal Register tables rule the
  columns with vertical lines and box the header, with no outer border and no rules between rows.
  pdfplumber's "lines" strategy needs closed cells and finds none of these, and its "text"
  strategy (tried on data/record2) cuts words in two and sets column edges inside cells, so they
  are found here from the rules themselves: a run of horizontal rules of one width, columns where
  the rules break or a vertical rule stands, and no word lying across a column edge (which is what
  tells a table apart from the prose between two tables of the same width).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from index.words import Word, join_lines, word_rows

_TOL = 3.0  # pt: rules this close in x (or y) are the same edge
_LEADER_RE = re.compile(r"\s*\.{3,}")  # dot leaders: "Agar-agar ........ Pharma."


@dataclass(frozen=True)
class Table:
    """A table's box on the page and its cells; ``rows[0]`` is the header (all empty when the
    table continues one broken at the page before, which is how segment.py knows to join them)."""

    x0: float
    x1: float
    top: float
    bottom: float
    rows: tuple[tuple[str, ...], ...]

    def holds(self, w: Word) -> bool:
        cx, cy = (w["x0"] + w["x1"]) / 2, (w["top"] + w["bottom"]) / 2
        return self.x0 - 1 <= cx <= self.x1 + 1 and self.top - 1 <= cy <= self.bottom + 1

    def markdown(self) -> str:
        def row(cells: Sequence[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        header, *body = self.rows
        return "\n".join([row(header), "|" + "---|" * len(header), *(row(r) for r in body)])


@dataclass(frozen=True)
class _Rule:
    """A horizontal rule; ``breaks`` are the x where its drawn segments meet (column edges)."""

    x0: float
    x1: float
    y: float
    breaks: tuple[float, ...] = ()


@dataclass(frozen=True)
class _VRule:
    x: float
    top: float
    bottom: float


def _clean(lines: Sequence[str]) -> str:
    return " ".join(_LEADER_RE.sub(" ", join_lines(lines)).split())


def _make_table(x0: float, x1: float, top: float, bottom: float, rows: list[list[str]]) -> Table | None:
    """Drop empty rows and columns; None unless two columns and two rows are left (a text box
    drawn as a grid of one column, or a lone header, is not a table)."""
    keep = [j for j in range(len(rows[0])) if any(r[j] for r in rows)] if rows else []
    body = [r for r in rows[1:] if any(r[j] for j in keep)]
    if len(keep) < 2 or not body:
        return None
    return Table(x0, x1, top, bottom, tuple(tuple(r[j] for j in keep) for r in [rows[0], *body]))


def grid_tables(page: Any) -> list[Table]:
    """Tables ruled round every cell, by pdfplumber's finder."""
    out = []
    for t in page.find_tables({"vertical_strategy": "lines", "horizontal_strategy": "lines"}):
        rows = [[_clean((c or "").split("\n")) for c in r] for r in t.extract()]
        x0, top, x1, bottom = (float(v) for v in t.bbox)
        table = _make_table(x0, x1, top, bottom, rows)
        if table:
            out.append(table)
    return out


def _merge(spans: list[tuple[float, float, float]], gap: float) -> list[list[tuple[float, float, float]]]:
    """Collinear segments (pos, start, end) sorted along the line, grouped where they touch."""
    groups: list[list[tuple[float, float, float]]] = []
    for s in sorted(spans):
        g = groups[-1] if groups else None
        if g and abs(g[-1][0] - s[0]) <= 1 and s[1] <= max(e for _, _, e in g) + gap:
            g.append(s)
        else:
            groups.append([s])
    return groups


def _rules(page: Any) -> tuple[list[_Rule], list[_VRule]]:
    objs = [*page.rects, *page.lines]
    flat = [o for o in objs if o["bottom"] - o["top"] <= 2]
    tall = [o for o in objs if o["x1"] - o["x0"] <= 2 and o["bottom"] - o["top"] > 2]
    hrules = []
    for g in _merge([(round((o["top"] + o["bottom"]) / 2), o["x0"], o["x1"]) for o in flat], 2):
        g.sort(key=lambda s: s[1])
        breaks: list[float] = []
        end = None  # where the last long segment ended; the tiny squares at joins do not count
        for _, a, b in g:
            if b - a < 4:
                continue
            if end is not None and a >= end - 1.5:
                breaks.append((end + a) / 2)
            end = b if end is None else max(end, b)
        hrules.append(_Rule(min(s[1] for s in g), max(s[2] for s in g), float(g[0][0]), tuple(breaks)))
    vrules = [
        _VRule(float(g[0][0]), min(s[1] for s in g), max(s[2] for s in g))
        for g in _merge([(round((o["x0"] + o["x1"]) / 2), o["top"], o["bottom"]) for o in tall], 2)
    ]
    return sorted(hrules, key=lambda r: r.y), vrules


def _crosses(w: Word, x: float) -> bool:
    return bool(w["x0"] < x - 1.5 and w["x1"] > x + 1.5)


def _edges(xs: Sequence[float]) -> list[float]:
    out: list[float] = []
    for x in sorted(xs):
        if out and x - out[-1] <= _TOL:
            continue
        out.append(x)
    return out


def _column(w: Word, cols: Sequence[float]) -> int:
    cx = (w["x0"] + w["x1"]) / 2
    return sum(1 for c in cols[1:-1] if cx > c)


def _bold(page: Any, words: Sequence[Word]) -> bool:
    top, bottom = min(w["top"] for w in words), max(w["bottom"] for w in words)
    x0, x1 = min(w["x0"] for w in words), max(w["x1"] for w in words)
    fonts = [
        c.get("fontname", "")
        for c in page.chars
        if top <= c["top"] and c["bottom"] <= bottom and x0 <= c["x0"] and c["x1"] <= x1 and c["text"].strip()
    ]
    return sum("bold" in f.lower() for f in fonts) > len(fonts) / 2


def _header_row(words: Sequence[Word], cols: Sequence[float], rules: Sequence[_Rule]) -> list[str]:
    """One row from all the header's lines. A label set over a short rule ("Rates of duty" over
    General and Special; "FY2020" over three columns) belongs to every column that rule spans."""
    cells: list[list[str]] = [[] for _ in cols[:-1]]
    for line in word_rows(words):
        bottom = max(w["bottom"] for w in line)
        parts: dict[tuple[int, ...], list[str]] = {}
        for w in line:
            under = [
                r
                for r in rules
                if 0 <= r.y - bottom <= 6 and r.x0 - _TOL <= w["x0"] and w["x1"] <= r.x1 + _TOL
            ]
            span = tuple(
                i
                for i in range(len(cols) - 1)
                if under and under[0].x0 - _TOL <= (cols[i] + cols[i + 1]) / 2 <= under[0].x1 + _TOL
            ) or (_column(w, cols),)
            parts.setdefault(span, []).append(w["text"])
        for span, texts in parts.items():
            for i in span:
                cells[i].append(" ".join(texts))
    return [_clean(c) for c in cells]


def _body_rows(words: Sequence[Word], cols: Sequence[float], one_row: bool) -> list[list[str]]:
    """Rows of a band of lines. Where rows stand apart (CRS: 7 pt between rows, 1.4 within a cell)
    a wide gap starts a row; where every line is evenly spaced (Federal Register) a line with text
    in the first column starts one, and lines without continue the row above."""
    lines = word_rows(words)
    if not lines:
        return []
    height = statistics.median(w["bottom"] - w["top"] for w in words)
    gaps = [
        min(w["top"] for w in b) - max(w["bottom"] for w in a) for a, b in zip(lines, lines[1:], strict=False)
    ]
    spaced = any(g > 0.4 * height for g in gaps)
    rows: list[list[list[str]]] = []
    for i, line in enumerate(lines):
        by_col: dict[int, list[str]] = {}
        for w in line:
            by_col.setdefault(_column(w, cols), []).append(w["text"])
        starts = not rows or (not one_row and (gaps[i - 1] > 0.4 * height if spaced else 0 in by_col))
        if starts:
            rows.append([[] for _ in cols[:-1]])
        for c, texts in by_col.items():
            rows[-1][c].append(" ".join(texts))
    return [[_clean(c) for c in r] for r in rows]


def open_tables(words: Sequence[Word], page: Any) -> list[Table]:
    """Tables ruled only in part (see the module doc), found from the page's rules."""
    hrules, vrules = _rules(page)
    wide = [r for r in hrules if r.x1 - r.x0 >= 60]
    seen: set[int] = set()
    out = []
    for i, first in enumerate(wide):
        if i in seen:
            continue
        family = [
            j for j, r in enumerate(wide) if abs(r.x0 - first.x0) <= _TOL and abs(r.x1 - first.x1) <= _TOL
        ]
        seen.update(family)
        rules = [wide[j] for j in family]
        x0, x1 = min(r.x0 for r in rules), max(r.x1 for r in rules)
        inner = [v for v in vrules if x0 + _TOL < v.x < x1 - _TOL]
        # Bands between successive rules, and below the last one while column rules go on.
        spans = [(a.y, b.y, a) for a, b in zip(rules, rules[1:], strict=False)]
        below = [v.bottom for v in inner if v.top <= rules[-1].y + _TOL and v.bottom > rules[-1].y + 10]
        if below:
            spans.append((rules[-1].y, max(below), rules[-1]))
        runs: list[list[tuple[float, float, list[Word]]]] = [[]]
        for top, bottom, upper in spans:
            band = [
                w
                for w in words
                if x0 <= (w["x0"] + w["x1"]) / 2 <= x1 and top < (w["top"] + w["bottom"]) / 2 < bottom
            ]
            if not band:
                continue  # a doubled rule, or the gap between a running head's two rules
            edges = [*upper.breaks, *(v.x for v in inner if v.top < bottom - 1 and v.bottom > top + 1)]
            ok = (
                bool(edges)
                and not any(
                    _crosses(w, v.x) and v.top < w["bottom"] and v.bottom > w["top"]
                    for w in band
                    for v in inner
                )
                and not any(_crosses(w, x) for w in band for x in upper.breaks)
                # A band of one column only goes on a table already begun (a row with one cell).
                and (bool(runs[-1]) or len({_column(w, [x0, *_edges(edges), x1]) for w in band}) >= 2)
            )
            if ok:
                runs[-1].append((top, bottom, band))
            elif runs[-1]:
                runs.append([])
        for run in runs:
            if not run:
                continue
            top, bottom = run[0][0], run[-1][1]
            used = [r for r in rules if top - 1 <= r.y <= bottom + 1]
            cols = [
                x0,
                *_edges(
                    [
                        *(b for r in used for b in r.breaks),
                        *(v.x for v in inner if v.top < bottom - 1 and v.bottom > top + 1),
                    ]
                ),
                x1,
            ]
            # A first band under its own rule is the header, unless it is all the table has (the
            # table goes on from the page before, whose header is not repeated) or, where a rule
            # runs under every row, it is set like the rest (the header of such tables is bold).
            rows: list[list[str]] = []
            if len(run) == 2 or (len(run) > 2 and _bold(page, run[0][2]) and not _bold(page, run[1][2])):
                short = [r for r in hrules if run[0][0] < r.y < run[0][1]]
                rows.append(_header_row(run[0][2], cols, short))
                run = run[1:]
            else:
                rows.append(["" for _ in cols[:-1]])
            for _, _, band in run:
                rows += _body_rows(band, cols, one_row=len(run) >= 2)
            table = _make_table(x0, x1, top, bottom, rows)
            if table:
                out.append(table)
    return out


# A tariff (HTS) number, 0106.14.00; the list it ends may be quoted: ‘‘0106.14.00 ... 8112.59.00’’.
_CODE_RE = re.compile(r"[\u2018\u201c'\"]*\d{4}(?:\.\d{2}){1,3}[\u2019\u201d'\",.;]*")


def code_grids(words: Sequence[Word]) -> list[Table]:
    """Unruled grids of tariff numbers (the Federal Register prints the lists in an annex six
    across, under prose set in three columns): three or more lines in a row made only of such
    numbers, two or more a line. No rule marks them, so no finder sees them, and read as prose they
    interleave with the columns around them. Emitted with an empty header, so a grid broken by a
    page continues as one table."""
    out = []
    run: list[list[Word]] = []
    for line in [*word_rows(words), []]:
        codes = len(line) >= 2 and all(_CODE_RE.fullmatch(w["text"]) for w in line)
        if codes and run and min(w["top"] for w in line) - max(w["bottom"] for w in run[-1]) < 8:
            run.append(line)
            continue
        if len(run) >= 3:
            starts = _edges([w["x0"] for ln in run for w in ln])
            cols = [*starts, max(w["x1"] for ln in run for w in ln)]
            rows = [["" for _ in starts]]
            for ln in run:
                rows.append(["" for _ in starts])
                for w in ln:
                    rows[-1][_column(w, cols)] = w["text"]
            top, bottom = min(w["top"] for w in run[0]), max(w["bottom"] for w in run[-1])
            out.append(Table(cols[0], cols[-1], top, bottom, tuple(tuple(r) for r in rows)))
        run = [line] if codes else []
    return out


def find_tables(page: Any, words: Sequence[Word]) -> list[Table]:
    """All tables on a page, top to bottom; where two finders claim one spot the larger box wins
    (pdfplumber can close a grid inside an open table, e.g. between its column rules)."""
    found = sorted(
        [*open_tables(words, page), *grid_tables(page), *code_grids(words)],
        key=lambda t: (t.x1 - t.x0) * (t.bottom - t.top),
        reverse=True,
    )
    kept: list[Table] = []
    for t in found:
        if not any(t.x0 < k.x1 and k.x0 < t.x1 and t.top < k.bottom and k.top < t.bottom for k in kept):
            kept.append(t)
    return sorted(kept, key=lambda t: t.top)
