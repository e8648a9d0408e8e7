"""ExhibitQA: ask questions of a legal record, get answers with verified pin cites.

>>> from qa import ask
>>> ask("What did the State Council decide about steel capacity?")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qa.settings import Settings
from qa.types import Answer, Citation, Exhibit, Paragraph, Passage

if TYPE_CHECKING:
    from qa.api import ask, reset
    from qa.notebook import aask, ask_many

__all__ = [
    "Answer",
    "Citation",
    "Exhibit",
    "Paragraph",
    "Passage",
    "Settings",
    "aask",
    "ask",
    "ask_many",
    "reset",
]


def __getattr__(name: str) -> Any:
    # Loaded on first use: importing qa.errors or qa.types must not pull in the index and models.
    if name in ("ask", "reset"):
        from qa import api

        return getattr(api, name)
    if name in ("aask", "ask_many"):
        from qa import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
