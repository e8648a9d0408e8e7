"""Pin cites: rendering, parsing, quote normalisation and verification."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from qa.types import Citation, Paragraph

# Canonical form is ``[Ex. 61 ¶ 12]``; parsing also takes the spellings people and models write.
CITE_RE = re.compile(
    r"\[\s*(?:Ex(?:hibit|h)?\.?)\s*(\d{1,5})\s*,?\s*(?:\u00b6|\u00b6\u00b6|para(?:graph)?\.?|p\.)\s*(\d{1,5})"
    r"\s*(?:\((?:Chinese )?original\))?\s*\]",
    re.IGNORECASE,
)

_QUOTE_MAP = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u300c": '"',
        "\u300d": '"',
        # Single and double quotes compare equal: models swap one for the other when they
        # quote inside a JSON string, and the words are what must match.
        "'": '"',
        "\u2018": '"',
        "\u2019": '"',
        "\u201a": '"',
        "\u2032": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u3000": " ",
    }
)
_CJK_GAP_RE = re.compile(
    r"(?<=[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef])\s+(?=[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef])"
)


def render(exhibit: int, paragraph: int, original: bool = False) -> str:
    """The canonical pin cite, e.g. ``[Ex. 61 ¶ 12]`` or ``[Ex. 64 ¶ 71 (Chinese original)]``."""
    return Citation(exhibit, paragraph, "", original=original).render()


def parse(text: str) -> list[tuple[int, int]]:
    """Every pin cite in ``text`` as (exhibit, paragraph), in order of appearance."""
    return [(int(m.group(1)), int(m.group(2))) for m in CITE_RE.finditer(text)]


def normalize(text: str) -> str:
    """Text as compared for verbatim quotes: NFKC, straight quotes and dashes, no markdown
    emphasis or table pipes, whitespace collapsed (and removed between Chinese characters)."""
    t = unicodedata.normalize("NFKC", text).translate(_QUOTE_MAP)
    t = t.replace("**", "").replace("__", "").replace("|", " ")
    t = re.sub(r"\s+", " ", t).strip()
    return _CJK_GAP_RE.sub("", t)


def quote_in(quote: str, text: str) -> bool:
    """True when ``quote`` appears verbatim in ``text`` after normalisation."""
    q = normalize(quote)
    return bool(q) and q in normalize(text)


def verify(
    citations: Iterable[Citation], retrieved: Mapping[tuple[int, int], Paragraph]
) -> tuple[list[Citation], list[tuple[Citation, str]]]:
    """Split ``citations`` into verified ones and dropped ones with the reason.

    A cite survives only if it points at a retrieved paragraph and its quote is in that paragraph.
    """
    kept: list[Citation] = []
    dropped: list[tuple[Citation, str]] = []
    for c in citations:
        para = retrieved.get((c.exhibit, c.paragraph))
        if para is None:
            dropped.append((c, "cites a paragraph that was not retrieved"))
        elif not quote_in(c.quote, para.text):
            dropped.append((c, "quote is not in the cited paragraph"))
        else:
            kept.append(Citation(c.exhibit, c.paragraph, c.quote, verified=True, original=para.lang == "zh"))
    return kept, dropped


def remove_cites(text: str, dropped: Iterable[tuple[int, int]]) -> str:
    """``text`` without the dropped cites; a line left with no cite of its own goes too."""
    gone = set(dropped)
    if not gone:
        return text
    out = []
    for line in text.splitlines():
        found = parse(line)
        if found and all(c in gone for c in found):
            continue
        out.append(
            CITE_RE.sub(
                lambda m: "" if (int(m.group(1)), int(m.group(2))) in gone else m.group(0), line
            ).rstrip()
        )
    return "\n".join(out)
