"""The reader's training data and trainer: pure helpers, and one real training step."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from eval.reader_data import Doc, Group, _answer_sentences, _group, cuad_question, doc_from_paragraphs
from eval.train_reader import listwise_loss, measure, parser, train
from qa.answering.reader import SEP, reader_text


@pytest.mark.parametrize(
    ("sentence", "title", "previous", "expected"),
    [
        ("China joined in 2001.", "", "", "China joined in 2001."),
        ("  China joined in 2001. ", "WTO_accession", "", "China joined in 2001." + SEP + "WTO accession"),
        (
            "It was ratified.",
            "Treaty",
            "The treaty was signed.",
            "It was ratified." + SEP + "Treaty | The treaty was signed.",
        ),
        (
            "It was ratified.",
            "",
            "The treaty was signed.",
            "It was ratified." + SEP + "The treaty was signed.",
        ),
    ],
)
def test_reader_text_puts_the_sentence_first_then_its_context(
    sentence: str, title: str, previous: str, expected: str
) -> None:
    assert reader_text(sentence, title, previous) == expected


@pytest.mark.parametrize(
    ("description", "question"),
    [
        ("The name of the contract", "What is the name of the contract?"),
        ("The date when the contract is effective", "What is the date when the contract is effective?"),
        (
            "What is the renewal term after the initial term expires? This includes automatic extensions.",
            "What is the renewal term after the initial term expires?",
        ),
        (
            "Is there a requirement on a party not to disparage the counterparty?",
            "Is there a requirement on a party not to disparage the counterparty?",
        ),
        ("This category includes the exceptions or carveouts to Non-Compete", None),
    ],
)
def test_cuad_descriptions_become_questions(description: str, question: str | None) -> None:
    assert cuad_question(description) == question


def _doc() -> Doc:
    return doc_from_paragraphs(
        "Tariffs",
        [
            "The tariff was raised in 2018. It covered steel and aluminium imports.",
            "Exports fell by a third. The ministry blamed the strong currency for the fall.",
        ],
    )


def test_sentences_keep_their_offsets_and_paragraphs() -> None:
    doc = _doc()
    assert doc.sentences[1] == "It covered steel and aluminium imports."
    assert doc.para == (0, 0, 1, 1)
    text = (
        "The tariff was raised in 2018. It covered steel and aluminium imports.\n\nExports fell by a third."
    )
    assert text[doc.starts[2] : doc.starts[2] + len(doc.sentences[2])] == doc.sentences[2]


@pytest.mark.parametrize(
    ("start", "length", "expected"),
    [(25, 4, {0}), (31, 10, {1}), (20, 20, {0, 1}), (72, 7, {2})],
)
def test_an_answer_span_marks_the_sentences_it_overlaps(start: int, length: int, expected: set[int]) -> None:
    assert _answer_sentences(_doc(), start, length) == expected


def test_a_group_holds_one_answer_and_the_hardest_decoys() -> None:
    doc = _doc()
    g = _group(doc, "When was the tariff raised?", {0}, [0, 3, 1, 2], 3, random.Random(1), "t")
    assert g is not None and len(g.texts) == 3
    assert g.texts[g.label].startswith("The tariff was raised in 2018.")
    # The best-overlap decoys come before the random one; the answer is never a decoy.
    assert sum(t.startswith("The tariff was raised") for t in g.texts) == 1


def test_an_unanswerable_group_keeps_its_forced_decoy_and_labels_none() -> None:
    doc = _doc()
    g = _group(doc, "When was the tariff cut?", set(), [1, 2, 3], 3, random.Random(1), "t", must=[0])
    assert g is not None and g.label == -1
    assert any(t.startswith("The tariff was raised in 2018.") for t in g.texts)


def test_the_listwise_loss_rewards_the_null_for_unanswerable_and_the_answer_otherwise() -> None:
    torch = pytest.importorskip("torch")
    groups = [Group("q", ("a", "b"), 0, "t"), Group("q", ("c", "d"), -1, "t")]
    good = listwise_loss(torch, torch.tensor([3.0, -3.0, -3.0, -3.0]), groups)
    bad = listwise_loss(torch, torch.tensor([-3.0, 3.0, 3.0, -3.0]), groups)
    assert float(good) < 0.1 < float(bad)


def test_measure_counts_top1_refusals_and_auc() -> None:
    groups = [
        Group("q1", ("a", "b"), 0, "t"),
        Group("q2", ("a", "b"), 1, "t"),
        Group("q3", ("a", "b"), -1, "t"),
        Group("q4", ("a", "b"), -1, "t"),
    ]
    scores = [np.array([2.0, 0.0]), np.array([3.0, 1.0]), np.array([-1.0, -2.0]), np.array([2.5, 0.0])]
    m = measure(groups, scores, false_refusals=0.0)
    assert m["top1"] == 0.5
    # Threshold at the lowest answerable support (2.0): q3 (-1.0) is refused, q4 (2.5) is not.
    assert m["refused_at_fr"] == 0.5
    assert m["auc"] == 0.75


def test_one_real_training_step_checkpoints_and_resumes(tmp_path: Path) -> None:
    """The real trainer, on the packaged base model, for one step on a handful of pairs."""
    pytest.importorskip("torch")
    groups = [
        Group(
            "When was the tariff raised?",
            (reader_text("The tariff was raised in 2018."), "Exports fell."),
            0,
            "t",
        ),
        Group(
            "Who blamed the currency?",
            ("Exports fell.", reader_text("The ministry blamed the currency.")),
            1,
            "t",
        ),
        Group(
            "When was the tariff cut?",
            (reader_text("The tariff was raised in 2018."), "Exports fell."),
            -1,
            "t",
        ),
        Group("What did the bank say?", ("Exports fell.", "It covered steel."), -1, "t"),
    ]
    args = parser().parse_args(["--work", str(tmp_path), "--pairs", "4", "--batch", "2", "--val-groups", "4"])
    state = train(args, groups, groups)
    assert state["step"] == 1 and state["pairs"] == 4
    curve = [json.loads(line) for line in (tmp_path / "curve.jsonl").read_text().splitlines()]
    assert curve[-1]["step"] == 1 and 0.0 <= curve[-1]["auc"] <= 1.0 and curve[-1]["pairs_per_s"] > 0
    assert (tmp_path / "final.pt").exists()
    # Run again: it resumes from the checkpoint, which already finished the schedule.
    again = train(args, groups, groups)
    assert again["step"] == 1 and again["pairs"] == 4
