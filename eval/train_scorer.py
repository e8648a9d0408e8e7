"""Train the answer scorer (qa/answering/scorer.json) on public QA data, never on the gold sets.

    python -m eval.train_scorer --data ../shared/training

SQuAD 2.0 articles become two records of exhibits (a training and a validation split, by
article), indexed by the product's own pipeline; every question is retrieved and turned into
candidate rows exactly as when answering. SQuAD's adversarial unanswerable questions, and
near-misses made here from its answerable ones (a year or a name swapped for one the passage
does not have), teach refusal. The same questions asked again with their article named
("According to the Normans document, ...") train the pair that picks the sentence shown. The
validation split alone chooses the regularisation and the refusal threshold, for a stated
false-refusal rate. The data is read in place and never
copied into the repository; only the coefficients are written, with a model card.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from eval.calibrate import fit_models, fit_pick, validate
from eval.scorer_card import write_card
from qa.answering.features import Candidate, candidates, read_question, rows
from qa.cites import normalize
from qa.settings import Settings
from qa.text import split_sentences

# Articles held out for choosing the model and its threshold: two from SQuAD dev (many
# adversarial unanswerables) and the train article with the most of them.
VALIDATION = ("Normans", "Force", "Spectre_(2015_film)")
# Train articles without unanswerable questions are capped: they would swamp the refusal signal.
ANSWERABLE_ONLY_CAP = 150
ANSWERABLE_ONLY = ("IPod", "Solar_energy", "Frédéric_Chopin")
_YEAR_RE = re.compile(r"(?<!\d)(?:1[5-9]\d\d|20\d\d)(?!\d)")
_NAME_RE = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:of\s+|de\s+)?[A-Z][a-z]+)*")
_NOT_NAMES = frozenset(
    "The This That These Those What Which When Where Who How Why In On At By For From".split()
)


@dataclass
class Item:
    """One training question, with the contexts it was asked of and its answers."""

    qid: str
    question: str
    context: str
    answers: tuple[str, ...]
    synthetic: bool = False


@dataclass
class Split:
    """The articles of one split and their questions."""

    name: str
    articles: list[tuple[str, list[str]]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)


def load_squad(data: Path) -> list[dict[str, Any]]:
    files = [
        data / "squad2-dev-6" / "dev-v2.0.6articles.json",
        data / "squad2-train" / "train-v2.0.first10articles.json",
    ]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        sys.exit(f"Missing training files: {', '.join(missing)}. Give --data the folder ../shared/training.")
    return [a for f in files for a in json.loads(f.read_text(encoding="utf-8"))["data"]]


def _names(text: str) -> list[str]:
    """Capitalised names in ``text`` that do not start a sentence ("Saudi Arabia", "Boulton")."""
    return [
        m.group(0)
        for m in _NAME_RE.finditer(text)
        if m.start() > 0 and not re.search(r"[.!?]\s*$", text[: m.start()]) and m.group(0) not in _NOT_NAMES
    ]


def near_misses(items: list[Item], contexts: list[str], rng: random.Random) -> list[Item]:
    """Unanswerable twins of answerable questions, the way a record's near-misses are made:
    one year or one name swapped for one the article uses elsewhere but the passage the
    question was asked of does not."""
    article = " ".join(contexts)
    years = sorted(set(_YEAR_RE.findall(article)))
    names = sorted(set(_names(article)))
    out = []
    for it in items:
        if not it.answers:
            continue
        slots = [("year", y) for y in _YEAR_RE.findall(it.question) if y in it.context]
        slots += [("name", n) for n in _names(it.question) if n in it.context]
        if not slots:
            continue
        kind, old = rng.choice(slots)
        pool = years if kind == "year" else names
        choices = [v for v in pool if v not in it.context and v not in it.question]
        if choices:
            new = rng.choice(choices)
            out.append(Item(it.qid + "-swap", it.question.replace(old, new), it.context, (), True))
    return out


def make_splits(data: Path, seed: int) -> list[Split]:
    rng = random.Random(seed)
    splits = {"train": Split("train"), "validation": Split("validation")}
    for article in load_squad(data):
        split = splits["validation" if article["title"] in VALIDATION else "train"]
        contexts = [p["context"] for p in article["paragraphs"]]
        items = [
            Item(qa["id"], qa["question"], p["context"], tuple(a["text"] for a in qa["answers"]))
            for p in article["paragraphs"]
            for qa in p["qas"]
        ]
        if article["title"] in ANSWERABLE_ONLY:
            items = rng.sample(items, min(ANSWERABLE_ONLY_CAP, len(items)))
        elif all(it.answers for it in items):
            continue  # an answerable-only article not on the list: left out to keep training short
        split.articles.append((article["title"], contexts))
        swapped = near_misses(items, contexts, rng)
        split.items.extend(items + rng.sample(swapped, min(len(swapped), len(items) // 2)))
    return list(splits.values())


def _lower_first(q: str) -> str:
    return q[0].lower() + q[1:] if len(q) > 1 and q[1].islower() else q


# A record's questions name the document they ask about ("Under the 2022 guidance, ..."); SQuAD's
# never name their article. These ask the same questions of their article by name.
FRAMINGS = (
    lambda q, t: f"According to the {t} document, {_lower_first(q)}",
    lambda q, t: f"In the {t} exhibit, {_lower_first(q)}",
    lambda q, t: f"{q.rstrip('?').rstrip()}, according to the exhibit on {t}?",
    lambda q, t: f"Under the {t} article, {_lower_first(q)}",
)


def framed(split: Split, rng: random.Random) -> Split:
    """The split's questions, each asked of its article by name in one of ``FRAMINGS`` (same
    articles, so the same record and index)."""
    title_of = {c: title.replace("_", " ") for title, contexts in split.articles for c in contexts}
    items = [
        Item(
            it.qid + "-named",
            rng.choice(FRAMINGS)(it.question, title_of[it.context]),
            it.context,
            it.answers,
            it.synthetic,
        )
        for it in split.items
    ]
    return Split(split.name, split.articles, items)


def write_record(split: Split, folder: Path) -> Path:
    """The split's articles as one record file of exhibits, one article each."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{split.name}.txt"
    parts = [
        f"EXHIBIT {n}\n\n{title.replace('_', ' ')}\n\n" + "\n\n".join(ctx)
        for n, (title, ctx) in enumerate(split.articles, 1)
    ]
    text = "\n\n".join(parts) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def featurise(
    split: Split,
    cache: Path,
    settings: Settings,
    name: str = "",
    label: Callable[[Item, Candidate], bool] | None = None,
) -> list[dict[str, Any]]:
    """Per question: candidate rows (plain and frame-aware), every candidate's sentence cosine,
    labels (cached under ``name``, by default the split's; ``label`` says whether a candidate is
    right, by default when its sentence holds an answer)."""
    from index.store import build
    from qa.retrieve import Retriever

    out_file = cache / f"{name or split.name}.features.npz"
    record = write_record(split, cache)
    s = settings.model_copy(update={"store": cache / f"{split.name}.store"})
    build([record], s)
    # The rows depend on the feature code (with the question and text rules it calls), the
    # questions and the record, nothing else here.
    import qa.answering.features as features_module
    import qa.questions as questions_module
    import qa.text as text_module

    key = hashlib.md5(
        b"".join(Path(str(m.__file__)).read_bytes() for m in (features_module, questions_module, text_module))
        + record.read_bytes()
        + "\n".join(it.question for it in split.items).encode()
        + (label.__name__.encode() if label else b"")
    ).hexdigest()
    if out_file.exists() and "key" in (z := np.load(out_file)).files and str(z["key"]) == key:
        return _load(out_file)
    retriever = Retriever(s)
    sentences = sorted({x for p in retriever.paragraphs.values() for x in split_sentences(p.text)})
    print(f"{split.name}: embedding {len(sentences)} sentences", file=sys.stderr)
    vectors: dict[str, np.ndarray] = {}
    for i in range(0, len(sentences), 64):
        chunk = sentences[i : i + 64]
        for t, v in zip(chunk, retriever.embed_texts(chunk), strict=True):
            vectors[t] = np.asarray(v, dtype=np.float32)
        retriever.clear_caches()
    out = []
    for n, it in enumerate(split.items):
        if n % 250 == 0:
            print(f"{split.name}: question {n}/{len(split.items)}", file=sys.stderr)
        passages = retriever.search(it.question, k=settings.k)
        q = read_question(it.question, retriever)
        cands = candidates(passages, q)
        keys = [(p.paragraph.exhibit, p.paragraph.number) for p in passages]
        pcos = retriever.closeness(it.question, keys)
        x = rows(q, cands, pcos)
        qv = np.asarray(retriever.embed_query(it.question), dtype=np.float32)
        context = normalize(it.context)
        answers = [normalize(a) for a in it.answers]
        y = [
            label(it, c)
            if label
            else bool(answers)
            and normalize(c.passage.paragraph.text) in context
            and any(a and a in normalize(c.sentence) for a in answers)
            for c in cands
        ]
        out.append(
            {
                "x": x,
                "xf": rows(q, cands, pcos, framed=True),
                "scos": np.asarray([float(vectors[c.sentence] @ qv) for c in cands], dtype=np.float32),
                "y": np.asarray(y, dtype=bool),
                "answerable": bool(answers),
                "synthetic": it.synthetic,
            }
        )
    _save(out_file, out, key)
    return out


def _save(path: Path, items: list[dict[str, Any]], key: str) -> None:
    arrays: dict[str, Any] = {"key": np.asarray(key)}
    for i, it in enumerate(items):
        arrays[f"x{i}"], arrays[f"f{i}"], arrays[f"s{i}"], arrays[f"y{i}"] = (
            it["x"],
            it["xf"],
            it["scos"],
            it["y"],
        )
    arrays["answerable"] = np.asarray([it["answerable"] for it in items])
    arrays["synthetic"] = np.asarray([it["synthetic"] for it in items])
    np.savez_compressed(path, **arrays)


def _load(path: Path) -> list[dict[str, Any]]:
    z = np.load(path)
    return [
        {
            "x": z[f"x{i}"],
            "xf": z[f"f{i}"],
            "scos": z[f"s{i}"],
            "y": z[f"y{i}"],
            "answerable": bool(a),
            "synthetic": bool(s),
        }
        for i, (a, s) in enumerate(zip(z["answerable"], z["synthetic"], strict=True))
    ]


def features(
    data: Path, cache: Path, seed: int
) -> tuple[tuple[Split, Split], tuple[list[dict[str, Any]], ...]]:
    """The two splits, and the rows of their questions asked plainly and with their article named
    (training, validation, training named, validation named), featurised once into ``cache``."""
    settings = Settings()
    train_split, val_split = make_splits(data, seed)
    train = featurise(train_split, cache, settings)
    val = featurise(val_split, cache, settings)
    rng = random.Random(seed)
    train_named = featurise(framed(train_split, rng), cache, settings, "train-named")
    val_named = featurise(framed(val_split, rng), cache, settings, "validation-named")
    return (train_split, val_split), (train, val, train_named, val_named)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/training"), help="the training data folder")
    p.add_argument(
        "--cache",
        type=Path,
        default=Settings().local_model_dir / "scorer-training",
        help="indexes and features",
    )
    p.add_argument("--out", type=Path, default=None, help="model file (default: the package's scorer.json)")
    p.add_argument(
        "--false-refusals", type=float, default=0.08, help="false-refusal rate the threshold is set for"
    )
    p.add_argument("--seed", type=int, default=13)
    args = p.parse_args(argv)
    from qa.answering.scorer import MODEL_PATH

    (train_split, val_split), (train, val, train_named, val_named) = features(
        args.data, args.cache, args.seed
    )
    scorer, choice = fit_models(train, val, args.false_refusals, args.seed)
    pick, choice["pick"] = fit_pick(train + train_named, val + val_named, args.seed)
    scorer = replace(scorer, pick=pick)
    report = validate(scorer, val, val_named)
    counts = {
        s.name: {
            "articles": [t for t, _ in s.articles],
            "questions": len(s.items),
            "unanswerable": sum(1 for i in s.items if not i.answers),
            "synthetic_near_misses": sum(1 for i in s.items if i.synthetic),
        }
        for s in (train_split, val_split)
    }
    out = args.out or MODEL_PATH
    write_card(scorer, report, counts, choice, out)
    print(json.dumps({"validation": report["summary"], "threshold": scorer.threshold}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
