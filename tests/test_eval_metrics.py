"""Eval metrics and gold-file handling, as pure functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.gold import load_gold, locate
from eval.metrics import (
    contains_facts,
    evidence_recall_at_k,
    normalize_answer,
    percentile,
    reciprocal_rank,
)
from qa.errors import GoldError
from qa.types import Paragraph


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("Twenty-Seven ships", "27 ships"),
        ("twenty seven", "27"),
        ("one hundred and five", "105"),
        ("five years", "5 years"),
        ("1,033 million", "1033 million"),
        ("1.5%", "1.5%"),
        ("U.S. tariffs", "u s tariffs"),
        ("state-owned", "state-owned"),
        ("  Spaces\n and\tTabs ", "spaces and tabs"),
        ("“quoted,” she said.", "quoted she said"),
        ("more than 15%.", "more than 15%"),
        ("from 2025 to 2030", "from 2025 2030"),
        ("2025-2030", "2025 2030"),
        ("5% to 10%", "5% 10%"),
        ("two to three", "2 3"),
        ("went to 2030", "went to 2030"),
    ],
)
def test_normalize_answer(text: str, normal: str) -> None:
    assert normalize_answer(text) == normal


@pytest.mark.parametrize(
    ("answer", "facts", "all_required", "ok"),
    [
        ("It had 27 ships.", ["27", "twenty-seven"], False, True),
        ("It had twenty-seven ships.", ["27"], False, True),
        ("It had 270 ships.", ["27"], False, False),
        ("Output was 1,033 million tons.", ["1033 million tons"], False, True),
        ("Steel and ships.", ["steel", "ships"], True, True),
        ("Steel only.", ["steel", "ships"], True, False),
        ("Anything", [], False, False),
        ("发布日期：2016年02月04日", ["2016年02月04日"], False, True),
        ("The rate is 1.5%.", ["1.5%"], False, True),
        ("The rate is 1.52%.", ["1.5%"], False, False),
        ("The plan covers the period from 2025 to 2030.", ["2025-2030"], False, True),
        ("The plan covers 2025 to 2031.", ["2025-2030"], False, False),
    ],
)
def test_contains_facts(answer: str, facts: list[str], all_required: bool, ok: bool) -> None:
    assert contains_facts(answer, facts, all_required) is ok


def test_recall_and_rank() -> None:
    ranked = [(1, 1), (1, 2), (2, 5), (3, 1)]
    evidence = [frozenset({(2, 5)}), frozenset({(9, 9), (3, 1)})]
    assert evidence_recall_at_k(ranked, evidence, 1) == 0.0
    assert evidence_recall_at_k(ranked, evidence, 3) == 0.5
    assert evidence_recall_at_k(ranked, evidence, 4) == 1.0
    assert evidence_recall_at_k(ranked, [], 4) == 0.0
    assert reciprocal_rank(ranked, {(2, 5), (3, 1)}) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, {(7, 7)}) == 0.0


@pytest.mark.parametrize(
    ("values", "q", "p"),
    [([], 50, 0.0), ([5.0], 95, 5.0), ([1, 2, 3, 4], 50, 2.5), ([1, 2, 3, 4, 5], 100, 5)],
)
def test_percentile(values: list[float], q: float, p: float) -> None:
    assert percentile(values, q) == pytest.approx(p)


def _gold(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines), encoding="utf-8"
    )
    return path


def test_load_gold_and_locate(tmp_path: Path) -> None:
    path = _gold(
        tmp_path,
        {
            "id": "a",
            "question": "Q?",
            "answers": ["5%"],
            "evidence": [{"exhibit": 1, "quote": "rose by **5%** in"}],
            "type": "numeric",
        },
        {"id": "b", "question": "Q2?", "answers": [], "evidence": [], "type": "unanswerable"},
        {
            "id": "c",
            "question": "Q3?",
            "answers": ["x"],
            "evidence": [{"exhibit": 1, "quote": "not in the text"}],
            "type": "factoid",
        },
    )
    items = load_gold(path)
    assert [i.id for i in items] == ["a", "b", "c"] and not items[0].all_required
    paras = [
        Paragraph(1, 1, "Output rose by 5% in\n2020.", "en", 0, 10),
        Paragraph(1, 2, "| Output | rose by 5% in |", "en", 11, 20),
        Paragraph(2, 1, "Output rose by 5% in 2020.", "en", 0, 10),
    ]
    found = locate(items, paras)
    assert found["a"].per_quote == (frozenset({(1, 1), (1, 2)}),)
    assert found["b"].per_quote == () and not found["b"].missing
    assert found["c"].missing and found["c"].per_quote == ()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"question": "no id"}', "Each line needs id"),
        ('{"id": "x", "question": "  "}', "empty question"),
    ],
)
def test_bad_gold_lines_are_errors_naming_the_line(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(GoldError, match=message) as e:
        load_gold(_gold(tmp_path, line))
    assert "gold.jsonl:1" in str(e.value)


def test_duplicate_ids_and_missing_file(tmp_path: Path) -> None:
    item = {"id": "x", "question": "Q?", "answers": [], "evidence": [], "type": "unanswerable"}
    with pytest.raises(GoldError, match="used twice"):
        load_gold(_gold(tmp_path, item, item))
    with pytest.raises(GoldError, match="no such gold file"):
        load_gold(tmp_path / "missing.jsonl")


@pytest.mark.parametrize(
    ("mode", "second_opinion", "curve"),
    [
        ("extractive", None, True),
        ("extractive+check", None, True),
        ("local", None, True),  # gated by the second opinion unless it is turned off
        ("local", False, False),
        ("openai", None, False),  # ungated unless it is turned on
        ("openai", True, True),
    ],
)
def test_the_refusal_curve_is_drawn_for_every_mode_whose_answers_carry_a_support(
    mode: str, second_opinion: bool | None, curve: bool
) -> None:
    from eval.run import _states_support
    from qa.settings import Settings

    assert _states_support(mode, Settings(second_opinion=second_opinion)) is curve
