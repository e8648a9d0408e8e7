"""The answerer interface: what an answerer is given (passages, a Toolkit) and what it returns (a Draft)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from qa.types import Citation, Dropped, Paragraph, Passage, Usage

REFUSAL = "The exhibits do not answer this."


@dataclass(frozen=True)
class Draft:
    """What an answerer produced, before its citations are verified."""

    text: str
    citations: tuple[Citation, ...]
    refused: bool
    notes: tuple[str, ...] = ()
    support: float | None = None  # how well the evidence bears the answer, 0..1, if the answerer knows
    dropped: tuple[Dropped, ...] = ()
    usage: Usage | None = None
    answered_by: str | None = None  # set when a fallback answerer wrote the draft


class Toolkit(Protocol):
    """What the record offers an answerer besides the passages: embeddings and term rarity."""

    @property
    def paragraphs(self) -> Mapping[tuple[int, int], Paragraph]: ...

    def embed_query(self, text: str) -> list[float]: ...

    def embed_texts(self, texts: list[str]) -> list[list[float]]: ...

    def closeness(self, question: str, keys: Sequence[tuple[int, int]]) -> list[float]:
        """Cosine of the question to each paragraph's stored vector (no embedding needed)."""
        ...

    def df(self, term: str) -> int: ...

    def idf(self, term: str) -> float: ...


class Answerer(Protocol):
    """Turns a question and retrieved passages into a cited draft answer."""

    name: str

    def answer(self, question: str, passages: Sequence[Passage], tools: Toolkit) -> Draft: ...


def evidence(
    passages: Sequence[Passage], paragraphs: Mapping[tuple[int, int], Paragraph]
) -> dict[tuple[int, int], Paragraph]:
    """The paragraphs an answer may cite: those retrieved, and the aligned translation or
    original of each (they say the same thing in the other language)."""
    out: dict[tuple[int, int], Paragraph] = {}
    for p in passages:
        para = p.paragraph
        out[(para.exhibit, para.number)] = para
        for n in para.aligned:
            other = paragraphs.get((para.exhibit, n))
            if other is not None:
                out.setdefault((para.exhibit, n), other)
    return out
