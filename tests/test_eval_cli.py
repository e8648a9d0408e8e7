"""`exhibitqa eval` on any gold file in the documented format, with and without baselines."""

from __future__ import annotations

import json
from pathlib import Path

from eval.run import run_eval
from index.store import build
from qa.settings import Settings
from tests.conftest import write
from tests.test_cli import run

REQUIRED = {
    "gold": None,
    "n": None,
    "mode": None,
    "retrieval": {"recall@1", "recall@3", "recall@5", "recall@10", "mrr"},
    "answer": {"accuracy", "refusal_recall", "false_refusal_rate"},
    "citations": {"precision", "recall", "verified_rate"},
    "latency_ms": {"p50", "p95"},
    "by_type": None,
    "items": None,
}


def _gold(path: Path, items: list[dict[str, object]]) -> Path:
    return write(path, "\n".join(json.dumps(i) for i in items) + "\n")


def test_eval_command_writes_report_on_a_foreign_gold_file(sample_settings: Settings, tmp_path: Path) -> None:
    gold = _gold(
        tmp_path / "other.jsonl",
        [
            {
                "id": "a1",
                "question": "When did China become a member of the WTO?",
                "answers": ["December 11, 2001"],
                "all_required": False,
                "evidence": [
                    {"exhibit": 61, "quote": "China became the 143rd member of the WTO on December 11, 2001"}
                ],
                "type": "date",
            },
            {
                "id": "u1",
                "question": "What is the capital of France?",
                "answers": [],
                "evidence": [],
                "type": "unanswerable",
            },
        ],
    )
    out = tmp_path / "out"
    proc = run("--store", str(sample_settings.store), "eval", "--gold", str(gold), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "recall@1" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    for key, sub in REQUIRED.items():
        assert key in report
        if sub:
            assert sub <= set(report[key])
    assert report["n"] == 2 and report["answer"]["accuracy"] == 1.0
    item = report["items"][0]
    assert {"id", "correct", "refused", "recall@5", "cited", "gold_paragraphs"} <= set(item)
    assert item["gold_paragraphs"] and item["gold_paragraphs"][0][0] == 61
    assert {"n", "accuracy", "recall@5"} <= set(report["by_type"]["date"])
    for name in ("report.md", "recall_at_k.png", "accuracy_by_type.png"):
        assert (out / name).stat().st_size > 0


def test_unlocatable_quote_is_a_gold_set_error(sample_settings: Settings, tmp_path: Path) -> None:
    gold = _gold(
        tmp_path / "bad.jsonl",
        [
            {
                "id": "b",
                "question": "Q?",
                "answers": ["x"],
                "evidence": [{"exhibit": 61, "quote": "words that are not in it"}],
                "type": "factoid",
            }
        ],
    )
    proc = run(
        "--store", str(sample_settings.store), "eval", "--gold", str(gold), "--out", str(tmp_path / "o")
    )
    assert proc.returncode == 2
    assert "b: quote not found in Exhibit 61" in proc.stderr


def test_baselines_on_a_small_record(tmp_path: Path) -> None:
    write(
        tmp_path / "rec" / "Exhibit 1.txt",
        "Steel Report\n\nThe mill produced 12 million tons of steel in 2020.\n\nIt exported most of it to neighbouring markets.\n",
    )
    write(tmp_path / "rec" / "Exhibit 2.txt", "Shipping Note\n\nThe yard delivered 40 ships in 2021.\n")
    settings = Settings(store=tmp_path / "store")
    build([tmp_path / "rec"], settings)
    gold = _gold(
        tmp_path / "g.jsonl",
        [
            {
                "id": "s",
                "question": "How many ships did the yard deliver?",
                "answers": ["40 ships"],
                "evidence": [{"exhibit": 2, "quote": "The yard delivered 40 ships in 2021."}],
                "type": "numeric",
            }
        ],
    )
    report = run_eval(gold, settings, baselines=True)
    assert set(report["baselines"]) == {"hybrid", "dense", "bm25", "llamaindex_ootb", "llamaindex_hybrid"}
    ootb = report["baselines"]["llamaindex_ootb"]
    assert ootb["hit@2"] == 1.0 and ootb["chunks"] == 2 and ootb["passages"] == 2
    assert report["baselines"]["hybrid"]["hit@1"] == 1.0
    li_hybrid = report["baselines"]["llamaindex_hybrid"]
    # Both titles and all three paragraphs: the same paragraphs ExhibitQA searches.
    assert li_hybrid["chunks"] == 5 and li_hybrid["hit@1"] == 1.0 and li_hybrid["build_s"] >= 0
