"""The offline answerer: the answer is made of verbatim sentences of the retrieved paragraphs.

Each sentence of the top passages is scored by how much of the question it covers (terms
weighted by rarity in the record), by how close it is to the question in embedding space, and by
whether it holds the kind of fact asked for (a number for "how many", a date for "when"). The
best sentences are quoted with their pin cites; when even the best is weak, the answerer refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.answerers import REFUSAL, Draft, Toolkit
from qa.settings import Settings
from qa.text import exhibits_named, question_type, split_sentences, terms
from qa.types import Citation, Passage

# Cosines of e5 sit in a compressed band; this maps the useful part of it onto 0..1.
_COS_FLOOR, _COS_SPAN = 0.75, 0.17
_MAX_SENTENCES_EMBEDDED = 60


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved paragraph with the parts of its score."""

    passage: Passage
    rank: int
    sentence: str
    coverage: float
    para_coverage: float
    type_match: bool
    dense: float = 0.0

    @property
    def score(self) -> float:
        lexical = 0.7 * self.coverage + 0.3 * self.para_coverage
        return 0.5 * lexical + 0.4 * self.dense + (0.1 if self.type_match else 0.0)

    @property
    def support(self) -> float:
        """Evidence that the record speaks to the question at all (used to refuse)."""
        return max(0.6 * self.coverage + 0.4 * self.dense, 0.5 * self.para_coverage + 0.5 * self.dense)


def _coverage(q_weights: dict[str, float], have: set[str]) -> float:
    total = sum(q_weights.values())
    return sum(w for t, w in q_weights.items() if t in have) / total if total else 0.0


class ExtractiveAnswerer:
    """Answers with the best-supported verbatim sentences, or refuses."""

    name = "extractive"

    def __init__(self, settings: Settings):
        self.settings = settings

    def candidates(self, question: str, passages: Sequence[Passage], tools: Toolkit) -> list[Candidate]:
        """Every scored sentence of the passages, best first."""
        named = {str(n) for n in exhibits_named(question)}
        q_weights = {t: tools.idf(t) for t in set(terms(question)) if t not in named}
        qtype = question_type(question)
        cands: list[Candidate] = []
        for rank, passage in enumerate(passages):
            para_terms = set(terms(passage.paragraph.text))
            para_cov = _coverage(q_weights, para_terms)
            for sentence in split_sentences(passage.paragraph.text):
                if len(sentence) < 12:
                    continue
                cands.append(
                    Candidate(
                        passage=passage,
                        rank=rank,
                        sentence=sentence,
                        coverage=_coverage(q_weights, set(terms(sentence))),
                        para_coverage=para_cov,
                        type_match=qtype.matches(sentence),
                    )
                )
        if not cands:
            return []
        # Embedding every sentence would cost ~20 ms each; the lexical pre-score keeps the few
        # that can win (Chinese sentences, which share no words with an English question, stay
        # in through their passage's rank).
        cands.sort(key=lambda c: (c.coverage + c.para_coverage, -c.rank), reverse=True)
        head = cands[:_MAX_SENTENCES_EMBEDDED]
        qv = np.asarray(tools.embed_query(question), dtype=np.float32)
        sv = np.asarray(tools.embed_texts([c.sentence for c in head]), dtype=np.float32)
        cos = sv @ qv
        scored = [
            Candidate(
                c.passage, c.rank, c.sentence, c.coverage, c.para_coverage, c.type_match,
                dense=float(np.clip((cos_i - _COS_FLOOR) / _COS_SPAN, 0.0, 1.0)),
            )
            for c, cos_i in zip(head, cos)
        ]
        return sorted(scored, key=lambda c: c.score, reverse=True)

    def answer(self, question: str, passages: Sequence[Passage], tools: Toolkit) -> Draft:
        cands = self.candidates(question, passages, tools)
        qtype = question_type(question)
        typed = [c for c in cands if c.type_match]
        if not cands or not typed or typed[0].support < self.settings.refuse_below:
            best = f"{typed[0].support:.2f}" if typed else "none"
            return Draft(REFUSAL, (), refused=True, notes=(f"best support {best} < {self.settings.refuse_below}",))
        chosen = [typed[0]]
        limit = self.settings.max_answer_sentences if qtype.kind == "list" else 2
        keep_above = 0.8 if qtype.kind == "list" else 0.92
        for c in typed[1:]:
            if len(chosen) >= limit or c.score < keep_above * chosen[0].score:
                break
            if all(c.sentence != o.sentence for o in chosen):
                chosen.append(c)
        citations = tuple(
            Citation(c.passage.paragraph.exhibit, c.passage.paragraph.number, c.sentence) for c in chosen
        )
        text = "\n".join(f"\u201c{c.quote}\u201d {c.render()}" for c in citations)
        return Draft(text, citations, refused=False)
