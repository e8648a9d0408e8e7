"""``exhibitqa bench``: how long indexing and answering take, beside LlamaIndex out of the box.

Measured in one process on whatever machine runs it: a full build into a fresh store, a
no-change re-run, a one-exhibit change, query embedding / retrieval / extractive answer
latencies over the gold questions, a cold start in a new process, peak memory and store size,
and the LlamaIndex default pipeline (one Document per exhibit, SentenceSplitter,
VectorStoreIndex over Chroma, the same embedding model) built and queried in the same run.
Scaling to 10x/100x records is not measured yet (issue 7).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from eval.gold import load_gold
from qa.settings import Settings


def _ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


def _disk_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1048576, 1)


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)  # Linux reports KiB


def _change_one_exhibit(src: Path) -> None:
    """Append a sentence to the last paragraph of the last source file (one exhibit changes)."""
    last = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in (".txt", ".md"))[-1]
    last.write_text(
        last.read_text(encoding="utf-8").rstrip() + " This sentence was added.\n", encoding="utf-8"
    )


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _cold_start_s(store: Path, question: str) -> float:
    code = (
        "import time; t0 = time.perf_counter(); from qa import ask; from qa.settings import Settings; "
        f"ask({question!r}, settings=Settings(store={str(store)!r})); print(time.perf_counter() - t0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    return float(out.stdout.strip().splitlines()[-1])


def run_bench(sources: list[Path], gold: Path, settings: Settings, *, quick: bool = True) -> dict[str, Any]:
    """Run the measurements; returns the dict written as ``bench.json``."""
    from index.store import build
    from qa.api import ask, get_retriever

    questions = [i.question for i in load_gold(gold)]
    with tempfile.TemporaryDirectory(prefix="exhibitqa-bench-") as tmp:
        work = Path(tmp)
        src = work / "src"
        for s in sources:
            if s.is_dir():
                shutil.copytree(s, src / s.name)
            else:
                (src / "files").mkdir(parents=True, exist_ok=True)
                shutil.copy2(s, src / "files" / s.name)
        s1 = settings.model_copy(update={"store": work / "store"})
        build_s, report = _timed(lambda: build([src], s1))
        noop_s, _ = _timed(lambda: build([src], s1))
        _change_one_exhibit(src)
        change_s, _ = _timed(lambda: build([src], s1))

        retriever = get_retriever(s1)
        embed_t, search_t, answer_t = [], [], []
        for q in questions:
            embed_t.append(_timed(partial(retriever.embed_query, q))[0])
            search_t.append(_timed(partial(retriever.search, q, k=s1.k))[0])
            answer_t.append(_timed(partial(ask, q, settings=s1))[0])
        cold_s = _cold_start_s(s1.store, questions[0])
        ootb = _llamaindex(src, s1, questions)
        result: dict[str, Any] = {
            "build_s": round(build_s, 2),
            "paragraphs": report.paragraphs,
            "paragraphs_per_s": round(report.paragraphs / build_s, 1),
            "noop_reindex_s": round(noop_s, 3),
            "one_change_reindex_s": round(change_s, 2),
            "query_embed_p50_ms": _ms(embed_t, 0.5),
            "retrieval_p50_ms": _ms(search_t, 0.5),
            "retrieval_p95_ms": _ms(search_t, 0.95),
            "answer_p50_ms": _ms(answer_t, 0.5),
            "answer_p95_ms": _ms(answer_t, 0.95),
            "cold_start_s": round(cold_s, 2),
            "peak_rss_mb": _peak_rss_mb(),
            "disk_mb": _disk_mb(s1.store),
            "questions": len(questions),
            "llamaindex": ootb,
            "ratios": {
                "build": round(build_s / ootb["build_s"], 2) if ootb["build_s"] else None,
                "query": round(_ms(search_t, 0.5) / ootb["query_p50_ms"], 2)
                if ootb["query_p50_ms"]
                else None,
            },
            "scales": [
                {
                    "factor": 1,
                    "paragraphs": report.paragraphs,
                    "build_s": round(build_s, 2),
                    "retrieval_p50_ms": _ms(search_t, 0.5),
                    "retrieval_p95_ms": _ms(search_t, 0.95),
                    "rss_mb": _peak_rss_mb(),
                    "disk_mb": _disk_mb(s1.store),
                }
            ],
            "quick": quick,
            "note": "10x and 100x scaling runs are not implemented yet; only 1x is measured.",
        }
    return result


def _llamaindex(src: Path, settings: Settings, questions: list[str]) -> dict[str, float]:
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from index.embed import get_embedder
    from index.sources import find_sources, read_record
    from index.vectors import VectorHome

    exhibits = [e for e, _ in read_record(find_sources([src])[0])]
    with tempfile.TemporaryDirectory() as tmp:
        client = VectorHome("ootb").client(Path(tmp))
        try:
            store = ChromaVectorStore(chroma_collection=client.create_collection("ootb"))
            build_s, index = _timed(
                lambda: VectorStoreIndex.from_documents(
                    [Document(text=e.text) for e in exhibits],
                    storage_context=StorageContext.from_defaults(vector_store=store),
                    embed_model=get_embedder(settings.embedding_model, settings),
                )
            )
            retriever = index.as_retriever(similarity_top_k=2)
            query_t = [_timed(partial(retriever.retrieve, q))[0] for q in questions]
        finally:
            client.close()
    return {
        "build_s": round(build_s, 2),
        "query_p50_ms": _ms(query_t, 0.5),
        "query_p95_ms": _ms(query_t, 0.95),
    }


def to_markdown(b: dict[str, Any]) -> str:
    li = b["llamaindex"]
    rows = [
        ("full build (s)", b["build_s"], li["build_s"], b["ratios"]["build"]),
        (
            "query p50 (ms): retrieval vs LlamaIndex retrieve",
            b["retrieval_p50_ms"],
            li["query_p50_ms"],
            b["ratios"]["query"],
        ),
    ]
    lines = [
        "| 1× sample record | ExhibitQA | LlamaIndex out of the box | ratio |",
        "|---|---|---|---|",
        *(f"| {a} | {x} | {y} | {r} |" for a, x, y, r in rows),
        "",
        "| measure | value |",
        "|---|---|",
    ]
    for key in (
        "paragraphs",
        "paragraphs_per_s",
        "noop_reindex_s",
        "one_change_reindex_s",
        "query_embed_p50_ms",
        "retrieval_p50_ms",
        "retrieval_p95_ms",
        "answer_p50_ms",
        "answer_p95_ms",
        "cold_start_s",
        "peak_rss_mb",
        "disk_mb",
    ):
        lines.append(f"| {key} | {b[key]} |")
    lines += ["", b["note"]]
    return "\n".join(lines) + "\n"


def write(b: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(b, indent=2))
    (out / "bench.md").write_text(to_markdown(b))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    xs = [s["paragraphs"] for s in b["scales"]]
    ax.plot(xs, [s["build_s"] for s in b["scales"]], "o-", label="build (s)")
    ax.plot(xs, [s["retrieval_p50_ms"] / 1000 for s in b["scales"]], "s-", label="retrieval p50 (s)")
    ax.set_xlabel("paragraphs in the record")
    ax.set_ylabel("seconds")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "bench.png", dpi=100)
    plt.close(fig)
    return [out / "bench.json", out / "bench.md", out / "bench.png"]
