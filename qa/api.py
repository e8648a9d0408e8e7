"""``ask``: question in, verified and cited Answer out. Loads each store once per process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.atomic import generation_id
from qa.answering import REFUSAL, Draft, evidence, get_answerer
from qa.cites import remove_cites, verify
from qa.followup import Turn, condense
from qa.parts import Part, across_documents, combine, fill_in, split
from qa.questions import clean_question, exhibits_named, exhibits_referenced
from qa.retrieve import Retriever
from qa.settings import Settings
from qa.types import Answer, Passage

History = Sequence[Answer | str]

_RETRIEVERS: dict[tuple[str, str], tuple[str | None, Retriever]] = {}
_LOCK = threading.Lock()
# A question asked across documents is answered from each exhibit among its first this many
# passages, at most this many exhibits.
_ACROSS_FROM = 5
_ACROSS_MAX = 3


def get_retriever(settings: Settings) -> Retriever:
    """The retriever for ``settings.store``, opened on first use and kept for the process;
    reopened when a rebuild, in this process or another, has made a new generation current
    (a running app sees new exhibits)."""
    # Only what the retriever reads: switching answerer or endpoint must not reload the store.
    shape = (
        settings.index_fingerprint(),
        settings.candidates,
        settings.include_boilerplate,
        settings.exhibit_cap,
    )
    # Not resolve(): the store is a link to its current generation, and the key must outlive it.
    store = Path(settings.store)
    key = (str(store.parent.resolve() / store.name), repr(shape))
    with _LOCK:
        generation = generation_id(store)
        cached = _RETRIEVERS.get(key)
        if cached is not None and cached[0] == generation and generation is not None:
            return cached[1]
        # The replaced retriever is not closed: a question in another thread may still be using
        # it. It closes itself, and releases its generation, when its last reference goes.
        retriever = Retriever(settings)
        _RETRIEVERS[key] = (retriever.generation_id, retriever)
        return retriever


def reset() -> None:
    """Forget loaded stores (after a rebuild, or to switch records in a notebook)."""
    with _LOCK:
        for _, r in _RETRIEVERS.values():
            r.close()
        _RETRIEVERS.clear()


def scope(
    question: str,
    exhibits: list[int] | None,
    known: list[int],
    references: dict[int, set[str]] | None = None,
) -> tuple[list[int] | None, list[str], str]:
    """The exhibits to search, notes saying why, and the text to search with.

    The exhibits are those given, else those the question names ("Exhibit 64") that the record
    has, else those its document references ("the 2016 State Council opinions") fit; a
    resolved reference is taken out of the search text.
    """
    if exhibits:
        return exhibits, [], question
    implied = [n for n in exhibits_named(question) if n in known]
    if implied:
        note = "searched only Exhibit " + ", ".join(map(str, implied)) + ", which the question names"
        return implied, [note], question
    referred, rest = exhibits_referenced(question, references or {})
    if referred:
        note = (
            "searched only Exhibit " + ", ".join(map(str, referred)) + ", the document the question refers to"
        )
        return referred, [note], rest
    return None, [], question


def ask(
    question: str,
    *,
    exhibits: list[int] | None = None,
    k: int | None = None,
    mode: str | None = None,
    settings: Settings | None = None,
    history: History | None = None,
) -> Answer:
    """Answer ``question`` from the record, citing ``[Ex. N ¶ P]`` with verified quotes.

    ``exhibits`` restricts the search; when it is not given, exhibits the question names
    ("In Exhibit 64, ...") restrict it instead, if the record has them. ``history`` holds the
    earlier turns (``Answer``s or questions), oldest first: a follow-up such as "Who issued
    it?" is searched with what the last turn asked about and within its exhibits.
    """
    answer = None
    for item in ask_stream(question, exhibits=exhibits, k=k, mode=mode, settings=settings, history=history):
        if isinstance(item, Answer):
            answer = item
    assert answer is not None  # ask_stream always ends with the Answer
    return answer


def ask_stream(
    question: str,
    *,
    exhibits: list[int] | None = None,
    k: int | None = None,
    mode: str | None = None,
    settings: Settings | None = None,
    retriever: Retriever | None = None,
    history: History | None = None,
) -> Iterator[str | Answer]:
    """Like ``ask``, but yields the verified answer text as it grows (LLM modes write it
    sentence by sentence), then the ``Answer`` itself, always last.

    ``retriever`` (from ``get_retriever``) pins the answer to that generation of the index, for
    a caller that reads more of it afterwards (the app's evidence panel); by default the
    store's current generation answers."""
    settings = settings or Settings()
    if mode is not None or k is not None:
        settings = settings.model_copy(
            update={k_: v for k_, v in (("mode", mode), ("k", k)) if v is not None}
        )
    question = clean_question(question)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    answerer = get_answerer(settings)  # an unknown mode is a usage error, said before the index is read
    retriever = retriever or get_retriever(settings)
    timings["load"] = (time.perf_counter() - t0) * 1000
    notes: list[str] = []
    declined = (
        "Ask a question about the exhibits."
        if not question
        else f"The question is {len(question):,} characters long; the limit is "
        f"{settings.max_question_chars:,} (EXHIBITQA_MAX_QUESTION_CHARS). Ask about one point at a time."
        if len(question) > settings.max_question_chars
        else None
    )
    if declined is not None:
        shown = question if len(question) <= settings.max_question_chars else question[:200] + "\u2026"
        yield Answer(
            shown,
            declined,
            (),
            (),
            True,
            answerer.name,
            settings.hash(),
            timings,
            notes=(declined,),
            index=retriever.index_label,
        )
        return
    planned = plan(question, exhibits, history, retriever, settings, answerer)
    channel_note = retriever.channel_note()
    notes.extend([channel_note] if channel_note else [])
    notes.extend(planned.notes)
    searched, parts = planned.searched, planned.parts

    t1 = time.perf_counter()
    rerank = getattr(answerer, "rerank", None) if settings.llm_rerank and len(parts) == 1 else None
    if rerank is not None:
        pool = retriever.search(
            planned.search_text, exhibits=planned.exhibits, k=max(settings.rerank_pool, settings.k)
        )
        reranked, rerank_notes = rerank(searched, pool, settings.k)
        notes.extend(rerank_notes)
        per_part = [reranked or search(planned, retriever, settings.k)[0]]
    else:
        per_part = search(planned, retriever, settings.k)
    passages = merged(per_part)
    timings["retrieve"] = (time.perf_counter() - t1) * 1000

    t2 = time.perf_counter()
    stream = getattr(answerer, "stream", None)
    if len(parts) > 1 and stream is None:
        # An answerer that quotes answers each part from its own passages (a writing model sees
        # them all at once and answers the whole question), with the part's document references
        # left in: "the 14th Five-Year Plan" must still be checked against a record of the 15th.
        draft = combine(
            parts, [answerer.answer(p.text, ps, retriever) for p, ps in zip(parts, per_part, strict=True)]
        )
    elif stream is None:
        draft = answerer.answer(planned.answer_text or searched, passages, retriever)
        if draft.refused and planned.answer_text:
            # Too few words of its own to support an answer ("What period does it cover?"):
            # weighed with the earlier question's terms as well, as it was searched.
            draft = answerer.answer(searched, passages, retriever)
    else:
        # A writing model reads a fixed budget of passages; the parts share it in turn.
        for item in stream(searched, passages[: settings.k] if len(parts) > 1 else passages, retriever):
            if isinstance(item, Draft):
                draft = item
            else:
                yield item
        if len(parts) > 1 and not draft.refused:
            # A small model answering two parts at once tends to answer one: each part it left
            # out gets its quoted answer, found in the part's own passages as offline.
            quoting = get_answerer(settings, "extractive")
            draft = fill_in(
                parts,
                draft,
                [quoting.answer(p.text, ps, retriever) for p, ps in zip(parts, per_part, strict=True)],
            )
    timings["answer"] = (time.perf_counter() - t2) * 1000

    kept, dropped = verify(draft.citations, evidence(passages, retriever.paragraphs))
    notes.extend(draft.notes)
    notes.extend(f"dropped {c.render()}: {why}" for c, why in dropped)
    refused = draft.refused
    text = remove_cites(draft.text, [(c.exhibit, c.paragraph) for c, _ in dropped])
    if not refused and not kept:
        # Every cite failed verification: an uncited answer must not reach the user.
        text, refused = REFUSAL, True
    timings["total"] = (time.perf_counter() - t0) * 1000
    yield Answer(
        question=question,
        text=text,
        citations=tuple(kept),
        passages=tuple(passages),
        refused=refused,
        mode=draft.answered_by or answerer.name,
        settings_hash=settings.hash(),
        timings_ms=timings,
        notes=tuple(notes),
        support=draft.support,
        dropped=draft.dropped,
        usage=draft.usage,
        index=retriever.index_label,
        searched=searched if searched != question else "",
        parts=tuple(p.text for p in parts) if len(parts) > 1 else (),
        channels=retriever.channels,
    )


@dataclass(frozen=True)
class Plan:
    """How a question is searched: the standalone text, its scope, its parts, and why."""

    searched: str  # the question made standalone (a follow-up with what it leans on)
    exhibits: list[int] | None
    search_text: str  # the searched question with resolved document references taken out
    parts: list[Part]
    notes: list[str]
    answer_text: str = ""  # what an extractive answerer weighs sentences against, if not `searched`


def plan(
    question: str,
    exhibits: list[int] | None,
    history: History | None,
    retriever: Retriever,
    settings: Settings,
    answerer: object | None = None,
) -> Plan:
    """Make ``question`` standalone against ``history``, scope it, and split it into parts.

    Offline a follow-up takes the last turn's key terms; an answerer with a model
    (``condense``) rewrites it instead, and the offline form stands if the model fails."""
    notes: list[str] = []
    searched = question
    asked = ""
    if history:
        turns = [turn(h, retriever) for h in history]
        condensed = condense(question, turns)
        if condensed.carried:
            searched, asked = condensed.text, condensed.asked
            rewrite = getattr(answerer, "condense", None)
            if rewrite is not None:
                rewritten, rewrite_notes = rewrite(question, [t.question for t in turns])
                if rewritten:
                    searched, asked = rewritten, ""
                notes.extend(rewrite_notes)
            notes.append(f"searched for: {searched}")
            if exhibits is None and condensed.exhibits and not exhibits_named(question):
                exhibits = list(condensed.exhibits)
                notes.append(
                    "searched only Exhibit " + ", ".join(map(str, exhibits)) + ", as the earlier question did"
                )
    scoped, scope_notes, search_text = scope(searched, exhibits, retriever.exhibits, retriever.references)
    notes.extend(scope_notes)
    parts = split(searched, scoped, search_text) if settings.split_parts else [Part(searched, None)]
    if len(parts) == 1 and not scoped and settings.split_parts and across_documents(searched):
        # The documents that discuss it are known only once it is searched for.
        found = retriever.search(search_text, k=settings.k)[:_ACROSS_FROM]
        named = list(dict.fromkeys(p.paragraph.exhibit for p in found))[:_ACROSS_MAX]
        if len(named) >= 2:
            parts = [Part(searched, (e,), search_text if search_text != searched else "") for e in named]
            notes.append(
                "asked across documents: Exhibit " + ", ".join(map(str, named)) + " answered each on its own"
            )
    if len(parts) > 1:
        parts = [_scoped_part(p, scoped, retriever) for p in parts]
        notes.extend(
            f"part {i} searched only Exhibit " + ", ".join(map(str, p.exhibits))
            for i, p in enumerate(parts, 1)
            if p.exhibits and list(p.exhibits) != scoped
        )
        notes.append(f"answered in {len(parts)} parts, each searched on its own")
    return Plan(searched, scoped, search_text, parts, notes, asked if len(parts) == 1 else "")


def _scoped_part(part: Part, scoped: list[int] | None, retriever: Retriever) -> Part:
    """``part`` with its own exhibits when its own words name or refer to documents ("..., and
    what does the 2022 guidance say ..." is searched in that guidance alone), else the whole
    question's; a comparison's parts already have theirs."""
    if part.search or (part.exhibits and scoped and len(part.exhibits) < len(scoped)):
        return part  # a comparison's part: one of the question's exhibits
    # Scoped by its own words only: the terms carried from the first part ("... — products
    # Annex III Global Trade Alert web post") are there to search with, and a document the
    # first part names is not one this part asks about.
    words, sep, carried = part.text.partition(" \u2014 ")
    own, _, text = scope(words, None, retriever.exhibits, retriever.references)
    if own:
        return Part(part.text, tuple(own), text + sep + carried if text != words else "")
    return Part(part.text, tuple(scoped) if scoped else part.exhibits)


def search(planned: Plan, retriever: Retriever, k: int, method: str = "hybrid") -> list[list[Passage]]:
    """The passages for each part of ``planned`` (one list for a question in one part)."""
    if len(planned.parts) == 1:
        return [retriever.search(planned.search_text, exhibits=planned.exhibits, k=k, method=method)]
    return [
        retriever.search(
            p.search or p.text, exhibits=list(p.exhibits) if p.exhibits else None, k=k, method=method
        )
        for p in planned.parts
    ]


def turn(earlier: Answer | str, retriever: Retriever) -> Turn:
    """What a follow-up may carry over from an earlier turn: its question (as searched) and its
    exhibits: those it was scoped to, or else those its answer cited."""
    if isinstance(earlier, Answer):
        question = earlier.searched or earlier.question
        scoped, _, _ = scope(question, None, retriever.exhibits, retriever.references)
        cited = tuple(dict.fromkeys(c.exhibit for c in earlier.citations))
        return Turn(question, tuple(scoped) if scoped else cited)
    scoped, _, _ = scope(earlier, None, retriever.exhibits, retriever.references)
    return Turn(earlier, tuple(scoped or ()))


def merged(lists: list[list[Passage]]) -> list[Passage]:
    """Passages of several searches, taken in turn from each, each paragraph once."""
    out: list[Passage] = []
    seen: set[tuple[int, int]] = set()
    for i in range(max((len(x) for x in lists), default=0)):
        for x in lists:
            if i < len(x):
                key = (x[i].paragraph.exhibit, x[i].paragraph.number)
                if key not in seen:
                    seen.add(key)
                    out.append(x[i])
    return out
