"""Section headings: the nearest heading above each paragraph, for display and retrieval.

A paragraph like "Both exhibits agree." says little on its own; prefixed with its section
("1. General requirements › (2) Basic principles") it can be found by what the section is about.
The stored paragraph text, and so every quote, stays verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_LEVEL2 = re.compile(
    rf"^\s*(?:\(\d{{1,2}}\)|（[一二三四五六七八九十]{{1,3}}）|\([{_CJK}]{{1,3}}\)|[a-z]\.|\([a-z]\))\s*"
)
_LEVEL1 = re.compile(
    rf"^\s*(?:#+\s|\d{{1,2}}\.\s|[一二三四五六七八九十]{{1,3}}、|第[{_CJK}\d]{{1,4}}[章节部分]|(?:Article|Section|Chapter|Part)\s+[\dIVX]+)"
)


def _short(text: str) -> bool:
    return len(re.findall(r"[A-Za-z0-9]+", text)) <= 12 and len(re.findall(f"[{_CJK}]", text)) <= 30


def heading_level(text: str) -> int:
    """1 or 2 for a heading paragraph (by its marker or its look), 0 for body text."""
    t = text.strip()
    if not t or t.startswith("|") or "\n" in t or not _short(t):
        return 0
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", t)
    ends = bool(re.search(r"[.!?。！？;；]\s*$", t))
    marked = _LEVEL2.match(t) or _LEVEL1.match(t)
    if ends and not (marked and len(words) <= 6):  # "(2) Basic principles." is still a heading
        return 0
    if _LEVEL2.match(t):
        return 2
    if _LEVEL1.match(t):
        return 1
    letters = re.sub(r"[^A-Za-z]", "", t)
    if len(letters) >= 6 and letters.isupper():
        return 1  # "STATE-OWNED ENTERPRISES"
    if re.fullmatch(r"\*\*[^*]+\*\*", t):
        return 1
    long_words = [w for w in words if len(w) > 3]
    if (
        long_words
        and t[0].isalpha()  # not a dateline "2022-05-05 ... Source:" nor "[Caixin.com] ..."
        and ":" not in t
        and len(words) <= 8
        and not re.search(r"\d\s*$", t)  # "Trade Secrets 44" is a table-of-contents line
        and sum(w[0].isupper() for w in long_words) >= 0.6 * len(long_words)
    ):
        return 2  # "Industrial Subsidies"
    return 0


def section_headings(paragraphs: Sequence[str]) -> list[str]:
    """For each paragraph, the headings it sits under ("A › B"), or "" before the first."""
    levels: dict[int, str] = {}
    out = []
    for text in paragraphs:
        level = heading_level(text)
        if level:
            levels[level] = text.strip().strip("*# ").strip()
            if level == 1:
                levels.pop(2, None)
        # A heading's own context is the section above it, not itself.
        above = {k: v for k, v in levels.items() if not level or k < level}
        out.append(" \u203a ".join(above[k] for k in sorted(above)))
    return out
