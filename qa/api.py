"""``ask``: question in, verified and cited Answer out. Loads each store once per process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

from index.atomic import generation_id
from qa.answering import REFUSAL, Draft, evidence, get_answerer
from qa.cites import remove_cites, verify
from qa.parts import combine, fill_in
from qa.retrieve import Retriever
from qa.settings import Settings
from qa.types import Answer, Passage, Plan
from qa.understand import History, understand

_RETRIEVERS: dict[tuple[str, str], tuple[str | None, Retriever]] = {}
_LOCK = threading.Lock()


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
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    answerer = get_answerer(settings)  # an unknown mode is a usage error, said before the index is read
    retriever = retriever or get_retriever(settings)
    timings["load"] = (time.perf_counter() - t0) * 1000
    planned = understand(
        question,
        retriever,
        settings,
        exhibits=exhibits,
        history=history,
        rewrite=getattr(answerer, "condense", None),
    )
    question = planned.question
    if planned.declined:
        shown = question if len(question) <= settings.max_question_chars else question[:200] + "\u2026"
        yield Answer(
            shown,
            planned.declined,
            (),
            (),
            True,
            answerer.name,
            settings.hash(),
            timings,
            notes=planned.notes,
            index=retriever.index_label,
        )
        return
    channel_note = retriever.channel_note()
    notes = [channel_note] if channel_note else []
    notes.extend(planned.notes)
    searched, parts = planned.searched, planned.parts

    t1 = time.perf_counter()
    rerank = getattr(answerer, "rerank", None) if settings.llm_rerank and len(parts) == 1 else None
    if rerank is not None:
        (pool,) = search(planned, retriever, max(settings.rerank_pool, settings.k))
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


def search(planned: Plan, retriever: Retriever, k: int, method: str = "hybrid") -> list[list[Passage]]:
    """The passages for each part of ``planned``, each searched in its own scope."""
    return [
        retriever.search(
            p.search or p.text, exhibits=list(p.exhibits) if p.exhibits else None, k=k, method=method
        )
        for p in planned.parts
    ]


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
