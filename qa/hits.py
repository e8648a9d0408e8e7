"""The two first-stage searches (BM25 and dense), returning one canonical node per paragraph.

Both are small LlamaIndex retrievers so that LlamaIndex's ``QueryFusionRetriever`` fuses them.
They call bm25s and Chroma directly instead of going through ``BM25Retriever`` and
``ChromaVectorStore`` because, measured on the sample record, those spent more time than the
searches themselves: ``BM25Retriever`` re-evaluates its metadata filter in Python over every
document on every query (O(record) per question: ~350 ms at 100x the sample) and builds a new
stemmer per instance; both rebuild a full node from stored JSON for every hit, which fusion
then throws away. Here filters are numpy masks / Chroma ``where`` clauses built once, and a hit
is just a paragraph key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle

Key = tuple[int, int]


class BM25Hits(BaseRetriever):
    """BM25 over the paragraphs, restricted by a precomputed document mask."""

    def __init__(
        self,
        bm25: Any,
        keys: Sequence[Key],
        node: Callable[[Key], Any],
        mask: np.ndarray,
        k: int,
        token_pattern: str,
        stemmer: Any,
    ):
        super().__init__()
        self._bm25, self._keys, self._node, self._mask = bm25, keys, node, mask
        self._k = min(k, len(keys))
        self._pattern, self._stemmer = token_pattern, stemmer

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        import bm25s

        if not self._mask.any():
            return []
        tokens = bm25s.tokenize(
            query_bundle.query_str, stemmer=self._stemmer, token_pattern=self._pattern, show_progress=False
        )
        docs, scores = self._bm25.retrieve(
            tokens, k=self._k, show_progress=False, weight_mask=self._mask, n_threads=0
        )
        # bm25s fills k with masked-out or zero-score documents; they are not hits.
        return [
            NodeWithScore(node=self._node(self._keys[int(d)]), score=float(s))
            for d, s in zip(docs[0], scores[0], strict=True)
            if s > 0 and self._mask[int(d)]
        ]


class DenseHits(BaseRetriever):
    """Nearest windows in Chroma, collapsed to their paragraphs (a paragraph's best window wins)."""

    def __init__(
        self,
        collection: Any,
        embed: Callable[[str], list[float]],
        node: Callable[[Key], Any],
        n: int,
        where: dict[str, Any] | None,
        skip: set[Key],
    ):
        super().__init__()
        self._collection, self._embed, self._node = collection, embed, node
        self._n, self._where, self._skip = n, where, skip

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        vector = query_bundle.embedding or self._embed(query_bundle.query_str)
        got = self._collection.query(
            query_embeddings=[vector],
            n_results=self._n,
            where=self._where,
            include=["metadatas", "distances"],
        )
        out: list[NodeWithScore] = []
        seen: set[Key] = set()
        for meta, dist in zip(got["metadatas"][0], got["distances"][0], strict=True):
            key = (int(meta["exhibit"]), int(meta["paragraph"]))
            if key in seen or key in self._skip:
                continue
            seen.add(key)
            out.append(NodeWithScore(node=self._node(key), score=1.0 - float(dist)))
        return out


def where(exhibits: Sequence[int] | None, lang: str | None = None) -> dict[str, Any] | None:
    """A Chroma ``where`` clause for windows of ``exhibits`` (all if None) in ``lang`` (any if None)."""
    clauses: list[dict[str, Any]] = []
    if exhibits:
        clauses.append({"exhibit": {"$in": sorted(exhibits)}})
    if lang:
        clauses.append({"lang": {"$eq": lang}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
