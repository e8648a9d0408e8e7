"""The validation questions written here (eval/made/): their file's shape, and how they are asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.reader_data import VALIDATION_ARTICLES
from eval.record_groups import ANALYST, ANALYST_TRAINING, analyst_split, validation_split

KINDS = {"answerable", "near-miss", "unstated", "absent"}


def lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.mark.parametrize(
    ("path", "size", "answerable", "validation"),
    [(ANALYST, 300, 200, True), (ANALYST_TRAINING, 1800, 1200, False)],
)
def test_the_analyst_questions_are_long_and_labelled(
    path: Path, size: int, answerable: int, validation: bool
) -> None:
    """Validation questions are about validation articles only, training questions never are."""
    qs = lines(path)
    assert len({q["id"] for q in qs}) == len(qs) == size
    assert all((q["article"] in VALIDATION_ARTICLES) == validation for q in qs)
    assert {q["kind"] for q in qs} == KINDS
    assert sum(q["kind"] == "answerable" for q in qs) == answerable
    for q in qs:
        assert len(q["question"].split()) >= 20, q["id"]
        assert isinstance(q["paragraph"], int) and q["paragraph"] >= 0, q["id"]
        # An answer is a short span exactly when the article answers.
        assert (q["answer"] is not None) == (q["kind"] == "answerable"), q["id"]
        assert q["answer"] is None or 1 <= len(q["answer"].split()) <= 12, q["id"]


def _squad(path: Path, articles: list[dict]) -> None:  # type: ignore[type-arg]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"data": articles}), encoding="utf-8")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A training folder holding one validation article (Normans) and one other."""
    normans = {
        "title": "Normans",
        "paragraphs": [
            {"context": "The Normans came from Normandy. They spoke Norman.", "qas": []},
            {"context": "In 1066 William conquered England. He was crowned at Westminster.", "qas": []},
        ],
    }
    other = {"title": "Rivers", "paragraphs": [{"context": "The Rhine is long.", "qas": []}]}
    _squad(tmp_path / "squad2-dev-6" / "dev-v2.0.6articles.json", [normans])
    _squad(tmp_path / "squad2-dev-19" / "dev-v2.0.19articles.json", [other])
    _squad(tmp_path / "squad2-train" / "train-v2.0.first10articles.json", [])
    _squad(tmp_path / "squad1.1-train-explorer" / "train-v1.1.from-explorer.json", [])
    return tmp_path


@pytest.mark.parametrize(
    ("line", "context", "answers", "synthetic"),
    [
        ({"paragraph": 1, "answer": "William", "kind": "answerable"}, 1, ("William",), False),
        ({"paragraph": 1, "answer": None, "kind": "near-miss"}, 1, (), True),
        ({"paragraph": 0, "answer": None, "kind": "unstated"}, 0, (), False),
        ({"paragraph": 0, "answer": None, "kind": "absent"}, 0, (), False),
    ],
)
def test_each_line_becomes_an_item_of_the_validation_record(
    data: Path,
    tmp_path: Path,
    line: dict,
    context: int,
    answers: tuple,
    synthetic: bool,  # type: ignore[type-arg]
) -> None:
    """The question is asked of the validation articles' record; its context is the paragraph it
    names; a near-miss counts as synthetic, like the near-miss twins."""
    f = tmp_path / "q.jsonl"
    f.write_text(json.dumps({"id": "x", "article": "Normans", "question": "Who?", **line}) + "\n", "utf-8")
    split = analyst_split(data, 13, f)
    assert [t for t, _ in split.articles] == ["Normans"]
    (item,) = split.items
    assert item.context == split.articles[0][1][context]
    assert (item.answers, item.synthetic) == (answers, synthetic)
    assert split.name == validation_split(data, 13).name  # the same record, indexed once
