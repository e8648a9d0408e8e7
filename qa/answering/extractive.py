"""The offline answerer: the answer is made of verbatim sentences of the retrieved paragraphs.

Each sentence of the top passages is scored by how much of the question it covers (terms
weighted by rarity in the record), by how close it is to the question in embedding space, and by
whether it holds the kind of fact asked for (a number for "how many", a date for "when"). The
best sentences are quoted with their pin cites; when even the best is weak, the answerer refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from qa.answering.base import REFUSAL, Draft, Toolkit
from qa.questions import exhibits_named, question_type, specific_words
from qa.settings import Settings
from qa.text import split_sentences, terms
from qa.types import Citation, Passage

# Cosines of e5 sit in a compressed band; this maps the useful part of it onto 0..1.
_COS_FLOOR, _COS_SPAN = 0.75, 0.17
# Embedding candidate sentences dominates an answer's time (~30 ms a legal sentence). They are
# pre-ranked by fact type, question words and the paragraph's stored vector (free), so a
# paraphrased question's paragraph still gets its sentences embedded. On the gold set, going
# 24 -> 8 -> 4 -> 3 embedded sentences kept or raised every answer metric (answerable accuracy
# 64.9 -> 66.0%, citation precision 62.4 -> 67.8%: fewer weak runner-ups to quote) while the
# answer p50 with cold caches fell to 133 ms.
_MAX_SENTENCES_EMBEDDED = 3


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
    para_dense: float = 0.0

    @property
    def score(self) -> float:
        lexical = 0.7 * self.coverage + 0.3 * self.para_coverage
        return 0.5 * lexical + 0.4 * self.dense + (0.1 if self.type_match else 0.0)

    @property
    def support(self) -> float:
        """Evidence that the record speaks to the question at all (used to refuse)."""
        return max(0.6 * self.coverage + 0.4 * self.dense, 0.5 * self.para_coverage + 0.5 * self.dense)


def _scaled(cos: float) -> float:
    return float(np.clip((cos - _COS_FLOOR) / _COS_SPAN, 0.0, 1.0))


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
        closeness = tools.closeness(question, [(p.paragraph.exhibit, p.paragraph.number) for p in passages])
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
                        type_match=qtype.matches(sentence, question),
                        para_dense=_scaled(closeness[rank]),
                    )
                )
        if not cands:
            return []
        # Embedding every sentence would cost ~15 ms each; the lexical pre-score keeps the few
        # that can win. Chinese sentences share no words with an English question and rarely
        # make the cut, one reason the extractive answerer scores 0/9 on bilingual items.
        # Only sentences holding the kind of fact asked for can be quoted: they are embedded first.
        cands.sort(
            key=lambda c: (c.type_match, c.coverage + c.para_coverage + c.para_dense, -c.rank), reverse=True
        )
        head = cands[:_MAX_SENTENCES_EMBEDDED]
        # A sentence that is its whole paragraph was embedded at index time (same text, same
        # vector): its cosine is the paragraph's. Headings change what was embedded, though.
        stored = {
            i: closeness[c.rank]
            for i, c in enumerate(head)
            if not self.settings.contextual_headings and c.sentence == c.passage.paragraph.text.strip()
        }
        todo = [i for i in range(len(head)) if i not in stored]
        cos = dict(stored)
        if todo:
            qv = np.asarray(tools.embed_query(question), dtype=np.float32)
            sv = np.asarray(tools.embed_texts([head[i].sentence for i in todo]), dtype=np.float32)
            cos.update(zip(todo, (float(x) for x in sv @ qv), strict=True))
        scored = [replace(c, dense=_scaled(cos[i])) for i, c in enumerate(head)]
        return sorted(scored, key=lambda c: c.score, reverse=True)

    def answer(self, question: str, passages: Sequence[Passage], tools: Toolkit) -> Draft:
        named = {str(n) for n in exhibits_named(question)}
        absent = [w for w in specific_words(question) if w not in named and not _mentioned(w, tools)]
        if absent:
            return _refuse("the record never mentions " + ", ".join(absent))
        qtype = question_type(question)
        typed = [c for c in self.candidates(question, passages, tools) if c.type_match]
        if not typed:
            return _refuse(f"no retrieved sentence holds a {qtype.kind} fact")
        best = typed[0]
        if best.support < self.settings.refuse_below:
            return _refuse(f"best support {best.support:.2f} < {self.settings.refuse_below}", best.support)
        # A second sentence close behind the best often holds the fact the best only frames;
        # lists gather more.
        limit = (
            self.settings.max_answer_sentences
            if qtype.kind == "list"
            else min(2, self.settings.max_answer_sentences)
        )
        keep_above = 0.8 if qtype.kind == "list" else 0.85
        chosen = [best]
        for c in typed[1:]:
            if len(chosen) >= limit or c.score < keep_above * best.score:
                break
            if all(c.sentence != o.sentence for o in chosen):
                chosen.append(c)
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
        return Draft(text, citations, refused=False, support=best.support)


# "Korean" when the record says "Korea", "Vietnamese" for "Vietnam".
_DEMONYM_ENDINGS = ("ian", "ese", "an", "n", "i")


def _mentioned(word: str, tools: Toolkit) -> bool:
    """Whether the record uses ``word`` (a name or figure), allowing for demonyms."""
    if all(tools.df(t) > 0 for t in terms(word)):
        return True
    lower = word.lower()
    return any(
        lower.endswith(end) and all(tools.df(t) > 0 for t in terms(lower[: -len(end)]) or ["\0"])
        for end in _DEMONYM_ENDINGS
        if len(lower) - len(end) >= 4
    )


def _refuse(why: str, support: float = 0.0) -> Draft:
    return Draft(REFUSAL, (), refused=True, notes=(why,), support=support)
