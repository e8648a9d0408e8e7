"""Gold sets: loading, validation, and locating each evidence quote's paragraph(s) in the index."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.cites import normalize
from qa.errors import GoldError
from qa.types import Paragraph

TYPES = (
    "factoid",
    "numeric",
    "date",
    "list",
    "why",
    "paraphrase",
    "exhibit_scoped",
    "cross_exhibit",
    "multi_part",
    "bilingual",
    "unanswerable",
)

Key = tuple[int, int]


@dataclass(frozen=True)
class Evidence:
    """A verbatim quote from an exhibit that supports a gold answer."""

    exhibit: int
    quote: str


@dataclass(frozen=True)
class GoldItem:
    """One gold question with its key facts and evidence."""

    id: str
    question: str
    answers: tuple[str, ...]
    all_required: bool
    evidence: tuple[Evidence, ...]
    type: str
    near_miss: bool = False  # unanswerable by one swapped year, name, place or premise
    history: tuple[str, ...] = ()  # earlier questions of the conversation, oldest first
    new_topic: bool = False  # a question after a history that must not lean on it

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def _item(raw: dict[str, Any], where: str) -> GoldItem:
    try:
        item = GoldItem(
            id=str(raw["id"]),
            question=str(raw["question"]),
            answers=tuple(str(a) for a in raw.get("answers", [])),
            all_required=bool(raw.get("all_required", False)),
            evidence=tuple(Evidence(int(e["exhibit"]), str(e["quote"])) for e in raw.get("evidence", [])),
            type=str(raw.get("type", "factoid")),
            near_miss=bool(raw.get("near_miss", False)),
            history=tuple(str(h) for h in raw.get("history", [])),
            new_topic=bool(raw.get("new_topic", False)),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise GoldError(f"{where}: {e!r}. Each line needs id, question, answers, evidence, type.") from e
    if not item.question.strip():
        raise GoldError(f"{where}: empty question.")
    if item.type not in TYPES:
        raise GoldError(f"{where}: type {item.type!r} is not one of {', '.join(TYPES)}.")
    return item


def load_gold(path: Path) -> list[GoldItem]:
    """Items of a JSONL gold file; a malformed line is an error naming the line."""
    if not Path(path).exists():
        raise GoldError(f"{path}: no such gold file. Give --gold PATH to a JSONL file.")
    items: list[GoldItem] = []
    seen: set[str] = set()
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as e:
            raise GoldError(f"{path}:{n}: not valid JSON ({e.msg}).") from e
        item = _item(raw, f"{path}:{n}")
        if item.id in seen:
            raise GoldError(f"{path}:{n}: id {item.id!r} is used twice.")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise GoldError(f"{path}: no items.")
    return items


@dataclass(frozen=True)
class Located:
    """Where an item's evidence sits: for each quote, the paragraphs that contain it."""

    per_quote: tuple[frozenset[Key], ...]
    missing: tuple[Evidence, ...]

    @property
    def paragraphs(self) -> set[Key]:
        return set().union(*self.per_quote) if self.per_quote else set()


def locate(items: list[GoldItem], paragraphs: list[Paragraph]) -> dict[str, Located]:
    """Each item's evidence located by normalised substring search within one paragraph."""
    by_exhibit: dict[int, list[tuple[Key, str]]] = {}
    for p in paragraphs:
        by_exhibit.setdefault(p.exhibit, []).append(((p.exhibit, p.number), normalize(p.text)))
    out: dict[str, Located] = {}
    for item in items:
        found: list[frozenset[Key]] = []
        missing: list[Evidence] = []
        for ev in item.evidence:
            q = normalize(ev.quote)
            keys = frozenset(k for k, text in by_exhibit.get(ev.exhibit, []) if q and q in text)
            if keys:
                found.append(keys)
            else:
                missing.append(ev)
        out[item.id] = Located(tuple(found), tuple(missing))
    return out
