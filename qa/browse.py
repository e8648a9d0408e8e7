"""Reading an exhibit in the app: its paragraphs, a search within it, a jump to ``61 ¶ 12``."""

from __future__ import annotations

from qa.answering.prompt import parse_key
from qa.errors import UnknownParagraphError
from qa.settings import Settings
from qa.types import Paragraph


def parse_jump(text: str) -> tuple[int, int] | None:
    """(exhibit, paragraph) from what a user types to jump: ``61 ¶ 12``, ``Ex. 61 ¶ 12``, ``61.12``."""
    return parse_key(text)


def exhibit_paragraphs(settings: Settings, exhibit: int, search: str = "") -> list[Paragraph]:
    """The paragraphs of ``exhibit`` in order, only those containing ``search`` if given."""
    from qa.api import get_retriever

    paragraphs = get_retriever(settings).paragraphs
    found = sorted((p for (e, _), p in paragraphs.items() if e == exhibit), key=lambda p: p.number)
    if not found:
        raise UnknownParagraphError(f"There is no Exhibit {exhibit} in this index.")
    needle = " ".join(search.split()).lower()
    return [p for p in found if needle in " ".join(p.text.split()).lower()] if needle else found
