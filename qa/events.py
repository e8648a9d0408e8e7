"""Typed events for interfaces: ``ask_events`` yields them as an answer is produced.

The app (and any other front end) renders these and never touches the index or models itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from qa.api import ask_stream, get_retriever
from qa.errors import ExhibitQAError
from qa.settings import Settings
from qa.types import Answer, Citation, Paragraph


@dataclass(frozen=True)
class Status:
    """Progress text to show while the answer is being made."""

    text: str


@dataclass(frozen=True)
class AnswerText:
    """The answer text (the whole text so far: verified sentences while ``partial``)."""

    text: str
    refused: bool
    partial: bool = False


@dataclass(frozen=True)
class CitedParagraph:
    """A verified citation with the paragraph it points to, its neighbours and its translation."""

    citation: Citation
    paragraph: Paragraph
    before: Paragraph | None = None
    after: Paragraph | None = None
    aligned: tuple[Paragraph, ...] = ()


@dataclass(frozen=True)
class Uncited:
    """Retrieved passages that no cite uses, for the user to check."""

    paragraphs: tuple[Paragraph, ...]


@dataclass(frozen=True)
class Note:
    """Something the user should know: an implied exhibit filter, dropped cites, a refusal reason."""

    text: str


@dataclass(frozen=True)
class Failed:
    """The question could not be answered because of a problem the user can fix."""

    message: str


@dataclass(frozen=True)
class Done:
    """The finished answer."""

    answer: Answer


Event = Status | AnswerText | CitedParagraph | Uncited | Note | Failed | Done


def ask_events(
    question: str,
    *,
    exhibits: list[int] | None = None,
    settings: Settings,
    history: Sequence[Answer | str] = (),
) -> Iterator[Event]:
    """Answer ``question`` (a follow-up to ``history``'s turns, if any), yielding events as each
    part is ready."""
    yield Status("Searching the exhibits\u2026")
    answer: Answer | None = None
    try:
        # One generation for the answer and for the paragraphs shown beside it: a rebuild that
        # lands meanwhile must not put the new text of a paragraph under the old quote.
        retriever = get_retriever(settings)
        for item in ask_stream(
            question, exhibits=exhibits, settings=settings, retriever=retriever, history=history
        ):
            if isinstance(item, Answer):
                answer = item
            else:
                yield AnswerText(item, refused=False, partial=True)
        assert answer is not None
        paragraphs = retriever.paragraphs
    except ExhibitQAError as e:
        yield Failed(str(e))
        return
    yield AnswerText(answer.text, answer.refused)
    for c in answer.citations:
        p = paragraphs[(c.exhibit, c.paragraph)]
        yield CitedParagraph(
            c,
            p,
            before=paragraphs.get((p.exhibit, p.number - 1)),
            after=paragraphs.get((p.exhibit, p.number + 1)),
            aligned=tuple(paragraphs[(p.exhibit, n)] for n in p.aligned if (p.exhibit, n) in paragraphs),
        )
    cited = {(c.exhibit, c.paragraph) for c in answer.citations}
    rest = tuple(
        x.paragraph for x in answer.passages if (x.paragraph.exhibit, x.paragraph.number) not in cited
    )
    if rest:
        yield Uncited(rest)
    for n in answer.notes:
        yield Note(n)
    for d in answer.dropped:
        yield Note(f"removed an unsupported sentence: \u201c{d.sentence}\u201d ({d.reason})")
    yield Done(answer)


def exhibit_choices(settings: Settings) -> list[tuple[str, int]]:
    """(label, number) for each exhibit of the store, for a filter widget."""
    from index.store import check_current

    try:
        manifest = check_current(settings.store, settings)
    except ExhibitQAError:
        return []
    return [(f"Ex. {e['number']} \u2014 {e['title'][:70]}", int(e["number"])) for e in manifest["exhibits"]]
