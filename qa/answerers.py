"""The answerer interface and its registry (a plain dict, as llm keeps its models)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from qa.errors import ConfigError
from qa.settings import Settings
from qa.types import Citation, Passage

REFUSAL = "The exhibits do not answer this."


@dataclass(frozen=True)
class Draft:
    """What an answerer produced, before its citations are verified."""

    text: str
    citations: tuple[Citation, ...]
    refused: bool
    notes: tuple[str, ...] = ()
    support: float | None = None  # how well the evidence bears the answer, 0..1, if the answerer knows


class Toolkit(Protocol):
    """What the record offers an answerer besides the passages: embeddings and term rarity."""

    def embed_query(self, text: str) -> list[float]: ...

    def embed_texts(self, texts: list[str]) -> list[list[float]]: ...

    def df(self, term: str) -> int: ...

    def idf(self, term: str) -> float: ...


class Answerer(Protocol):
    """Turns a question and retrieved passages into a cited draft answer."""

    name: str

    def answer(self, question: str, passages: Sequence[Passage], tools: Toolkit) -> Draft: ...


def _extractive(settings: Settings) -> Answerer:
    from qa.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer(settings)


ANSWERERS: dict[str, Callable[[Settings], Answerer]] = {
    "extractive": _extractive,
}


def get_answerer(settings: Settings, mode: str | None = None) -> Answerer:
    name = mode or settings.mode
    if name not in ANSWERERS:
        raise ConfigError(
            f"Unknown answer mode '{name}'. Choose one of: {', '.join(sorted(ANSWERERS))} "
            "(--mode, or EXHIBITQA_MODE)."
        )
    return ANSWERERS[name](settings)
