"""Understanding a question, once, before retrieval: the ``Plan`` that retrieval and answering read.

``understand`` cleans the question, makes a follow-up standalone (``qa.followup``), scopes it to
the exhibits given, named, referred to or inherited, splits it into parts (``qa.parts``), each
scoped by its own words, and reads the kind of fact it asks for (``qa.questions``). Exhibit
names and document references are looked for by ``scope`` alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from qa.followup import Turn, condense
from qa.parts import across_documents, split
from qa.questions import asks_reason, clean_question, exhibits_named, exhibits_referenced, question_type
from qa.settings import Settings
from qa.types import Answer, FollowUp, Part, Passage, Plan, Scope

History = Sequence[Answer | str]
# A model's standalone form of a follow-up, given the follow-up and the earlier questions: the
# rewrite (None when there is none to use) and notes saying why.
Rewrite = Callable[[str, list[str]], tuple[str | None, list[str]]]

# A question asked across documents is answered from each exhibit among its first this many
# passages, at most this many exhibits.
_ACROSS_FROM = 5
_ACROSS_MAX = 3


class Record(Protocol):
    """What understanding reads of the indexed record (a ``qa.retrieve.Retriever``)."""

    @property
    def exhibits(self) -> list[int]: ...

    @property
    def references(self) -> dict[int, set[str]]: ...

    def search(self, question: str, *, k: int | None = None) -> list[Passage]: ...


def understand(
    question: str,
    record: Record,
    settings: Settings,
    *,
    exhibits: Sequence[int] | None = None,
    history: History | None = None,
    rewrite: Rewrite | None = None,
) -> Plan:
    """How ``question`` is searched and answered, with the notes saying why.

    ``exhibits``, if given, are the scope; ``history`` holds the earlier turns (``Answer``s or
    questions), oldest first; ``rewrite`` (an answerer with a model) makes a follow-up
    standalone in place of the offline form, which stands if the rewrite fails."""
    question = clean_question(question)
    why_not = declined(question, settings.max_question_chars)
    if why_not:
        return Plan(
            question, None, Scope(None, "", question), (Part(question),), "other", False, (why_not,), why_not
        )
    # A follow-up that names no exhibit of its own is searched in the earlier turn's.
    own = scope(question, record.exhibits, record.references)
    may_inherit = exhibits is None and not own.named
    follow, notes = _follow_up(question, history, may_inherit, record, rewrite) if history else (None, [])
    searched = follow.searched if follow else question
    # The scope: exhibits given, else inherited, else those the searched text names or refers to.
    if exhibits:
        where = Scope(tuple(exhibits), "given", searched)
    elif follow and follow.inherited:
        where = Scope(follow.inherited, "earlier", searched)
    else:
        where = own if searched == question else scope(searched, record.exhibits, record.references)
    notes.extend([where.note] if where.note else [])
    parts, part_notes = _parts(searched, where, record, settings)
    # The kind of fact asked for, read from what a one-part answer is weighed against first.
    answered = (follow.asked if follow and len(parts) == 1 else "") or searched
    kind = question_type(answered).kind
    return Plan(question, follow, where, parts, kind, asks_reason(answered), (*notes, *part_notes))


def declined(question: str, limit: int) -> str:
    """Why a cleaned question is not searched at all (empty, or over ``limit`` characters); ""
    when it is searched."""
    if not question:
        return "Ask a question about the exhibits."
    if len(question) > limit:
        return (
            f"The question is {len(question):,} characters long; the limit is {limit:,} "
            "(EXHIBITQA_MAX_QUESTION_CHARS). Ask about one point at a time."
        )
    return ""


def scope(text: str, known: Collection[int], references: dict[int, set[str]] | None = None) -> Scope:
    """The exhibits ``text`` names that the record has (``known``), else those its document
    references ("the 2016 State Council opinions") fit, with the text to search them with (a
    resolved reference taken out); the whole record when it names and refers to none."""
    named = tuple(exhibits_named(text))
    have = set(known)
    implied = tuple(n for n in named if n in have)
    if implied:
        return Scope(implied, "named", text, named)
    referred, rest = exhibits_referenced(text, references or {})
    if referred:
        return Scope(tuple(referred), "referred", rest, named)
    return Scope(None, "", text, named)


def _follow_up(
    question: str, history: History, may_inherit: bool, record: Record, rewrite: Rewrite | None
) -> tuple[FollowUp | None, list[str]]:
    """``question`` made standalone against the last turn of ``history`` when it leans on it,
    inheriting that turn's exhibits if ``may_inherit``; and the notes saying so."""
    earlier = [h.searched or h.question if isinstance(h, Answer) else h for h in history]
    condensed = condense(question, [_turn(history[-1], record)])
    if not condensed.carried:
        return None, []
    searched, asked = condensed.text, condensed.asked
    notes: list[str] = []
    if rewrite is not None:
        rewritten, notes = rewrite(question, earlier)
        if rewritten:
            searched, asked = rewritten, ""
    inherited = condensed.exhibits if may_inherit else None
    return FollowUp(searched, asked, inherited), [*notes, f"searched for: {searched}"]


def _turn(earlier: Answer | str, record: Record) -> Turn:
    """What a follow-up may carry over from an earlier turn: its question (as searched) and its
    exhibits: those it was scoped to, or else those its answer cited."""
    if isinstance(earlier, Answer):
        question = earlier.searched or earlier.question
        cited = tuple(dict.fromkeys(c.exhibit for c in earlier.citations))
        return Turn(question, scope(question, record.exhibits, record.references).exhibits or cited)
    return Turn(earlier, scope(earlier, record.exhibits, record.references).exhibits or ())


def _parts(
    searched: str, where: Scope, record: Record, settings: Settings
) -> tuple[tuple[Part, ...], list[str]]:
    """The parts ``searched`` is answered in, each with its scope, and the notes saying so."""
    rest = where.search if where.search != searched else ""
    whole = (Part(searched, where.exhibits, rest),)
    if not settings.split_parts:
        return whole, []
    parts = split(searched, where.exhibits, where.search)
    notes: list[str] = []
    if len(parts) == 1 and not where.exhibits and across_documents(searched):
        # The documents that discuss it are known only once it is searched for.
        found = record.search(where.search, k=settings.k)[:_ACROSS_FROM]
        named = list(dict.fromkeys(p.paragraph.exhibit for p in found))[:_ACROSS_MAX]
        if len(named) >= 2:
            parts = [Part(searched, (e,), rest) for e in named]
            notes.append(
                "asked across documents: Exhibit " + ", ".join(map(str, named)) + " answered each on its own"
            )
    if len(parts) == 1:
        return whole, notes
    parts = [_scoped_part(p, where.exhibits, record) for p in parts]
    notes.extend(
        f"part {i} searched only Exhibit " + ", ".join(map(str, p.exhibits))
        for i, p in enumerate(parts, 1)
        if p.exhibits and p.exhibits != where.exhibits
    )
    notes.append(f"answered in {len(parts)} parts, each searched on its own")
    return tuple(parts), notes


def _scoped_part(part: Part, scoped: tuple[int, ...] | None, record: Record) -> Part:
    """``part`` with its own exhibits when its own words name or refer to documents ("..., and
    what does the 2022 guidance say ..." is searched in that guidance alone), else the whole
    question's; a comparison's parts already have theirs."""
    if part.search or (part.exhibits and scoped and len(part.exhibits) < len(scoped)):
        return part  # a comparison's part: one of the question's exhibits
    # Scoped by its own words only: the terms carried from the first part ("... — products
    # Annex III Global Trade Alert web post") are there to search with, and a document the
    # first part names is not one this part asks about.
    words, sep, carried = part.text.partition(" \u2014 ")
    own = scope(words, record.exhibits, record.references)
    if own.exhibits:
        return Part(part.text, own.exhibits, own.search + sep + carried if own.search != words else "")
    return Part(part.text, scoped or part.exhibits)
