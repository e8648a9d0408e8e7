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


def test_a_token_bank_keeps_each_texts_vectors_through_save_and_load(tmp_path: Path) -> None:
    from eval.train_late import DIM, Bank

    vecs = {"short": np.full((2, DIM), 0.5, np.float16), "longer one": np.full((3, DIM), -1.0, np.float16)}
    ids = np.asarray([101, 2460, 101, 2936, 2028], np.int32)
    bank = Bank(np.concatenate(list(vecs.values())), np.asarray([2, 3]), list(vecs), ids)
    bank.save(tmp_path / "bank.npz")
    x, m, got = Bank.load(tmp_path / "bank.npz").batch(["longer one", "short"])
    assert x.shape == (2, 3, DIM) and m.tolist() == [[True] * 3, [True, True, False]]
    assert float(x[0, 2, 0]) == -1.0 and float(x[1, 1, 0]) == 0.5 and float(x[1, 2, 0]) == 0.0
    assert got.tolist() == [[101, 2936, 2028], [101, 2460, 0]]


def test_a_bank_saved_without_token_ids_gets_the_ids_its_vectors_were_encoded_from(tmp_path: Path) -> None:
    from eval.train_late import DIM, Bank, token_ids

    texts = ["The tariff was raised in 2018.", "Exports fell."]
    lens = [len(token_ids([t], "t")) for t in texts]
    np.savez(
        tmp_path / "old.npz",
        flat=np.zeros((sum(lens), DIM), np.float16),
        lens=np.asarray(lens),
        texts=np.asarray(texts, dtype=object),
    )
    _, m, ids = Bank.load(tmp_path / "old.npz", "t").batch(texts)
    assert ids[m].tolist() == token_ids(texts, "t").tolist() and ids[0, 0] == 101 and ids[1, -1] == 0


def test_the_late_interaction_head_trains_a_step_on_real_token_vectors_and_resumes(tmp_path: Path) -> None:
    """The real late-interaction trainer: the packaged base model encodes a handful of texts,
    the head takes two steps, and a second run resumes without encoding again."""
    pytest.importorskip("torch")
    from eval.train_late import parser as late_parser
    from eval.train_late import train as late_train

    groups = [
        Group("When was the tariff raised?", ("The tariff was raised in 2018.", "Exports fell."), 0, "t"),
        Group("Who blamed the currency?", ("Exports fell.", "The ministry blamed the currency."), 1, "t"),
        Group("When was the tariff cut?", ("The tariff was raised in 2018.", "Exports fell."), -1, "t"),
        Group("What did the bank say?", ("Exports fell.", "It covered steel."), -1, "t"),
    ]
    args = late_parser().parse_args(
        ["--work", str(tmp_path), "--epochs", "1", "--batch", "2", "--threads", "1"]
    )
    state = late_train(args, groups, groups)
    assert state["step"] == 2 and state["pairs"] == 8
    curve = [json.loads(line) for line in (tmp_path / "curve.jsonl").read_text().splitlines()]
    assert curve[-1]["epochs"] == 1.0 and 0.0 <= curve[-1]["auc"] <= 1.0 and curve[-1]["pairs_per_s"] > 0
    banks = {p: p.stat().st_mtime_ns for p in tmp_path.glob("bank-*.npz")}
    assert len(banks) == 2
    again = late_train(args, groups, groups)
    assert again["step"] == 2 and {p: p.stat().st_mtime_ns for p in banks} == banks


def test_a_trained_late_head_exports_to_onnx_and_the_runtime_reader_reads_with_it(tmp_path: Path) -> None:
    """Export (frozen base model + head, int8) and the product's Reader over the file agree with
    the head run on the cached token vectors."""
    torch = pytest.importorskip("torch")
    from eval.fit_reader import _uncalibrated, export
    from eval.train_late import MAX_LEN, Bank, fill, make_head, scores

    head = make_head().eval()
    torch.save(head.state_dict(), tmp_path / "final.pt")
    sizes = export(tmp_path, tmp_path / "out", "final", "late")
    assert sizes["mb_int8"] < 30 and (tmp_path / "out" / "tokenizer.json").exists()
    shape = {"kind": "late", "max_len": MAX_LEN["t"], "question_len": MAX_LEN["q"]}
    reader = _uncalibrated(tmp_path, "fp32", tmp_path / "reader.fp32.onnx", shape)
    texts = ["The tariff was raised in 2018.", "Exports fell sharply after the ministry blamed the currency."]
    group = Group("When was the tariff raised?", tuple(texts), 0, "t")
    banks = {
        k: fill(Bank.load(tmp_path / "none"), v, k, 1) for k, v in (("q", [group.question]), ("t", texts))
    }
    with torch.inference_mode():
        expected = scores(torch, head, banks, [group]).numpy()
    got = reader.scores(group.question, texts)
    assert got.shape == (2,) and np.allclose(got, expected, atol=1e-3)


@pytest.mark.parametrize(
    ("order", "right", "read", "texts", "label"),
    [
        ([2, 0, 1], [False, False, True], 3, ("c", "a", "b"), 0),  # the answer read first
        ([0, 2, 1], [False, False, True], 3, ("a", "c", "b"), 1),
        ([0, 1, 2], [False, False, True], 2, ("a", "b"), -1),  # the answer is not read: none answers
        ([0, 1, 2], [False, False, False], 3, ("a", "b", "c"), -1),
        ([1, 0, 2], [True, True, False], 3, ("b", "c"), 0),  # a second right one is left out, not wrong
        ([2, 1, 0], [True, False, True], 2, ("c", "b"), 0),
    ],
)
def test_a_group_asked_of_a_record_holds_what_the_prefilter_reads(
    order: list[int], right: list[bool], read: int, texts: tuple[str, ...], label: int
) -> None:
    from eval.record_groups import group_of

    g = group_of("q?", order, ["a", "b", "c"], right, read, "record")
    assert (g.texts, g.label) == (texts, label)


@pytest.mark.parametrize(
    ("n", "texts", "label"), [(3, ("a", "b", "c"), 2), (2, ("a", "b"), -1), (9, ("a", "b", "c"), 2)]
)
def test_truncating_a_group_drops_an_answer_beyond_what_is_read(
    n: int, texts: tuple[str, ...], label: int
) -> None:
    from eval.record_groups import truncate

    g = truncate(Group("q?", ("a", "b", "c"), 2, "record"), n)
    assert (g.texts, g.label) == (texts, label)


def tiny_split():  # type: ignore[no-untyped-def]
    """Three paragraphs of one article, two questions they answer and one they do not."""
    from eval.train_scorer import Item, Split

    paragraphs = [
        "The mill opened in 1998 near the river. It made cold-rolled steel for carmakers.",
        "Exports of steel rose in 2015. The ministry blamed the weak currency for the rise.",
        "A second mill opened in 2004. It also made cold-rolled steel.",
    ]
    split = Split("tiny")
    split.articles.append(("Steel mills", paragraphs))
    split.items += [
        Item("a", "When did the first mill open?", paragraphs[0], ("1998",)),
        Item("b", "Who blamed the weak currency?", paragraphs[1], ("The ministry",)),
        Item("c", "When did the mill close?", paragraphs[0], ()),
    ]
    return split


def test_questions_asked_of_an_indexed_record_mark_the_sentence_that_answers(tmp_path: Path) -> None:
    """The product's pipeline indexes a small split as a record; each question's candidates are
    the retrieved paragraphs' sentences as the reader reads them, and only the sentence of the
    paragraph asked of that holds the answer is right."""
    from eval.record_groups import asked, group_of, index_split, judged
    from qa.answering.extractive import reading_order
    from qa.settings import Settings

    split = tiny_split()
    retriever = index_split(split, tmp_path, Settings(store=tmp_path / "unused"))
    got = list(asked(split, retriever, 3))
    assert [a.item.qid for a in got] == ["a", "b", "c"]
    first, second, unanswerable = got
    assert [c.sentence for c, r in zip(first.candidates, first.right, strict=True) if r] == [
        "The mill opened in 1998 near the river."
    ]
    assert sum(second.right) == 1 and not any(unanswerable.right)
    assert all(v.startswith(c.sentence) for c, v in zip(first.candidates, first.views, strict=True))
    g = group_of(
        first.item.question,
        reading_order(first.question.weights, first.views),
        first.views,
        first.right,
        8,
        "r",
    )
    assert g.texts[g.label].startswith("The mill opened in 1998")
    # The scorer judges the same questions: the row every measurement starts from.
    rows = [row for _, _, row in judged(split, tmp_path, Settings(store=tmp_path / "unused", k=3))]
    assert [r["y"] for r in rows] == [list(a.right) for a in got]
    assert [r["answerable"] for r in rows] == [True, True, False]
    assert all(0.0 <= r["today_support"] <= 1.0 for r in rows)
