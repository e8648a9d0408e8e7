"""Reading an exhibit in the app: its paragraphs, a search within it, a jump to ``61 ¶ 12``."""

from __future__ import annotations

import re

from qa.errors import UnknownParagraphError
from qa.settings import Settings
from qa.types import Paragraph

_JUMP_RE = re.compile(
    r"^\s*\[?\s*(?:ex(?:hibit|h)?\.?\s*)?(\d{1,5})\s*(?:,|\.|:|\u00b6|\u00b6\u00b6|para(?:graph)?\.?|p\.|\s)\s*(\d{1,5})\s*\]?\s*$",
    re.IGNORECASE,
)


def parse_jump(text: str) -> tuple[int, int] | None:
    """(exhibit, paragraph) from what a user types to jump: ``61 ¶ 12``, ``Ex. 61 ¶ 12``, ``61.12``."""
    m = _JUMP_RE.match(text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def exhibit_paragraphs(settings: Settings, exhibit: int, search: str = "") -> list[Paragraph]:
    """The paragraphs of ``exhibit`` in order, only those containing ``search`` if given."""
    from qa.api import get_retriever

    paragraphs = get_retriever(settings).paragraphs
    found = sorted((p for (e, _), p in paragraphs.items() if e == exhibit), key=lambda p: p.number)
    if not found:
        raise UnknownParagraphError(f"There is no Exhibit {exhibit} in this index.")
    needle = " ".join(search.split()).lower()
    return [p for p in found if needle in " ".join(p.text.split()).lower()] if needle else found
