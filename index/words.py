"""Word boxes from a PDF page, grouped into rows, and lines of text joined into a paragraph:
the pieces the prose layout (index/pdf.py) and the table finder (index/pdftables.py) share."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

Word = dict[str, Any]  # pdfplumber word: text, x0, x1, top, bottom, size


def word_rows(words: Sequence[Word]) -> list[list[Word]]:
    """Words sharing a baseline (within 2.5 pt), top to bottom, each row left to right."""
    rows: list[list[Word]] = []
    for w in sorted(words, key=lambda w: w["top"]):
        if rows and abs(rows[-1][0]["top"] - w["top"]) <= 2.5:
            rows[-1].append(w)
        else:
            rows.append([w])
    return [sorted(r, key=lambda w: w["x0"]) for r in rows]


def join_lines(lines: Sequence[str]) -> str:
    """Lines of one paragraph joined; a word hyphenated at a line end is mended.

    "eco-" + "nomic" -> "economic", but "balance-of-" + "payments" -> "balance-of-payments"
    (a compound already hyphenated keeps its hyphen) and "U.S.-" + "Mexico" keeps it too.
    """
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if re.search(r"[A-Za-z]-$", out) and line[:1].islower():
            last = out.split()[-1] if out.split() else ""
            out = out + line if "-" in last[:-1] else out[:-1] + line
        else:
            out = f"{out} {line}" if out else line
    return out
