"""The generated docs' pure parts: the README block between markers and the quality table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eval.docs import BEGIN, END, quality_table, replace_block, set_name
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"a\n{BEGIN}\nold\n{END}\nb\n", f"a\n{BEGIN}\nnew\n{END}\nb\n"),
        (f"{BEGIN}{END}", f"{BEGIN}\nnew\n{END}"),
        (f"{BEGIN}\n\n\nold\nolder\n{END}\n{END}", f"{BEGIN}\nnew\n{END}\n{END}"),
    ],
)
def test_the_block_between_the_markers_is_replaced_and_nothing_else(text: str, expected: str) -> None:
    assert replace_block(text, "\nnew\n") == expected


@pytest.mark.parametrize("text", ["no markers", f"{END}\n{BEGIN}", f"{BEGIN} only"])
def test_missing_or_reversed_markers_are_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="markers"):
        replace_block(text, "new")


def _report(gold: str, right: float, p50: float) -> dict[str, object]:
    return {
        "gold": gold,
        "n": 10,
        "mode": "extractive",
        "k": 8,
        "answer": {"answerable_accuracy": right, "false_refusal_rate": 0.05, "refusal_recall": 0.25},
        "citations": {"precision": 0.5},
        "retrieval": {"recall@5": 0.8},
        "latency_ms": {"p50": p50},
        "trade_off": {"refusal_recall_at_fr_0.08": 0.3, "refusal_recall_at_fr_0.20": float("nan")},
    }


def test_the_quality_table_has_a_column_per_gold_set() -> None:
    table = quality_table(
        [
            _report("eval/gold/exhibits_61_70.jsonl", 0.625, 96.4),
            _report("eval/gold/record2.jsonl", 0.7, 90.0),
        ]
    )
    lines = table.splitlines()
    assert lines[0] == "| extractive, k = 8 | sample record (10 q) | record2 (10 q) |"
    assert "| answerable answered right | 62.5% | 70.0% |" in lines
    assert "| most unanswerable refused at ≤ 8% / ≤ 20% answerable refused | 30.0% / — | 30.0% / — |" in lines
    assert "| answer p50 | 96 ms | 90 ms |" in lines


@pytest.mark.parametrize(
    ("gold", "name"),
    [
        ("eval/gold/exhibits_61_70.jsonl", "sample record"),
        ("eval/gold/record2.jsonl", "record2"),
        ("x/y.jsonl", "y"),
    ],
)
def test_set_names(gold: str, name: str) -> None:
    assert set_name({"gold": gold}) == name


# History belongs in git log and commit messages, not in what the project says it is.
HISTORY = re.compile(
    r"\bissues? \d+|\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth) session\b"
    r"|\b(?:work period|stop) \d+|\bre-?measured\b|\brun again at\b",
    re.IGNORECASE,
)


def _prose_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "Makefile", *sorted((ROOT / "docs").glob("*.md"))]
    for folder in ("qa", "index", "eval", "tests"):
        files += sorted((ROOT / folder).rglob("*.py")) + sorted((ROOT / folder).rglob("*.md"))
    results = ROOT / "eval" / "results"  # generated reports, not committed
    return [f for f in files if results not in f.parents] + [
        ROOT / "app.py",
        ROOT / "eval" / "thresholds.toml",
    ]


def test_the_projects_prose_holds_no_history() -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}"
        for path in _prose_files()
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if HISTORY.search(line) and path.name != "test_docs.py"
    ]
    assert not hits, "say what is, not how it got there (git log keeps history):\n" + "\n".join(hits)


@pytest.mark.parametrize(
    ("line", "flagged"),
    [
        ("# Re-set 2026-12-02 (issue 16: follow-ups)", True),
        ("measured in the eighth session of the work", True),
        ("Re-measured at 962cb35", True),
        ("Chroma is asked for 150 windows (stop 27).", True),
        ("What are the main issues raised by the report?", False),
        ("Who chaired the afternoon session?", False),
    ],
)
def test_history_is_recognised(line: str, flagged: bool) -> None:
    assert bool(HISTORY.search(line)) == flagged


def test_the_readme_is_read_in_five_minutes() -> None:
    lines = (ROOT / "README.md").read_text("utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail to docs/"
