"""A smoke test of the bench code on a two-exhibit record (the real bench is not run in CI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.bench import run_bench, write
from qa.settings import Settings
from tests.conftest import write as write_file

KEYS = {
    "lexical_ready_s",
    "build_s",
    "noop_reindex_s",
    "one_change_reindex_s",
    "retrieval_p50_ms",
    "retrieval_p95_ms",
    "answer_p50_ms",
    "peak_rss_mb",
    "llamaindex",
    "scales",
}


def test_bench_measures_a_small_record(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_file(
        src / "Exhibit 1.txt", "EXHIBIT 1\n\nPort Notice\n\nThe port of Tianjin handled 500 ships in 2019.\n"
    )
    write_file(
        src / "Exhibit 2.txt", "EXHIBIT 2\n\nRail Notice\n\nThe Harbin rail yard loaded 70 trains in 2020.\n"
    )
    gold = tmp_path / "gold.jsonl"
    items = [
        {
            "id": "a",
            "question": "How many ships did Tianjin handle?",
            "answers": ["500"],
            "all_required": False,
            "evidence": [{"exhibit": 1, "quote": "500 ships"}],
            "type": "numeric",
        },
        {
            "id": "b",
            "question": "How many trains did Harbin load?",
            "answers": ["70"],
            "all_required": False,
            "evidence": [{"exhibit": 2, "quote": "70 trains"}],
            "type": "numeric",
        },
    ]
    gold.write_text("\n".join(json.dumps(i) for i in items) + "\n")
    result = run_bench([src], gold, Settings(store=tmp_path / "unused"), quick=True)
    assert set(result) >= KEYS and {"build_s", "query_p50_ms"} <= set(result["llamaindex"])
    # LlamaIndex's own hybrid runs over the same 4 paragraphs and finds both quotes in its top 5.
    assert result["llamaindex_hybrid"]["chunks"] == 4 and result["llamaindex_hybrid"]["hit@5"] == 1.0
    assert result["llamaindex_hybrid"]["query_p50_ms"] > 0 and result["ratios"]["query_vs_hybrid"] > 0
    # Both pipelines were timed in one interleaved loop: 2 passes over the 2 questions each.
    race = result["race"]
    assert race["rounds"] == 2 and "exhibitqa_s" not in race
    assert race["llamaindex_hybrid_p50_ms"] == result["llamaindex_hybrid"]["query_p50_ms"]
    assert race["exhibitqa_p50_ms"] == result["retrieval_p50_ms"] and race["p50_ratio"] > 0
    assert result["paragraphs"] == 4 and result["questions"] == 2
    assert 0 < result["noop_reindex_s"] < result["build_s"] * 10
    assert result["retrieval_p50_ms"] > 0 and result["answer_p50_ms"] >= result["retrieval_p50_ms"] * 0.5
    assert result["scales"][0]["factor"] == 1 and result["scales"][0]["paragraphs"] == 4
    files = write(result, tmp_path / "out")
    assert [f.name for f in files] == ["bench.json", "bench.md", "bench.png"]
    assert json.loads(files[0].read_text())["build_s"] == result["build_s"]
    md = files[1].read_text()
    assert "| full build (s) |" in md and "QueryFusionRetriever" in md and "embedding the question" in md


def test_scaling_runs_build_and_query_copies_of_the_record(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_file(
        src / "record.txt",
        "EXHIBIT 1\n\nPort Notice\n\nThe port of Tianjin handled 500 ships in 2019 and more later.\n\n"
        "EXHIBIT 2\n\nRail Notice\n\nThe Harbin rail yard loaded 70 trains in 2020, a record year.\n",
    )
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        json.dumps(
            {
                "id": "a",
                "question": "How many ships did Tianjin handle?",
                "answers": ["500"],
                "all_required": False,
                "evidence": [{"exhibit": 1, "quote": "500 ships"}],
                "type": "numeric",
            }
        )
        + "\n"
    )
    result = run_bench([src], gold, Settings(store=tmp_path / "unused"), quick=False, scales=(1, 3))
    one, three = result["scales"]
    assert (one["factor"], three["factor"]) == (1, 3)
    assert three["paragraphs"] == 3 * one["paragraphs"] == 12
    # Copies reuse the 1x vectors: nothing but the question is embedded.
    assert three["vector_reuse"].get("embedded", 0) == 0 and three["vector_reuse"]["exact"] > 0
    assert three["hnsw_recall"] > 0.9 and three["retrieval_p50_ms"] > 0
    assert three["est_build_with_embedding_s"] >= three["build_s"]
    assert set(result["growth"]) >= {"build_s", "retrieval_p50_ms", "rss_mb", "disk_mb"}
    md = write(result, tmp_path / "out")[1].read_text()
    assert "| 3× | 12 |" in md and "Growth exponents" in md


def test_first_answer_bench_asks_while_the_index_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eval.first_answer import measure

    monkeypatch.setenv("EXHIBITQA_PROGRESSIVE_MIN_TEXTS", "0")  # publish BM25 first, as a big record would
    src = tmp_path / "src"
    write_file(
        src / "Exhibit 1.txt", "EXHIBIT 1\n\nPort Notice\n\nThe port of Tianjin handled 500 ships in 2019.\n"
    )
    r = measure(src, "How many ships did the port of Tianjin handle in 2019?")
    assert r["build_exit"] == 0 and r["lexical_line"].startswith("Lexical index ready in")
    assert r["first_cited_answer_s"] is not None
    assert "500 ships" in r["answer"] and r["asks_until_then"] >= 1 and "bm25" in r["channels"]
