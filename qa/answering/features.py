"""What the answer scorer sees of a candidate sentence: features any record has.

Every sentence of every retrieved paragraph becomes one row of numbers, built only from the
question, the paragraph, the record's term rarities and the stored vectors, so that a model
trained on one collection of documents (public QA data) applies to any record. The same
function builds the rows at training time (``eval.train_scorer``) and when answering.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.answering.base import Toolkit
from qa.questions import QuestionType, exhibits_named, question_type, specific_words
from qa.text import split_sentences, terms
from qa.types import Passage

# The columns, in order. The model file names them too, so a model trained on another list is
# refused at load time instead of being applied to the wrong numbers.
FEATURES = (
    "cov_s",  # idf-weighted share of the question's terms in the sentence
    "cov_p",  # ... in its paragraph
    "cov_win",  # ... in the sentence and its neighbours
    "bigram_s",  # share of the question's adjacent term pairs found adjacent in the sentence
    "miss_s",  # rarest question term missing from the sentence (its idf over the question's highest)
    "miss_p",  # ... missing from the paragraph
    "absent_record",  # the question's names and figures the record never uses (0, 0.5, 1)
    "names_s",  # share of the question's names in the sentence
    "names_p",  # ... in the paragraph
    "nums_s",  # share of the question's numbers and years in the sentence
    "nums_p",  # ... in the paragraph
    "year_conflict",  # the question names a year; the paragraph names others but not it
    "type_match",  # the sentence holds the kind of fact asked for, beyond what the question gives
    "typed_match",  # type_match for a question that asks for a number, date, name or list
    "kind_numeric",
    "kind_date",
    "kind_name",
    "kind_list",
    "neg_mismatch",  # one of question and sentence is negated, the other not
    "first",  # the paragraph's first sentence
    "position",  # where in the paragraph, 0..1
    "length",  # log words of the sentence
    "new_terms",  # share of the sentence's terms the question does not use
    "rank_inv",  # 1 / (1 + retrieval rank of the paragraph)
    "pcos",  # cosine of question and the paragraph's stored vector
    "pcos_rel",  # pcos minus the best pcos among the passages
    "scos",  # cosine of question and sentence (the paragraph's when the sentence is not embedded)
    "scos_rel",  # scos minus the best scos among the candidates
    "cov_rel",  # cov_s minus the best cov_s among the candidates
    "q_terms",  # log of the question's content terms
    "cov_focus",  # cov_s, each term weighted by the share of retrieved paragraphs that lack it
    "focus_rel",  # cov_focus minus the best cov_focus among the candidates
)
INDEX = {name: i for i, name in enumerate(FEATURES)}

# "No. 6" and "No 6" number a document or an item: not a negation.
_NEGATION_RE = re.compile(r"\b(?:not|no(?!\.?\s*\d)|never|none|neither|nor|without|cannot|n't)\b|n't\b", re.I)
# "2021", "FY2021", "2021-22": a year however it is prefixed.
_YEAR_RE = re.compile(r"(?<!\d)(?:1[5-9]|20)\d\d(?!\d)")
_MIN_SENTENCE_CHARS = 12


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved paragraph that might answer the question."""

    passage: Passage
    rank: int  # the paragraph's retrieval rank
    index: int  # the sentence's place in its paragraph
    sentence: str
    type_match: bool


def _neighbour(c: Candidate, step: int) -> Candidate | None:
    sentences = split_sentences(c.passage.paragraph.text)
    i = c.index + step
    if 0 <= i < len(sentences) and sentences[i] != c.sentence:
        return Candidate(c.passage, c.rank, i, sentences[i], c.type_match)
    return None


def previous(c: Candidate) -> Candidate | None:
    """The sentence before ``c`` in its paragraph, as a candidate, if there is one."""
    return _neighbour(c, -1)


def following(c: Candidate) -> Candidate | None:
    """The sentence after ``c`` in its paragraph, as a candidate, if there is one."""
    return _neighbour(c, 1)


@dataclass(frozen=True)
class Question:
    """What the features need to know about the question, worked out once."""

    text: str
    kind: QuestionType
    weights: dict[str, float]
    bigrams: frozenset[tuple[str, str]]
    names: tuple[str, ...]
    numbers: tuple[str, ...]
    years: frozenset[str]
    absent: tuple[str, ...]  # names and figures the record never uses
    negated: bool


def read_question(question: str, tools: Toolkit) -> Question:
    named = {str(n) for n in exhibits_named(question)}
    q_terms = [t for t in terms(question) if t not in named]
    words = [w for w in specific_words(question) if w not in named]
    return Question(
        text=question,
        kind=question_type(question),
        # In the question's order: summed in a set's order, which changes from process to
        # process (string hashing), the same weights gave coverages differing in the last bits.
        weights={t: tools.idf(t) for t in dict.fromkeys(q_terms)},
        bigrams=frozenset(zip(q_terms, q_terms[1:], strict=False)),
        names=tuple(w for w in words if not w[0].isdigit()),
        numbers=tuple(w for w in words if w[0].isdigit()),
        years=frozenset(_YEAR_RE.findall(question)),
        absent=tuple(w for w in words if not mentioned(w, tools)),
        negated=negated(question),
    )


def negated(text: str) -> bool:
    """Whether ``text`` says something is not so ("not", "no", "never", "without", "n't")."""
    return bool(_NEGATION_RE.search(text))


# "Korean" when the record says "Korea", "Vietnamese" for "Vietnam".
DEMONYM_ENDINGS = ("ian", "ese", "an", "n", "i")


def mentioned(word: str, tools: Toolkit) -> bool:
    """Whether the record uses ``word`` (a name or figure), allowing for demonyms."""
    if all(tools.df(t) > 0 for t in terms(word)):
        return True
    lower = word.lower()
    return any(
        lower.endswith(end) and all(tools.df(t) > 0 for t in terms(lower[: -len(end)]) or ["\0"])
        for end in DEMONYM_ENDINGS
        if len(lower) - len(end) >= 4
    )


def coverage(weights: dict[str, float], have: set[str]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in have) / total if total else 0.0


def _missing(weights: dict[str, float], have: set[str]) -> float:
    top = max(weights.values(), default=0.0)
    gone = [w for t, w in weights.items() if t not in have]
    return max(gone) / top if gone and top else 0.0


def _share(words: Sequence[str], text: str) -> float:
    """Share of ``words`` (names or figures) that occur in ``text``; 1 when there are none."""
    if not words:
        return 1.0
    have = set(terms(text))
    return sum(1 for w in words if set(terms(w)) <= have) / len(words)


def candidates(passages: Sequence[Passage], q: Question) -> list[Candidate]:
    """Every sentence of the passages long enough to quote, in reading order."""
    out = []
    for rank, passage in enumerate(passages):
        for i, sentence in enumerate(split_sentences(passage.paragraph.text)):
            if len(sentence) >= _MIN_SENTENCE_CHARS:
                out.append(Candidate(passage, rank, i, sentence, q.kind.matches(sentence, q.text)))
    return out


def rows(
    q: Question,
    cands: Sequence[Candidate],
    pcos: Sequence[float],
    scos: dict[int, float] | None = None,
    framed: bool = False,
) -> np.ndarray:
    """The feature matrix of ``cands`` (one row each, columns as FEATURES).

    ``pcos`` is the question's cosine to each passage's stored vector; ``scos`` the cosines of
    the sentences that were embedded, by candidate position (the others use their paragraph's).
    ``framed`` rows leave out of the coverage, name and figure columns what the question shares
    with the candidates' document titles and headings (``_without_frames``, ``_unframed``).
    """
    scos = scos or {}
    x = np.zeros((len(cands), len(FEATURES)), dtype=np.float32)
    if not cands:
        return x
    best_pcos = max(pcos) if len(pcos) else 0.0
    para_cache: dict[int, tuple[set[str], list[str]]] = {}
    kinds = {"numeric": "kind_numeric", "date": "kind_date", "name": "kind_name", "list": "kind_list"}
    q_terms = len(q.weights)
    weights = _without_frames(q.weights, cands) if framed else q.weights
    focus = _focus_weights(weights, cands)
    for j, c in enumerate(cands):
        text = c.passage.paragraph.text
        if c.rank not in para_cache:
            para_cache[c.rank] = (set(terms(text)), split_sentences(text))
        p_terms, sentences = para_cache[c.rank]
        s_list = terms(c.sentence)
        s_terms = set(s_list)
        around = " ".join(sentences[max(0, c.index - 1) : c.index + 2])
        pairs = set(zip(s_list, s_list[1:], strict=False))
        sent_years = set(_YEAR_RE.findall(text))
        row = x[j]
        row[INDEX["cov_s"]] = coverage(weights, s_terms)
        row[INDEX["cov_p"]] = coverage(weights, p_terms)
        row[INDEX["cov_win"]] = coverage(weights, set(terms(around)))
        row[INDEX["bigram_s"]] = len(q.bigrams & pairs) / len(q.bigrams) if q.bigrams else 0.0
        row[INDEX["miss_s"]] = _missing(weights, s_terms)
        row[INDEX["miss_p"]] = _missing(weights, p_terms)
        row[INDEX["absent_record"]] = min(len(q.absent), 2) / 2
        names, numbers = _unframed(q, c.passage) if framed else (q.names, q.numbers)
        row[INDEX["names_s"]] = _share(names, c.sentence)
        row[INDEX["names_p"]] = _share(names, text)
        row[INDEX["nums_s"]] = _share(numbers, c.sentence)
        row[INDEX["nums_p"]] = _share(numbers, text)
        row[INDEX["year_conflict"]] = float(bool(q.years and sent_years and not (q.years & sent_years)))
        row[INDEX["type_match"]] = float(c.type_match)
        row[INDEX["typed_match"]] = float(c.type_match and q.kind.kind != "other")
        if q.kind.kind in kinds:
            row[INDEX[kinds[q.kind.kind]]] = 1.0
        row[INDEX["neg_mismatch"]] = float(q.negated != negated(c.sentence))
        row[INDEX["first"]] = float(c.index == 0)
        row[INDEX["position"]] = c.index / max(1, len(sentences) - 1)
        row[INDEX["length"]] = math.log1p(len(c.sentence.split())) / 4
        row[INDEX["new_terms"]] = len(s_terms - set(q.weights)) / len(s_terms) if s_terms else 0.0
        row[INDEX["rank_inv"]] = 1 / (1 + c.rank)
        row[INDEX["pcos"]] = pcos[c.rank]
        row[INDEX["pcos_rel"]] = pcos[c.rank] - best_pcos
        row[INDEX["scos"]] = scos.get(j, pcos[c.rank])
        row[INDEX["q_terms"]] = math.log1p(q_terms) / 3
        row[INDEX["cov_focus"]] = coverage(focus, s_terms)
    x[:, INDEX["scos_rel"]] = x[:, INDEX["scos"]] - x[:, INDEX["scos"]].max()
    x[:, INDEX["cov_rel"]] = x[:, INDEX["cov_s"]] - x[:, INDEX["cov_s"]].max()
    x[:, INDEX["focus_rel"]] = x[:, INDEX["cov_focus"]] - x[:, INDEX["cov_focus"]].max()
    return x


def _without_frames(weights: dict[str, float], cands: Sequence[Candidate]) -> dict[str, float]:
    """The question's term weights less the terms a candidate's document title or heading holds
    (all of them if that leaves none): the words naming the document found the document; within
    it, the sentence that answers is the one holding the rest."""
    frames: set[str] = set()
    for text in {f"{c.passage.paragraph.title} {c.passage.paragraph.heading}" for c in cands}:
        frames.update(terms(text))
    rest = {t: w for t, w in weights.items() if t not in frames}
    return rest or weights


def _unframed(q: Question, passage: Passage) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The question's names and figures less those its document's title and heading hold.

    A record's questions name the document they ask about ("the State Council's May 5
    meeting", "China's 15th Five-Year Plan"); the paragraphs of that document say "the
    meeting", "the plan". Those names tell documents apart, not the paragraphs within one."""
    frame = set(terms(f"{passage.paragraph.title} {passage.paragraph.heading}"))
    if not frame:
        return q.names, q.numbers
    return (
        tuple(w for w in q.names if not set(terms(w)) <= frame),
        tuple(w for w in q.numbers if not set(terms(w)) <= frame),
    )


def _focus_weights(weights: dict[str, float], cands: Sequence[Candidate]) -> dict[str, float]:
    """The question's term weights, each scaled by the share of the retrieved paragraphs that
    lack the term. Terms every retrieved paragraph shares (the issuing body, the industry) are
    why those paragraphs were retrieved, not what tells them apart: the sentence that answers is
    the one holding the question's other terms."""
    texts = {c.rank: c.passage.paragraph.text for c in cands}
    if not texts:
        return {}
    have = [set(terms(t)) for t in texts.values()]
    return {t: w * (1 - sum(t in h for h in have) / len(have)) for t, w in weights.items()}


def with_sentence_cosines(x: np.ndarray, scos: dict[int, float]) -> np.ndarray:
    """``x`` with the cosines of the embedded sentences filled in (and the relative column redone)."""
    x = x.copy()
    for j, cos in scos.items():
        x[j, INDEX["scos"]] = cos
    x[:, INDEX["scos_rel"]] = x[:, INDEX["scos"]] - x[:, INDEX["scos"]].max()
    return x
