"""Pure text helpers for answering: sentences and terms."""

from __future__ import annotations

import re
from functools import lru_cache

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Words whose trailing period is not the end of a sentence.
_ABBREVIATIONS = frozenset(
    "u.s u.k e.u p.r.c no nos art arts sec para paras vol fig figs e.g i.e etc mr mrs ms dr prof "
    "inc co corp ltd jan feb mar apr jun jul aug sep sept oct nov dec st vs cf al approx".split()
)
_BOUNDARY_RE = re.compile(
    r"[.!?][\"'\u201d\u2019)\]*]*(?=\s+[\"'\u201c\u2018(\[*]*[A-Z0-9\u4e00-\u9fff])"
    r"|[\u3002\uff01\uff1f\uff1b][\u201d\u300d\uff09]*"
)

STOPWORDS = frozenset(
    "a about above according after again against all also am an and any are as at be because been "
    "before being below between both but by can could did do does doing down during each few for "
    "from further had has have having he her here hers him his how i if in into is it its itself "
    "just me more most my no nor not now of off on once only or other our out over own same she "
    "should so some such than that the their them then there these they this those through to too "
    "under until up very was we were what when where which while who whom why will with would you "
    "your yours exhibit exhibits ex record say says said according describe described mention "
    "mentioned document documents give given tell per".split()
)


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph, each a verbatim substring of it; table rows count as sentences."""
    if text.lstrip().startswith("|"):
        return [row.strip() for row in text.splitlines() if re.search(rf"[0-9A-Za-z{_CJK}]", row)]
    out: list[str] = []
    start = 0
    for m in _BOUNDARY_RE.finditer(text):
        if m.group(0)[0] == ".":
            before = re.findall(r"(\S+)$", text[start : m.start()])
            word = before[0].strip("\"'(\u201c").lower() if before else ""
            if word in _ABBREVIATIONS or re.fullmatch(r"[a-z]|(?:[a-z]\.)+[a-z]", word):
                continue  # "U.S. Trade", "No. 6", "J. Smith": not a sentence end
        if text[start : m.end()].strip():
            out.append(text[start : m.end()].strip())
        start = m.end()
    if text[start:].strip():
        out.append(text[start:].strip())
    return out


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def terms(text: str) -> list[str]:
    """Content terms: stemmed lower-case English words and numbers, and single Chinese characters."""
    words = re.findall(
        rf"[{_CJK}]|\b[A-Za-z]&[A-Za-z]\b|[A-Za-z]+(?:['\u2019][A-Za-z]+)*|\d+(?:[.,]\d+)*", text
    )
    out = []
    for w in words:
        lw = w.lower().replace("\u2019", "'")
        if re.match(rf"[{_CJK}]", w):
            out.append(w)
        elif lw not in STOPWORDS and (len(lw) > 1 or lw.isdigit()):
            out.append(_stemmer().stemWord(lw.removesuffix("'s")))
    return out


def shorten(text: str, limit: int = 160) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis (for user notes)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
