"""The offline answerer: the answer is made of verbatim sentences of the retrieved paragraphs.

Every sentence of the retrieved paragraphs is scored by the learned scorer (qa/answering/
scorer.py) on what it shares with the question; the best few are embedded and rescored; the
winner's calibrated probability of being right is the answer's support. Below the scorer's
threshold the answerer refuses, and says how close the record came. With ``judge="reader"``
the reader (qa/answering/reader.py), a cross-encoder trained here, also reads the question with
the best-covering sentences and the scorer's short list, and the stack (qa/answering/stack.py)
weighs its scores with the scorer's to pick the sentence and give the support; with
``judge="pick"`` (the default) the stack picks the sentence and the scorer's support decides
whether to answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from qa.answering.base import REFUSAL, Draft, Toolkit
from qa.answering.features import (
    Candidate,
    Question,
    candidates,
    coverage,
    following,
    previous,
    read_question,
    rows,
    with_sentence_cosines,
)
from qa.answering.reader import Reader, reader_text
from qa.answering.reader import load as load_reader
from qa.answering.scorer import Linear, Scorer, load, sigmoid
from qa.answering.stack import Seen, by_coverage, read_set
from qa.errors import ConfigError
from qa.questions import BACKWARD_RE, CAUSAL_RE, asks_reason
from qa.settings import Settings
from qa.text import split_sentences, terms
from qa.types import Citation, Passage

# The reader reads only some candidates (``stack.read_set``: those sharing the most of the
# question's rare words, and the scorer's short list): k = 8 paragraphs hold ~40 sentences, and
# each costs the reader ~18 ms on 2 cores; how many is chosen on validation (reader/reader.md).


@dataclass(frozen=True)
class Scored:
    """A candidate sentence with the reranker's probability that it holds the answer."""

    candidate: Candidate
    probability: float


@dataclass(frozen=True)
class Judgement:
    """The scorer's view of a question: candidates best first and the support of the best,
    or why there is nothing to score."""

    ranked: tuple[Scored, ...]
    support: float
    kind: str = "other"  # the kind of fact the question asks for (qa.questions.question_type)
    why_none: str = ""
    reason: bool = False  # the question asks why, for what purpose, or how


class ExtractiveAnswerer:
    """Answers with the best-supported verbatim sentences, or refuses."""

    name = "extractive"

    def __init__(self, settings: Settings, scorer: Scorer | None = None, reader: Reader | None = None):
        self.settings = settings
        self.scorer = scorer or (load(settings.scorer_path) if settings.scorer_path else load())
        self.reader = reader or (load_reader() if settings.judge in ("reader", "pick") else None)
        if self.reader is not None and self.reader.stack is None:
            raise ConfigError(
                f"The reader in {self.reader.folder} has no stack to judge with: fit one with "
                "`python -m eval.fit_stack` (after `eval.fit_reader`), or set EXHIBITQA_JUDGE=scorer."
            )

    @property
    def threshold(self) -> float:
        if self.settings.refuse_below is not None:
            return self.settings.refuse_below
        if self.reader is not None and self.settings.judge == "reader":
            return self.reader.threshold
        return self.scorer.threshold

    def judge(self, question: str, passages: Sequence[Passage], tools: Toolkit) -> Judgement:
        """Rank every sentence of ``passages`` (by the reader, or the scorer's features)."""
        q = read_question(question, tools)
        if q.absent:
            # However close the rest of the wording, a record that never names the thing
            # asked about cannot answer it.
            return Judgement((), 0.0, q.kind.kind, "the record never mentions " + ", ".join(q.absent))
        every = candidates(passages, q)
        scored = self._score(question, q, passages, every, tools)
        if self.reader is None or (self.settings.judge == "pick" and not scored.ranked):
            return scored
        stacked = self._stacked(question, q, every, scored, tools)
        if self.settings.judge == "pick":
            # The stack's sentence, the scorer's support: whether to answer is decided exactly as
            # the scorer decides it (its threshold too), only the sentence quoted changes.
            return replace(stacked, support=scored.support)
        return stacked

    def _score(
        self,
        question: str,
        q: Question,
        passages: Sequence[Passage],
        every: Sequence[Candidate],
        tools: Toolkit,
    ) -> Judgement:
        """The feature scorer's judgement of ``every`` candidate of ``passages``."""
        cands = [c for c in every if c.type_match]
        if not cands:
            return Judgement((), 0.0, q.kind.kind, f"no retrieved sentence holds a {q.kind.kind} fact")
        pcos = tools.closeness(question, [(p.paragraph.exhibit, p.paragraph.number) for p in passages])
        x = rows(q, cands, pcos)
        gate = self._top(self.scorer.rank, x)
        pick_rank, pick_rerank = self.scorer.picker
        xf = rows(q, cands, pcos, framed=True) if self.scorer.pick else x
        chosen_top = self._top(pick_rank, xf)
        cos = self._sentence_cosines(question, cands, [*gate, *chosen_top], pcos, tools)
        x_gate = with_sentence_cosines(x[gate], {j: cos[i] for j, i in enumerate(gate)})
        support = self.scorer.support(self.scorer.rerank.logits(x_gate), x_gate)
        x_head = with_sentence_cosines(xf[chosen_top], {j: cos[i] for j, i in enumerate(chosen_top)})
        logits = pick_rerank.logits(x_head)
        order = np.argsort(-logits, kind="stable")
        ranked = tuple(Scored(cands[chosen_top[j]], sigmoid(float(logits[j]))) for j in order)
        return Judgement(ranked, support, q.kind.kind, reason=asks_reason(question))

    def _stacked(
        self, question: str, q: Question, every: Sequence[Candidate], scored: Judgement, tools: Toolkit
    ) -> Judgement:
        """The reader reads what coverage and the scorer put first; the stack weighs all three."""
        assert self.reader is not None and self.reader.stack is not None
        if not every:
            return Judgement((), 0.0, q.kind.kind, "no retrieved paragraph has a sentence to quote")
        views = [_reader_view(c, tools) for c in every]
        cov = coverages(q.weights, views)
        at = {c: i for i, c in enumerate(every)}
        ranked = [s for s in scored.ranked if s.candidate in at]
        order = [at[s.candidate] for s in ranked]
        read = read_set(cov, order, self.reader.stack.read)
        seen = Seen(
            tuple(read),
            tuple(float(v) for v in self.reader.scores(question, [views[i] for i in read])),
            tuple(order),
            tuple(s.probability for s in ranked),
        )
        picks, support = self.reader.stack.judge(seen)
        return Judgement(
            tuple(Scored(every[i], p) for i, p in picks),
            support,
            q.kind.kind,
            reason=asks_reason(question),
        )

    def _top(self, rank: Linear, x: np.ndarray) -> list[int]:
        return [int(i) for i in np.argsort(-rank.logits(x), kind="stable")[: self.scorer.embed_top]]

    def _sentence_cosines(
        self,
        question: str,
        cands: Sequence[Candidate],
        wanted: Sequence[int],
        pcos: Sequence[float],
        tools: Toolkit,
    ) -> dict[int, float]:
        """The question's cosine to each wanted candidate's own sentence, by candidate index."""
        # A sentence that is its whole paragraph was embedded at index time (same text, same
        # vector): its cosine is the paragraph's. Headings change what was embedded, though.
        cos = {
            i: pcos[cands[i].rank]
            for i in wanted
            if not self.settings.contextual_headings
            and cands[i].sentence == cands[i].passage.paragraph.text.strip()
        }
        todo = [i for i in dict.fromkeys(wanted) if i not in cos]
        if todo:
            qv = np.asarray(tools.embed_query(question), dtype=np.float32)
            sv = np.asarray(tools.embed_texts([cands[i].sentence for i in todo]), dtype=np.float32)
            cos.update(zip(todo, (float(v) for v in sv @ qv), strict=True))
        return cos

    def evidence_sentences(
        self, question: str, passages: Sequence[Passage], tools: Toolkit, n: int
    ) -> list[Candidate]:
        """The ``n`` sentences of ``passages`` the scorer's ranker puts first, for a writing
        model to compose from (those holding the kind of fact asked for, if any do)."""
        q = read_question(question, tools)
        every = candidates(passages, q)
        if self.reader is not None:
            judged = self._stacked(
                question, q, every, self._score(question, q, passages, every, tools), tools
            )
            return [s.candidate for s in judged.ranked[:n]]
        cands = [c for c in every if c.type_match] or every
        if not cands:
            return []
        pcos = tools.closeness(question, [(p.paragraph.exhibit, p.paragraph.number) for p in passages])
        x = rows(q, cands, pcos, framed=self.scorer.pick is not None)
        top = np.argsort(-self.scorer.picker[0].logits(x), kind="stable")[:n]
        return [cands[i] for i in top]

    def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        tools: Toolkit,
        judged: Judgement | None = None,
        threshold: float | None = None,
    ) -> Draft:
        """The draft for ``judged`` (judged here if not given), refused below ``threshold``
        (by default the scorer's, or ``refuse_below``)."""
        judged = judged or self.judge(question, passages, tools)
        threshold = self.threshold if threshold is None else threshold
        if not judged.ranked:
            return _refuse(judged.why_none or "no retrieved paragraph has a sentence to quote")
        if judged.support < threshold:
            best = judged.ranked[0].candidate
            return _refuse(
                f"support {judged.support:.2f} is below {threshold:.2f}; the closest passage is "
                f"{Citation(best.passage.paragraph.exhibit, best.passage.paragraph.number, '').render()}",
                judged.support,
            )
        chosen = self._chosen(judged)
        citations = tuple(
            Citation(
                c.passage.paragraph.exhibit,
                c.passage.paragraph.number,
                c.sentence,
                original=c.passage.paragraph.lang == "zh",
            )
            for c in chosen
        )
        text = "\n".join(f"\u201c{c.quote}\u201d {c.render()}" for c in citations)
        return Draft(text, citations, refused=False, support=judged.support)

    def _chosen(self, judged: Judgement) -> list[Candidate]:
        # A sentence nearly as likely as the best often holds the part of the fact the best
        # only frames; a list question, or a why question whose best sentence states no
        # reason, gathers more of them.
        best = judged.ranked[0]
        gather = judged.kind == "list" or (judged.reason and not CAUSAL_RE.search(best.candidate.sentence))
        limit = self.settings.max_answer_sentences if gather else min(2, self.settings.max_answer_sentences)
        keep_above = (0.6 if gather else 0.8) * best.probability
        chosen = [best.candidate]
        for s in judged.ranked[1:]:
            if len(chosen) >= limit or s.probability < keep_above:
                break
            if judged.reason and judged.kind != "list" and not CAUSAL_RE.search(s.candidate.sentence):
                continue  # for a why question, only a sentence that states a reason is added
            if all(s.candidate.sentence != o.sentence for o in chosen):
                chosen.append(s.candidate)
        if judged.reason and not any(CAUSAL_RE.search(c.sentence) for c in chosen):
            # No sentence states a reason: the best one often states the claim the question
            # asks about, and the explanation follows it. On SQuAD 2.0's why / how questions
            # (training data) whose best-matching sentence has no causal marker, the answer was in the
            # next sentence 14 times in 92 and in the one before once (eval/why_neighbours.py).
            after = following(best.candidate)
            if after is not None and all(after.sentence != o.sentence for o in chosen):
                chosen.insert(1, after)
        if judged.reason:
            chosen = [
                c
                for x in chosen
                for c in _with_antecedent(x)
                if c is x or all(c.sentence != o.sentence for o in chosen)
            ]
        return chosen


def reading_order(weights: dict[str, float], views: Sequence[str]) -> list[int]:
    """Candidates by how much of the question's idf-weighted terms their text (with its context)
    covers, most first; ties keep retrieval order."""
    return by_coverage(coverages(weights, views))


def coverages(weights: dict[str, float], views: Sequence[str]) -> list[float]:
    """How much of the question's idf-weighted terms each candidate's text (with its context) covers."""
    return [coverage(weights, set(terms(v))) for v in views]


def _reader_view(c: Candidate, tools: Toolkit) -> str:
    """What the reader reads of a candidate. It reads English: a Chinese sentence whose
    paragraph has an aligned English translation is read through that translation."""
    para = c.passage.paragraph
    if para.lang == "zh":
        english = [tools.paragraphs.get((para.exhibit, n)) for n in para.aligned]
        text = " ".join(p.text for p in english if p is not None and p.lang == "en")
        if text:
            return reader_text(text, para.title)
    before = split_sentences(para.text)[c.index - 1] if c.index > 0 else ""
    return reader_text(c.sentence, para.title, before)


def _with_antecedent(c: Candidate) -> list[Candidate]:
    """``c``, after the sentence before it when ``c`` opens with "As a result" or "Therefore":
    the reason it gives the consequence of is there."""
    before = previous(c) if BACKWARD_RE.search(c.sentence) else None
    return [before, c] if before is not None else [c]


def _refuse(why: str, support: float = 0.0) -> Draft:
    return Draft(REFUSAL, (), refused=True, notes=(why,), support=support)
