"""The reader as a passage reranker over the fused pool: evidence@k and its cost, on validation.

    python -m eval.probe_rerank --data ../shared/training

Each answerable validation question is asked of the validation articles' record (the product's
pipeline, as ``eval.fit_reader`` measures the reader); retrieval's fused pool of ``--pool``
paragraphs is put in three orders: as fused, by the reader's best score over each paragraph's
sentences (the ``--per`` covering most of the question's rare words are read, so the cost stays
bounded), and the two ranks fused again (reciprocal rank, as retrieval fuses BM25 and dense). The
answer's paragraph's place in each order gives evidence@1/3/5/8; the reader's time per question
is the cost. ``--analyst`` asks the long questions written here about the same articles instead.
Nothing is fitted: the gold sets are not read, only the reader's own validation split.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval.probe_stack import WORK
from eval.record_groups import analyst_split, index_split, validation_sample
from qa.cites import normalize
from qa.settings import Settings

AT = (1, 3, 5, 8)
RRF_K = 60  # the constant LlamaIndex's reciprocal-rank fusion uses


def orders(scores: list[float]) -> dict[str, list[int]]:
    """The pool's paragraphs (given in fused order) as fused, by reader score (ties keep the fused
    order) and by both ranks fused."""
    fused = list(range(len(scores)))
    by_reader = sorted(fused, key=lambda i: (-scores[i], i))
    place = {p: r for r, p in enumerate(by_reader)}
    both = sorted(fused, key=lambda i: (-(1 / (RRF_K + i) + 1 / (RRF_K + place[i])), i))
    return {"fused": fused, "reader": by_reader, "fused+reader": both}


def evidence(ranks: list[int | None]) -> dict[str, float]:
    """Share of questions whose answer paragraph is within the first k, for each k in AT."""
    return {f"evidence@{k}": float(np.mean([r is not None and r < k for r in ranks])) for k in AT}


def probe(
    data: Path, pool: int, per: int, n: int, seed: int, work: Path, analyst: bool = False
) -> dict[str, Any]:
    from qa.answering.extractive import _reader_view, coverages
    from qa.answering.features import candidates, read_question
    from qa.answering.reader import load
    from qa.answering.stack import by_coverage

    split = analyst_split(data, seed) if analyst else validation_sample(data, seed, n)
    items = [it for it in split.items if it.answers]
    retriever = index_split(split, work, Settings())
    reader = load()
    ranks: dict[str, list[int | None]] = {"fused": [], "reader": [], "fused+reader": []}
    ms: list[float] = []
    for it in items:
        passages = retriever.search(it.question, k=pool)
        gold = {i for i, p in enumerate(passages) if normalize(p.paragraph.text) in normalize(it.context)}
        t0 = time.perf_counter()
        q = read_question(it.question, retriever)
        cands = candidates(passages, q)
        views = [_reader_view(c, retriever) for c in cands]
        read: list[int] = []
        taken = [0] * len(passages)
        for c in by_coverage(coverages(q.weights, views)):
            p = cands[c].rank
            if taken[p] < per:
                taken[p] += 1
                read.append(c)
        best = [-99.0] * len(passages)
        if read:
            for c, s in zip(read, reader.scores(it.question, [views[c] for c in read]), strict=True):
                p = cands[c].rank
                best[p] = max(best[p], float(s))
        ms.append((time.perf_counter() - t0) * 1000)
        for name, order in orders(best).items():
            ranks[name].append(next((r for r, p in enumerate(order) if p in gold), None))
    return {
        "questions": len(items),
        "pool": pool,
        "read_per_paragraph": per,
        "reader_ms_p50": float(np.percentile(ms, 50)),
        "reader_ms_p95": float(np.percentile(ms, 95)),
        **{name: evidence(r) for name, r in ranks.items()},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/training"))
    p.add_argument("--work", type=Path, default=WORK)
    p.add_argument(
        "--pool", type=int, default=16, help="fused paragraphs reranked (the settings' rerank_pool)"
    )
    p.add_argument("--per", type=int, default=2, help="sentences read per paragraph")
    p.add_argument(
        "--n", type=int, default=800, help="validation questions sampled (answerable ones are used)"
    )
    p.add_argument("--seed", type=int, default=13)
    p.add_argument(
        "--analyst", action="store_true", help="the analyst-style questions written here (eval/made)"
    )
    args = p.parse_args(argv)
    got = probe(args.data, args.pool, args.per, args.n, args.seed, args.work, args.analyst)
    print(json.dumps(got, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
