"""Training and validation groups for the reader, built from ../shared/training in place.

A *group* is one question with a few candidate sentences, as the product shows them to the
reader: each candidate is the sentence followed by its context (document title and the
sentence before it). Its label is the index of the sentence that answers, or -1 when the
source says the document does not answer (SQuAD 2.0 unanswerable, CUAD "no clause",
ContractNLI NotMentioned / Contradiction, or a near-miss made here by swapping a year or a
name). Candidates come the way retrieval brings them: sentences of the few paragraphs of the
same article (contract) that share the most rare words with the question, so the negatives are
the hard ones a record holds, not random text. Articles and contracts are split by name; the
validation split chooses every setting. Nothing here is written into the repository.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.train_scorer import Item, near_misses
from qa.answering.reader import reader_text
from qa.text import split_sentences, terms

# SQuAD 2.0 articles held out to choose settings and thresholds: the scorer's three (so the
# figures compare with it) and the two dev articles with the most unanswerable questions.
VALIDATION_ARTICLES = frozenset({"Normans", "Force", "Spectre_(2015_film)", "Geology", "Private_school"})
_MIN_CHARS, _MAX_CHARS = 15, 700


@dataclass(frozen=True)
class Group:
    """A question, its candidate texts, and which one answers (-1: none does)."""

    question: str
    texts: tuple[str, ...]
    label: int
    source: str


@dataclass(frozen=True)
class Doc:
    """A document's sentences in order, each with the paragraph it sits in."""

    title: str
    sentences: tuple[str, ...]
    starts: tuple[int, ...]  # character offset of each sentence in the document
    para: tuple[int, ...]  # paragraph number of each sentence


def doc_from_paragraphs(title: str, paragraphs: Sequence[str]) -> Doc:
    sents, starts, para = [], [], []
    offset = 0
    for n, p in enumerate(paragraphs):
        cursor = 0
        for s in split_sentences(p):
            i = p.find(s, cursor)
            cursor = i + len(s) if i >= 0 else cursor
            sents.append(" ".join(s.split()))
            starts.append(offset + max(i, 0))
            para.append(n)
        offset += len(p) + 2
    return Doc(title, tuple(sents), tuple(starts), tuple(para))


class Overlap:
    """Idf-weighted word overlap within one document: the cheap stand-in for retrieval."""

    def __init__(self, units: Sequence[str]):
        self.units = [set(terms(u)) for u in units]
        df = Counter(t for u in self.units for t in u)
        n = len(units)
        self.idf = {t: math.log(1 + n / c) for t, c in df.items()}

    def scores(self, question: str) -> list[float]:
        q = set(terms(question))
        return [sum(self.idf.get(t, 0.0) for t in q & u) for u in self.units]


def _top(scores: Sequence[float], k: int) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: -scores[i])[:k]


def _pool(doc: Doc, question: str, sent_overlap: Overlap, para_scores: list[float], paras: int) -> list[int]:
    """Candidate sentence indexes, best overlap first, from the ``paras`` best paragraphs."""
    keep = set(_top(para_scores, paras))
    s = sent_overlap.scores(question)
    idx = [i for i in range(len(doc.sentences)) if doc.para[i] in keep and _usable(doc.sentences[i])]
    return sorted(idx, key=lambda i: -s[i])


def _usable(s: str) -> bool:
    return _MIN_CHARS <= len(s) <= _MAX_CHARS


def _group(
    doc: Doc,
    question: str,
    positives: set[int],
    pool: list[int],
    size: int,
    rng: random.Random,
    source: str,
    must: Iterable[int] = (),
) -> Group | None:
    """``size`` candidates: one positive (if any), the hardest negatives, one random one."""
    negatives = [i for i in pool if i not in positives]
    chosen: list[int] = [i for i in dict.fromkeys(must) if i not in positives][: size - 1]
    pos = sorted(positives)
    if pos:
        chosen.insert(0, rng.choice(pos))
    hard = [i for i in negatives if i not in chosen]
    n_hard = max(0, size - len(chosen) - 1)
    chosen += hard[:n_hard]
    rest = [i for i in negatives if i not in chosen]
    if rest and len(chosen) < size:
        chosen.append(rng.choice(rest))
    chosen += [i for i in negatives if i not in chosen][: size - len(chosen)]
    if len(chosen) < 2:
        return None
    rng.shuffle(chosen)
    texts = tuple(
        reader_text(
            doc.sentences[i],
            doc.title,
            doc.sentences[i - 1] if i > 0 and doc.para[i - 1] == doc.para[i] else "",
        )
        for i in chosen
    )
    label = next((n for n, i in enumerate(chosen) if i in positives), -1)
    return Group(question, texts, label, source)


def _answer_sentences(doc: Doc, start: int, length: int) -> set[int]:
    """Sentences overlapping the character span [start, start + length)."""
    end = start + max(length, 1)
    out = set()
    for i, (s, t) in enumerate(zip(doc.starts, doc.sentences, strict=True)):
        if s < end and start < s + len(t):
            out.add(i)
    return out


def _split_of(name: str, share: float) -> str:
    h = int(hashlib.md5(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "validation" if h < share else "train"


# --- SQuAD ------------------------------------------------------------------------------------


def _squad_articles(data: Path) -> list[tuple[dict[str, Any], str]]:
    """(article, source) for every SQuAD 2.0 article, and the SQuAD 1.1 train articles
    those files do not already hold."""
    v2 = [
        (data / "squad2-dev-6" / "dev-v2.0.6articles.json", "squad2"),
        (data / "squad2-dev-19" / "dev-v2.0.19articles.json", "squad2"),
        (data / "squad2-train" / "train-v2.0.first10articles.json", "squad2"),
    ]
    out = [(a, src) for f, src in v2 for a in json.loads(f.read_text(encoding="utf-8"))["data"]]
    seen = {a["title"] for a, _ in out}
    v11 = json.loads((data / "squad1.1-train-explorer" / "train-v1.1.from-explorer.json").read_text("utf-8"))
    out += [(a, "squad1") for a in v11["data"] if a["title"] not in seen]
    return out


def squad_groups(data: Path, split: str, size: int, rng: random.Random, squad1_questions: int) -> list[Group]:
    groups: list[Group] = []
    articles = [
        (a, s)
        for a, s in _squad_articles(data)
        if (a["title"] in VALIDATION_ARTICLES) == (split == "validation")
    ]
    squad1 = [(a, s) for a, s in articles if s == "squad1"]
    # SQuAD 1.1 has only answerable questions: a sample of its articles, spread over topics.
    per_article = max(1, squad1_questions // max(1, len(squad1)))
    for article, source in articles:
        paragraphs = [p["context"] for p in article["paragraphs"]]
        doc = doc_from_paragraphs(article["title"], paragraphs)
        sent_overlap = Overlap(doc.sentences)
        para_overlap = Overlap(paragraphs)
        offsets = [0]
        for p in paragraphs[:-1]:
            offsets.append(offsets[-1] + len(p) + 2)
        items: list[tuple[Item, int, dict[str, Any]]] = []
        for n, p in enumerate(article["paragraphs"]):
            for qa in p["qas"]:
                answers = tuple(a["text"] for a in qa.get("answers", []))
                items.append((Item(qa["id"], qa["question"], p["context"], answers), n, qa))
        if source == "squad1":
            items = rng.sample(items, min(per_article, len(items)))
        twins = near_misses([it for it, _, _ in items], paragraphs, rng)
        twin_of = {t.qid.removesuffix("-swap"): t for t in twins}
        for it, n, qa in items:
            answer_spans = qa.get("answers") or []
            positives = set()
            for a in answer_spans:
                positives |= _answer_sentences(doc, offsets[n] + a["answer_start"], len(a["text"]))
            # Any other sentence holding the answer text also answers.
            texts = [a["text"] for a in answer_spans]
            positives |= {i for i, s in enumerate(doc.sentences) if any(t and t in s for t in texts)}
            must = []
            for a in qa.get("plausible_answers") or []:
                must += sorted(_answer_sentences(doc, offsets[n] + a["answer_start"], len(a["text"])))
            if not answer_spans:
                # The paragraph the adversarial question was written against holds its best decoy.
                in_para = [i for i in range(len(doc.sentences)) if doc.para[i] == n]
                s = sent_overlap.scores(it.question)
                must += sorted(in_para, key=lambda i: -s[i])[:1]
            pool = _pool(doc, it.question, sent_overlap, para_overlap.scores(it.question), 3)
            g = _group(doc, it.question, positives if answer_spans else set(), pool, size, rng, source, must)
            if g is not None and (g.label >= 0 or not answer_spans):
                groups.append(g)
            twin = twin_of.get(it.qid)
            if twin is not None and positives and rng.random() < 0.5:
                # The swapped question's hardest decoy is the sentence that answered the original.
                tpool = _pool(doc, twin.question, sent_overlap, para_overlap.scores(twin.question), 3)
                tg = _group(doc, twin.question, set(), tpool, size, rng, "near-miss", sorted(positives)[:1])
                if tg is not None:
                    groups.append(tg)
    return groups


# --- CUAD ---------------------------------------------------------------------------------------


def cuad_question(description: str) -> str | None:
    """A category's description as a question a lawyer would ask, or None if it is not one."""
    first = re.split(r"(?<=\?)\s", description.strip(), maxsplit=1)[0].strip()
    if first.endswith("?"):
        return first
    if re.match(r"(?:The|A|An)\b", first):
        return f"What is {first[0].lower()}{first[1:]}?"
    return None


CUAD_SHARE = 0.1  # of contracts (by a hash of the file name) held out for validation


def cuad_groups(
    data: Path, split: str, size: int, rng: random.Random, n: int, share: float = CUAD_SHARE
) -> list[Group]:
    folder = data / "cuad"
    template = json.loads((folder / "cuad_v1_questions.json").read_text("utf-8"))["questions"]
    questions = {c: cuad_question(q.split("Details: ", 1)[1]) for c, q in template.items()}
    rows = [json.loads(line) for line in (folder / "cuad_v1_qa_spans.jsonl").read_text("utf-8").splitlines()]
    rows = [
        r
        for r in rows
        if questions.get(r["category"])
        and _split_of(r["contract_file"], share) == split
        and (r["is_impossible"] or r["answers"])
    ]
    rng.shuffle(rows)
    # Balanced: as many stated as not-stated clauses.
    yes = [r for r in rows if not r["is_impossible"]][: n // 2]
    no = [r for r in rows if r["is_impossible"]][: n - len(yes)]
    docs: dict[str, tuple[Doc, Overlap, Overlap, list[str]]] = {}
    groups = []
    for r in yes + no:
        f = r["contract_file"]
        if f not in docs:
            text = (folder / "full_contract_txt" / f).read_text("utf-8")
            paragraphs = re.split(r"\n\s*\n", text)
            doc = doc_from_paragraphs(
                f.rsplit("_", 1)[-1].removesuffix(".txt"), paragraphs
            )  # "Affiliate Agreement"
            # Offsets into the contract file, not the re-joined paragraphs.
            starts, cursor = [], 0
            for s in doc.sentences:
                i = _find_loose(text, s, cursor)
                starts.append(i if i >= 0 else cursor)
                cursor = i + 1 if i >= 0 else cursor
            doc = Doc(doc.title, doc.sentences, tuple(starts), doc.para)
            docs[f] = (doc, Overlap(doc.sentences), Overlap(paragraphs), paragraphs)
        doc, sent_overlap, para_overlap, _ = docs[f]
        q = str(questions[r["category"]])
        positives: set[int] = set()
        for a in r["answers"]:
            positives |= _answer_sentences(doc, a["answer_start"], len(a["text"]))
        pool = _pool(doc, q, sent_overlap, para_overlap.scores(q), 4)
        g = _group(doc, q, positives, pool, size, rng, "cuad")
        if g is not None and (g.label >= 0) == (not r["is_impossible"]):
            groups.append(g)
    return groups


def _find_loose(text: str, sentence: str, start: int) -> int:
    """Where ``sentence`` (whitespace collapsed) begins in ``text`` at or after ``start``."""
    words = sentence.split()
    if not words:
        return -1
    pattern = r"\s+".join(re.escape(w) for w in words[:6])
    m = re.compile(pattern).search(text, start)
    return m.start() if m else -1


# --- ContractNLI ------------------------------------------------------------------------------


def contractnli_groups(
    data: Path, split: str, size: int, rng: random.Random, n: int, share: float = 0.15
) -> list[Group]:
    groups = []
    for name in ("dev.json", "test.json"):
        d = json.loads((data / "contractnli" / name).read_text("utf-8"))
        labels = d["labels"]
        for doc_json in d["documents"]:
            if _split_of(f"cnli-{doc_json['id']}-{name}", share) != split:
                continue
            text = doc_json["text"]
            spans = [" ".join(text[a:b].split()) for a, b in doc_json["spans"]]
            doc = Doc("", tuple(spans), tuple(a for a, _ in doc_json["spans"]), tuple(range(len(spans))))
            overlap = Overlap(spans)
            for key, ann in doc_json["annotation_sets"][0]["annotations"].items():
                q = labels[key]["hypothesis"]
                s = overlap.scores(q)
                pool = [i for i in _top(s, 12) if _usable(spans[i])]
                if ann["choice"] == "Entailment":
                    g = _group(doc, q, set(ann["spans"]), pool, size, rng, "contractnli")
                else:
                    # Not mentioned, or the contract says the opposite: either way it does not
                    # support the statement; a contradicting span is the hardest decoy.
                    g = _group(doc, q, set(), pool, size, rng, "contractnli", ann["spans"][:1])
                if g is not None:
                    groups.append(g)
    rng.shuffle(groups)
    return groups[:n]


def build(
    data: Path,
    split: str,
    seed: int = 13,
    size: int = 4,
    squad1_questions: int = 5000,
    cuad: int = 1600,
    contractnli: int = 1200,
) -> list[Group]:
    """Every group of ``split`` ("train" or "validation"), shuffled reproducibly."""
    if not (data / "squad2-dev-19").is_dir():
        raise SystemExit(f"{data} is not the training folder: give --data ../shared/training")
    rng = random.Random(f"{seed}-{split}")
    groups = squad_groups(data, split, size, rng, squad1_questions if split == "train" else 0)
    groups += cuad_groups(data, split, size, rng, cuad if split == "train" else cuad // 8)
    groups += contractnli_groups(
        data, split, size, rng, contractnli if split == "train" else contractnli // 6
    )
    rng.shuffle(groups)
    return groups


def summary(groups: Sequence[Group]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for g in groups:
        s = out.setdefault(g.source, {"questions": 0, "unanswerable": 0, "pairs": 0})
        s["questions"] += 1
        s["unanswerable"] += g.label < 0
        s["pairs"] += len(g.texts)
    return out
