"""Questions asked of an indexed record, the product's way, for training and measuring the reader.

SQuAD articles become a record of exhibits that the product's own pipeline indexes; each question
is retrieved (k as in the settings) and every sentence of the retrieved paragraphs is a candidate,
read as the reader reads it (``_reader_view``). ``eval.fit_reader`` measures the reader on the
validation articles this way; ``record_groups`` makes training groups from the training articles
the same way, so the reader learns from the candidates it will meet (the answer sentence among
the prefilter's picks from eight paragraphs, or not there at all) rather than only from groups
of four overlap-picked sentences of one article. Nothing here is written into the repository.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.reader_data import CUAD_SHARE, VALIDATION_ARTICLES, Group, _split_of, _squad_articles, cuad_question
from eval.train_scorer import Item, Split, near_misses, write_record
from qa.cites import normalize
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.answering.extractive import Judgement
    from qa.answering.features import Candidate, Question
    from qa.retrieve import Retriever
    from qa.types import Passage


RECORDS = Path.home() / ".cache" / "exhibitqa" / "records"  # indexed records and their groups
VERSION = 1  # of how groups are made here: a change to it makes new groups, not reused ones


@dataclass(frozen=True)
class Asked:
    """One question asked of the record: what retrieval returned and which candidates answer."""

    item: Item
    question: Question
    passages: tuple[Passage, ...]
    candidates: tuple[Candidate, ...]
    views: tuple[str, ...]  # each candidate as the reader reads it
    right: tuple[bool, ...]


def article_split(name: str, articles: Sequence[dict[str, Any]], rng: random.Random, most: int = 0) -> Split:
    """The articles with their questions (at most ``most`` per article when given) and, for half
    of those that have one, a near-miss twin (a year or name swapped)."""
    split = Split(name)
    for article in articles:
        contexts = [p["context"] for p in article["paragraphs"]]
        items = [
            Item(qa["id"], qa["question"], p["context"], tuple(a["text"] for a in qa["answers"]))
            for p in article["paragraphs"]
            for qa in p["qas"]
        ]
        if most and len(items) > most:
            items = rng.sample(items, most)
        split.articles.append((article["title"], contexts))
        swapped = near_misses(items, contexts, rng)
        split.items.extend(items + rng.sample(swapped, min(len(swapped), len(items) // 2)))
    return split


def index_split(split: Split, work: Path, settings: Settings) -> Retriever:
    """The split's articles indexed as one record by the product's pipeline."""
    from index.store import build
    from qa.retrieve import Retriever

    record = write_record(split, work)
    s = settings.model_copy(update={"store": work / f"{split.name}.store"})
    build([record], s)
    return Retriever(s)


CLAUSE = 100  # characters: an answer this long is a clause, and any sentence of it answers


def is_right(item: Item, c: Candidate) -> bool:
    """The candidate sits in the paragraph the question was asked of and holds an answer (or,
    for a clause-long answer, is one of its sentences)."""
    answers = [normalize(a) for a in item.answers]
    sentence = normalize(c.sentence)
    return (
        bool(answers)
        and normalize(c.passage.paragraph.text) in normalize(item.context)
        and any(
            a and (a in sentence or (len(a) > CLAUSE and len(sentence) >= 30 and sentence in a))
            for a in answers
        )
    )


def asked(split: Split, retriever: Retriever, k: int) -> Iterator[Asked]:
    """Each of the split's questions, asked of its indexed record."""
    from qa.answering.extractive import _reader_view
    from qa.answering.features import candidates, read_question

    for n, it in enumerate(split.items):
        if n % 500 == 0:
            print(f"{split.name}: question {n}/{len(split.items)}", file=sys.stderr, flush=True)
        passages = retriever.search(it.question, k=k)
        q = read_question(it.question, retriever)
        cands = candidates(passages, q)
        views = tuple(_reader_view(c, retriever) for c in cands)
        yield Asked(it, q, tuple(passages), tuple(cands), views, tuple(is_right(it, c) for c in cands))


def judged(split: Split, work: Path, settings: Settings) -> Iterator[tuple[Asked, Judgement, dict[str, Any]]]:
    """Each question asked of the indexed split and judged by today's feature scorer, with the row
    every measurement starts from: labels, the absent-name rule, the scorer's support and pick."""
    from qa.answering.extractive import ExtractiveAnswerer

    retriever = index_split(split, work, settings)
    today = ExtractiveAnswerer(
        settings.model_copy(update={"judge": "scorer", "store": retriever.settings.store})
    )
    for a in asked(split, retriever, settings.k):
        t0 = time.perf_counter()
        j = today.judge(a.item.question, list(a.passages), retriever)
        row = {
            "answerable": bool(a.item.answers),
            "synthetic": a.item.synthetic,
            "absent": bool(a.question.absent),
            "y": list(a.right),
            "today_ms": (time.perf_counter() - t0) * 1000,
            "today_support": j.support,
            "today_right": bool(j.ranked) and is_right(a.item, j.ranked[0].candidate),
        }
        yield a, j, row


def group_of(
    question: str, order: Sequence[int], views: Sequence[str], right: Sequence[bool], read: int, source: str
) -> Group:
    """The first ``read`` candidates in the prefilter's ``order``; the label is the first right
    one among them (others that also hold the answer are left out, not taught as wrong), -1 when
    none is read."""
    order = order[:read]
    first = next((i for i in order if right[i]), None)
    texts = [views[i] for i in order if i == first or not right[i]]
    label = texts.index(views[first]) if first is not None else -1
    return Group(question, tuple(texts), label, source)


def truncate(g: Group, n: int) -> Group:
    """The group as a reader that reads the prefilter's first ``n`` candidates sees it."""
    return Group(g.question, g.texts[:n], g.label if g.label < n else -1, g.source)


def validation_split(data: Path, seed: int) -> Split:
    """The validation articles with their questions and near-miss twins (as the scorer's)."""
    articles = [a for a, _ in _squad_articles(data) if a["title"] in VALIDATION_ARTICLES]
    return article_split("reader-validation", articles, random.Random(seed))


def validation_sample(data: Path, seed: int, n: int) -> Split:
    """``n`` of the validation split's questions, sampled with ``seed``."""
    split = validation_split(data, seed)
    split.items = random.Random(seed).sample(split.items, min(n, len(split.items)))
    return split


MADE = Path(__file__).parent / "made"  # questions written here: see made/README.md
ANALYST = MADE / "analyst_questions.jsonl"  # about the validation articles
ANALYST_TRAINING = MADE / "analyst_training_questions.jsonl"  # about training articles


def _made_items(path: Path, articles: Sequence[tuple[str, list[str]]]) -> list[Item]:
    """The questions of ``path`` about these articles. Each line names its article and paragraph;
    near-misses of the articles' own facts count as synthetic, like the near-miss twins."""
    contexts = dict(articles)
    return [
        Item(
            q["id"],
            q["question"],
            contexts[q["article"]][q["paragraph"]],
            (q["answer"],) if q["answer"] else (),
            q["kind"] == "near-miss",
        )
        for q in map(json.loads, path.read_text("utf-8").splitlines())
        if q["article"] in contexts
    ]


def analyst_split(data: Path, seed: int, path: Path = ANALYST) -> Split:
    """The validation articles' record asked the questions written here in an analyst's style
    (long, multi-clause)."""
    split = validation_split(data, seed)  # its name too: the same record, indexed once
    split.items = _made_items(path, split.articles)
    return split


def analyst_training_records(data: Path, seed: int, path: Path = ANALYST_TRAINING) -> list[Split]:
    """The training records (as ``training_records`` makes them, so their indexes are shared)
    asked the analyst-style questions written about their articles; records with none are left out."""
    out = []
    for make in training_records(data, seed):
        record = make()
        record.items = _made_items(path, record.articles)
        if record.items:
            out.append(record)
    return out


def contract_records(data: Path, seed: int, contracts: int = 12, split: str = "validation") -> list[Split]:
    """CUAD contracts of ``split`` (``reader_data``'s: the reader never trained on the validation
    ones), one record each, asked every clause question; one is answerable when the contract has
    the clause."""
    folder = data / "cuad"
    template = json.loads((folder / "cuad_v1_questions.json").read_text("utf-8"))["questions"]
    questions = {c: cuad_question(q.split("Details: ", 1)[1]) for c, q in template.items()}
    rows = [json.loads(line) for line in (folder / "cuad_v1_qa_spans.jsonl").read_text("utf-8").splitlines()]
    files = sorted(
        {r["contract_file"] for r in rows if _split_of(r["contract_file"], CUAD_SHARE) == "validation"}
    )
    out = []
    for n, f in enumerate(random.Random(seed).sample(files, min(contracts, len(files)))):
        text = (folder / "full_contract_txt" / f).read_text("utf-8")
        record = Split(f"contract-{n:03d}" if split == "validation" else f"contract-train-{n:03d}")
        record.articles.append((f.rsplit("_", 1)[-1].removesuffix(".txt"), re.split(r"\n\s*\n", text)))
        record.items = [
            Item(f"{f}:{r['category']}", str(q), text, tuple(a["text"] for a in r["answers"]))
            for r in rows
            if r["contract_file"] == f and (q := questions.get(r["category"]))
        ]
        out.append(record)
    return out


def training_records(
    data: Path, seed: int, squad1_articles: int = 50, per_article: int = 100, per_record: int = 8
) -> list[Callable[[], Split]]:
    """The training articles (SQuAD 2.0's outside validation and a sample of SQuAD 1.1's), shuffled
    into records of ``per_record``; each made on demand, with its own random stream so that a
    resumed run makes the same questions."""
    rng = random.Random(seed)
    train = [(a, s) for a, s in _squad_articles(data) if a["title"] not in VALIDATION_ARTICLES]
    squad1 = [a for a, s in train if s == "squad1"]
    articles = [a for a, s in train if s != "squad1"] + rng.sample(squad1, min(squad1_articles, len(squad1)))
    rng.shuffle(articles)
    return [
        partial(
            article_split,
            f"record-train-{r:03d}",
            articles[at : at + per_record],
            random.Random(seed + r),
            per_article,
        )
        for r, at in enumerate(range(0, len(articles), per_record))
    ]


def record_groups(
    data: Path,
    work: Path,
    settings: Settings,
    seed: int,
    split: str = "train",
    squad1_articles: int = 50,
    per_article: int = 100,
    per_record: int = 8,
    read: int = 16,
) -> list[Group]:
    """Groups from the training articles, records of ``per_record`` articles each, or from the
    validation articles as one record (cached under ``work``; a cut-off run resumes at the
    record it stopped in)."""
    from qa.answering.extractive import reading_order

    params = f"{VERSION} {split} {seed} {squad1_articles} {per_article} {per_record} {read} {settings.k}"
    key = hashlib.md5(params.encode()).hexdigest()[:12]
    folder = work / f"record-groups-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    records = training_records(data, seed, squad1_articles, per_article, per_record)
    out: list[Group] = []
    for r in range(1 if split == "validation" else len(records)):
        done = folder / f"record-{r:03d}.jsonl"
        if not done.exists():
            asked_of = validation_split(data, seed) if split == "validation" else records[r]()
            retriever = index_split(asked_of, folder, settings)
            groups = [
                group_of(
                    a.item.question,
                    reading_order(a.question.weights, a.views),
                    a.views,
                    a.right,
                    read,
                    "near-miss" if a.item.synthetic else "record",
                )
                for a in asked(asked_of, retriever, settings.k)
            ]
            tmp = done.with_suffix(".tmp")
            tmp.write_text(
                "".join(json.dumps(g.__dict__, ensure_ascii=False) + "\n" for g in groups), "utf-8"
            )
            tmp.replace(done)
        out += [
            Group(d["question"], tuple(d["texts"]), d["label"], d["source"])
            for d in map(json.loads, done.read_text("utf-8").splitlines())
        ]
    return out
