"""The judge's stack (qa/answering/stack.py): which candidates the reader reads, the rows the two
models see, and the fitter (eval/fit_stack.py) on rows shaped as eval.probe_stack collects them."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.answering.scorer import Linear
from qa.answering.stack import (
    PICK_FEATURES,
    SUPPORT_FEATURES,
    Seen,
    Stack,
    pick_rows,
    read_set,
    support_row,
)


@pytest.mark.parametrize(
    ("coverage", "scorer_order", "n", "expected"),
    [
        ([0.1, 0.9, 0.5], [], 1, [1]),
        ([0.1, 0.9, 0.5], [], 2, [1, 2]),
        ([0.1, 0.9, 0.5], [0], 1, [0, 1]),  # the scorer's short list is always read
        ([0.5, 0.5, 0.5], [], 2, [0, 1]),  # ties keep retrieval order
        ([0.2, 0.3], [1], 8, [0, 1]),  # fewer than n: all, once each
        ([], [], 4, []),
    ],
)
def test_the_reader_reads_the_best_covering_and_the_scorers_list(
    coverage: list[float], scorer_order: list[int], n: int, expected: list[int]
) -> None:
    assert read_set(coverage, scorer_order, n) == expected


def _seen(**kw: Any) -> Seen:
    base: dict[str, Any] = {"read": (0, 2), "reader": (1.5, -0.5), "scorer_order": (2,), "scorer_p": (0.7,)}
    return Seen(**(base | kw))


def test_pick_rows_describe_each_read_candidate() -> None:
    x = pick_rows(_seen())
    assert x.shape == (2, len(PICK_FEATURES))
    first, second = (dict(zip(PICK_FEATURES, row, strict=True)) for row in x)
    # candidate 0 is off the scorer's short list: its probability is 0
    assert first == pytest.approx({"reader score": 1.5, "scorer's probability": 0.0})
    assert second == pytest.approx({"reader score": -0.5, "scorer's probability": 0.7})


def test_nothing_read_gives_no_rows() -> None:
    assert pick_rows(_seen(read=(), reader=(), scorer_order=(), scorer_p=())).shape == (0, len(PICK_FEATURES))


@pytest.mark.parametrize(
    ("logits", "reader", "expected"),
    [
        ([0.5, 2.0], (1.5, -0.5), (2.0, 1.5)),  # the pick's logit, the reader's best score
        ([3.0, 2.0], (-1.0, -0.5), (3.0, -0.5)),  # the reader's best need not be the pick
        ([1.0], (0.2,), (1.0, 0.2)),
    ],
)
def test_the_support_row_is_the_pick_logit_and_the_best_reader_score(
    logits: list[float], reader: tuple[float, ...], expected: tuple[float, float]
) -> None:
    s = _seen(read=tuple(range(len(reader))), reader=reader, scorer_order=(), scorer_p=())
    row = dict(zip(SUPPORT_FEATURES, support_row(s, np.asarray(logits)), strict=True))
    assert row == pytest.approx(dict(zip(SUPPORT_FEATURES, expected, strict=True)))


def _linear(coef: list[float], intercept: float = 0.0) -> Linear:
    n = len(coef)
    return Linear(np.zeros(n), np.ones(n), np.asarray(coef, dtype=float), intercept)


def test_the_stack_ranks_by_the_pick_model_and_calibrates_the_support() -> None:
    # A pick model that trusts only the reader, a support model that trusts only the pick logit.
    pick = _linear([1.0] + [0.0] * (len(PICK_FEATURES) - 1))
    support = _linear([1.0] + [0.0] * (len(SUPPORT_FEATURES) - 1))
    stack = Stack(pick, support, (2.0, -1.0), 4)
    ranked, p = stack.judge(_seen(reader=(-0.5, 1.5)))
    assert [c for c, _ in ranked] == [2, 0]
    assert ranked[0][1] == pytest.approx(1 / (1 + np.exp(-1.5)))
    assert p == pytest.approx(1 / (1 + np.exp(-(2.0 * 1.5 - 1.0))))
    again = Stack.from_json(stack.to_json())
    assert again.judge(_seen(reader=(-0.5, 1.5))) == (ranked, pytest.approx(p))


def _row(rng: random.Random, answerable: bool, absent: bool = False) -> dict[str, Any]:
    """A question as eval.probe_stack keeps it: the right candidate (if any) is the one the
    reader scores highest, though coverage often puts another first."""
    n = 6
    right = rng.randrange(n) if answerable else -1
    shipped = [rng.gauss(0, 1) + (2.5 if i == right else 0.0) for i in range(n)]
    cov = [round(rng.random(), 3) for _ in range(n)]
    order = sorted(range(n), key=lambda i: -cov[i])
    return {
        "answerable": answerable,
        "synthetic": False,
        "absent": absent,
        "article": "Unseen",
        "y": [i == right for i in range(n)],
        "shipped": shipped,
        "cov": cov,
        "cov_order": order,
        "scorer_order": order[:2],
        "scorer_p": [0.6, 0.3],
        "today_support": 0.5,
        "today_right": answerable and order[0] == right,
    }


@pytest.mark.parametrize("target", ["reader", "right", "answerable"])
def test_the_fitted_stack_learns_to_trust_the_signal_that_picks(target: str) -> None:
    from eval.fit_stack import fit, outcomes, seen

    rng = random.Random(3)
    rows = [_row(rng, answerable=i % 4 != 0) for i in range(400)]
    stack = fit(rows, 8, target)
    assert stack.pick.coef[PICK_FEATURES.index("reader score")] > 0
    support, right = outcomes(stack, rows)
    answerable = np.asarray([r["answerable"] for r in rows])
    assert right[answerable].mean() > 0.8  # coverage alone would be right about 1 time in 6
    assert support[answerable].mean() > support[~answerable].mean()
    assert seen(_row(rng, True, absent=True), 8) is None  # refused by rule before any judging


def test_the_cards_stack_section_is_inserted_once_then_replaced() -> None:
    from eval.reader_card import STACK_BEGIN as BEGIN
    from eval.reader_card import STACK_END as END
    from eval.reader_card import with_section

    card = "# The reader\n\nStatus.\n\n## Data and licences\n\nSQuAD.\n"
    once = with_section(card, "## The judge\n\nfirst")
    assert once.index(BEGIN) < once.index("first") < once.index(END) < once.index("## Data and licences")
    twice = with_section(once, "## The judge\n\nsecond")
    assert "first" not in twice and twice.count(BEGIN) == 1 and twice.count("## Data and licences") == 1
    assert twice.replace("second", "first") == once


def test_the_cards_gold_section_is_rewritten_and_nothing_else(tmp_path: Path) -> None:
    from eval.reader_card import GOLD_HEADING, with_gold

    card = f"# The reader\n\n## The judge\n\nkept\n\n{GOLD_HEADING}\n\n| old | table |\n"
    assert with_gold(card, tmp_path) == "# The reader\n\n## The judge\n\nkept\n"  # no reports: no table


CLAUSE = (
    "This Agreement shall be governed by the laws of the State of New York. "
    "Each party submits to the courts of New York County for any dispute under it."
)


@pytest.mark.parametrize(
    ("answers", "sentence", "right"),
    [
        (("1998",), "The mill opened in 1998 near the river.", True),  # a short answer inside
        (("1998",), "A second mill opened in 2004.", False),
        ((CLAUSE,), "This Agreement shall be governed by the laws of the State of New York.", True),
        ((CLAUSE,), "New York County.", False),  # too short to stand for the clause
        (("governed by the laws of the State of New York",), "Each party submits to the courts.", False),
        ((), "The mill opened in 1998 near the river.", False),  # unanswerable: nothing is right
    ],
)
def test_a_candidate_is_right_when_it_holds_the_answer_or_is_part_of_a_clause(
    answers: tuple[str, ...], sentence: str, right: bool
) -> None:
    from eval.record_groups import is_right
    from eval.train_scorer import Item
    from qa.answering.features import Candidate
    from qa.types import Paragraph, Passage

    text = f"The mill opened in 1998 near the river. A second mill opened in 2004. {CLAUSE}"
    para = Paragraph(1, 1, text, "en", 0, len(text))
    assert (
        is_right(Item("q", "?", text, answers), Candidate(Passage(para, 1.0), 0, 0, sentence, True)) is right
    )


def test_the_product_judges_as_the_rows_the_stack_is_fitted_on(tmp_path: Path) -> None:
    """The rows eval.probe_stack collects, seen as eval.fit_stack sees them, give the product's
    own pick and support: the stack is fitted on what the product will compute."""
    from eval.fit_stack import seen
    from eval.probe_stack import collect
    from eval.record_groups import asked, index_split
    from qa.answering.extractive import ExtractiveAnswerer
    from qa.answering.reader import FOLDER
    from qa.settings import Settings
    from tests.test_reader_training import tiny_split

    split = tiny_split()
    rows = collect(split, tmp_path, {"shipped": FOLDER})
    retriever = index_split(split, tmp_path, Settings(store=tmp_path / "unused"))
    answerer = ExtractiveAnswerer(Settings(judge="reader", store=retriever.settings.store))
    assert answerer.reader is not None and answerer.reader.stack is not None
    stack = answerer.reader.stack
    for a, row in zip(asked(split, retriever, Settings().k), rows, strict=True):
        s = seen(row, stack.read)
        assert s is not None
        ranked, support = stack.judge(s)
        judged = answerer.judge(a.item.question, list(a.passages), retriever)
        assert judged.ranked[0].candidate == a.candidates[ranked[0][0]]
        # Not exact: the rows' reader read a few more candidates in its batch (to measure several
        # designs from one collection), and int8 scales activations per batch (test_reader.py).
        assert judged.support == pytest.approx(support, abs=0.03)
