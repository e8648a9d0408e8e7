"""LlamaIndex pipelines, as a user would build them in ten lines, for comparison.

Out of the box: one Document per exhibit, the default SentenceSplitter, a VectorStoreIndex over Chroma, the same
embedding model as ExhibitQA, ``similarity_top_k=2``. A hit is a retrieved chunk that contains an
evidence quote (normalised), so chunks and paragraphs are judged by the same rule. Hybrid:
LlamaIndex's BM25 and vector retrievers fused by its QueryFusionRetriever over ExhibitQA's
paragraphs, the same work ExhibitQA's retrieval does.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import median
from typing import Any

from eval.gold import GoldItem, Located
from eval.metrics import mean
from index.embed import get_embedder
from index.sources import find_sources, read_record
from index.vectors import VectorHome
from qa.cites import normalize
from qa.retrieve import Retriever
from qa.settings import Settings
from qa.understand import scope

OOTB_TOP_K = 2
HIT_KS = (1, 2, 3, 5, 10)


def llamaindex_ootb(
    items: list[GoldItem], located: dict[str, Located], retriever: Retriever, settings: Settings
) -> dict[str, Any]:
    """Evidence hit@k, MRR and characters retrieved of the out-of-the-box pipeline."""
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    sources = [Path(s["path"]) for s in retriever.manifest["sources"]]
    exhibits = [e for e, _ in read_record(find_sources(sources)[0])]
    with tempfile.TemporaryDirectory() as tmp:
        client = VectorHome("ootb").client(Path(tmp))
        try:
            t0 = time.perf_counter()
            store = ChromaVectorStore(chroma_collection=client.create_collection("ootb"))
            index = VectorStoreIndex.from_documents(
                [Document(text=e.text, metadata={"exhibit": e.number}) for e in exhibits],
                storage_context=StorageContext.from_defaults(vector_store=store),
                embed_model=get_embedder(settings.embedding_model, settings),
            )
            build_s = time.perf_counter() - t0
            n_chunks = client.get_collection("ootb").count()
            found = index.as_retriever(similarity_top_k=max(HIT_KS))
            scores = _score(items, located, retriever, found.retrieve)
        finally:
            client.close()
    return {**scores, "passages": OOTB_TOP_K, "chunks": n_chunks, "build_s": round(build_s, 1)}


def llamaindex_hybrid(
    items: list[GoldItem],
    located: dict[str, Located],
    retriever: Retriever,
    settings: Settings,
    race: Callable[[Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The same measures for LlamaIndex's own hybrid over ExhibitQA's paragraphs (see
    ``hybrid_pipeline``): the fair anchor for ExhibitQA's dense + BM25 fusion, where
    ``llamaindex_ootb`` is dense chunks only. ``race`` is given the built pipeline, to time it
    beside ExhibitQA without building it twice (its result is kept under "race")."""
    with hybrid_pipeline(retriever, settings) as (fused, build_s):
        scores = _score(items, located, retriever, fused.retrieve)
        if race is not None:
            scores["race"] = race(fused)
    return {
        **scores,
        "passages": retriever.settings.k,
        "chunks": len(retriever.paragraphs),
        "build_s": round(build_s, 1),
    }


@contextmanager
def hybrid_pipeline(retriever: Retriever, settings: Settings) -> Iterator[tuple[Any, float]]:
    """LlamaIndex's hybrid as its docs build it, over ``retriever``'s paragraphs: its
    ``BM25Retriever`` and a ``VectorStoreIndex`` retriever (Chroma in a temporary folder, the
    same e5 model) fused by ``QueryFusionRetriever`` with reciprocal rank, one query, no LLM.
    Yields the fused retriever and its build time in seconds."""
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.llms import MockLLM
    from llama_index.core.retrievers import QueryFusionRetriever
    from llama_index.retrievers.bm25 import BM25Retriever
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from index.store import paragraph_node

    nodes = [paragraph_node(p, settings.contextual_headings) for p in retriever.paragraphs.values()]
    with tempfile.TemporaryDirectory() as tmp:
        client = VectorHome("li-hybrid").client(Path(tmp))
        try:
            t0 = time.perf_counter()
            store = ChromaVectorStore(chroma_collection=client.create_collection("hybrid"))
            index = VectorStoreIndex(
                nodes,
                storage_context=StorageContext.from_defaults(vector_store=store),
                embed_model=get_embedder(settings.embedding_model, settings),
            )
            top = min(max(HIT_KS), len(nodes))
            fused = QueryFusionRetriever(
                [
                    index.as_retriever(similarity_top_k=top),
                    BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=top),
                ],
                mode="reciprocal_rerank",  # type: ignore[arg-type]
                similarity_top_k=top,
                num_queries=1,
                use_async=False,
                llm=MockLLM(),
            )
            yield fused, time.perf_counter() - t0
        finally:
            client.close()


def _score(
    items: list[GoldItem],
    located: dict[str, Located],
    retriever: Retriever,
    retrieve: Callable[[str], list[Any]],
) -> dict[str, Any]:
    """Hit@k, MRR, characters in the first ``OOTB_TOP_K`` and query times of ``retrieve``: a hit
    is a retrieved node of the evidence's exhibit whose text holds the quote (normalised)."""
    hits: dict[int, list[float]] = {k: [] for k in HIT_KS}
    rrs: list[float] = []
    chars: list[int] = []
    query_s: list[float] = []
    for item in items:
        exhibits_filter = scope(item.question, retriever.exhibits).exhibits
        t0 = time.perf_counter()
        nodes = retrieve(item.question)
        query_s.append(time.perf_counter() - t0)
        if exhibits_filter:  # the same exhibit scoping ExhibitQA gets, applied after the fact
            nodes = [n for n in nodes if n.node.metadata.get("exhibit") in exhibits_filter]
        chunks = [(int(n.node.metadata["exhibit"]), normalize(n.node.get_content())) for n in nodes]
        chars.append(sum(len(n.node.get_content()) for n in nodes[:OOTB_TOP_K]))
        quotes = [(e.exhibit, normalize(e.quote)) for e in item.evidence]
        if not quotes or not located[item.id].per_quote:
            continue
        for k in HIT_KS:
            top = chunks[:k]
            hits[k].append(mean(any(ex == ce and q in text for ce, text in top) for ex, q in quotes))
        first = next(
            (i for i, (ce, text) in enumerate(chunks, 1) if any(ex == ce and q in text for ex, q in quotes)),
            None,
        )
        rrs.append(1.0 / first if first else 0.0)
    return {
        **{f"hit@{k}": mean(v) for k, v in hits.items()},
        "mrr": mean(rrs),
        "chars_retrieved": mean(chars),
        "query_p50_ms": round(1000 * median(query_s), 1) if query_s else 0.0,
        "query_p95_ms": round(1000 * sorted(query_s)[int(0.95 * len(query_s))], 1) if query_s else 0.0,
    }
