"""The first-stage searches (BM25 and dense), returning one canonical node per paragraph, and
what a failure of Chroma's means.

Both are small LlamaIndex retrievers, fused by reciprocal rank (``RankFusion``). They call
bm25s and Chroma directly instead of going through ``BM25Retriever`` and ``ChromaVectorStore``
because, measured on the sample record, those spent more time than the searches themselves:
``BM25Retriever`` re-evaluates its metadata filter in Python over every document on every query
(O(record) per question: ~350 ms at 100x the sample) and builds a new stemmer per instance;
both rebuild a full node from stored JSON for every hit, which fusion then throws away. Here
filters are numpy masks / Chroma ``where`` clauses built once, and a hit is just a paragraph key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import chromadb.errors
import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle

from index.store import paragraph_node
from index.vectors import VectorHome, chroma_damage
from qa.errors import ConfigError, ExhibitQAError, IndexReadError, IndexStaleError, damaged
from qa.lexicon import to_chinese
from qa.text import shorten
from qa.types import Paragraph

Key = tuple[int, int]
# Window ids are ``Paragraph.key`` plus ``-wN`` for a paragraph's later windows (index.vectors).
_ID_RE = re.compile(r"ex(\d+)-p(\d+)(?:-w\d+)?")


# Reciprocal rank fusion's constant (Cormack et al. 2009), as LlamaIndex's fusion uses it.
RRF_K = 60.0
# Windows Chroma is asked for, however few are kept. Its HNSW search widens to the number asked
# (ef = max(ef_search, n)); at its default of 100 it missed windows of the exact top 30 (one at
# rank 9 of 743), differently from call to call and process to process. At 150 the top 30
# matched an exact search in all but 1 of about 20 fresh processes, which missed one window at
# the margin (30th, 0.0007 closer than the 31st): Chroma rebuilds the graph from its log in
# each process, and HNSW stays approximate. Asking for 300 cost 0.33 ms more a query.
_HNSW_POOL = 150


def query_tokens(text: str, pattern: str, stemmer: Any) -> list[str]:
    """A question's BM25 terms exactly as ``bm25s.tokenize`` makes them (lower case, the token
    pattern, English stopwords dropped, stemmed), without its per-call vocabulary and progress
    bars: the tokenizer was a fifth of a channel's time."""
    from bm25s.stopwords import STOPWORDS_EN

    # re keeps the compiled pattern in its own cache.
    words = [w for w in re.findall(pattern, text.lower()) if w not in STOPWORDS_EN]
    return list(stemmer.stemWords(words)) if words else []


def id_key(window_id: str) -> Key:
    """The paragraph key of a Chroma window id: ``ex61-p12-w1`` -> ``(61, 12)``."""
    m = _ID_RE.fullmatch(window_id)
    if m is None:
        raise ValueError(f"not an ExhibitQA window id: {window_id!r}")
    return int(m.group(1)), int(m.group(2))


class BM25Hits(BaseRetriever):
    """BM25 over the paragraphs, restricted by a precomputed document mask; with ``translate``,
    searched with the question's English words looked up as Chinese words (qa.lexicon)."""

    def __init__(
        self,
        bm25: Any,
        keys: Sequence[Key],
        node: Callable[[Key], Any],
        mask: np.ndarray,
        k: int,
        token_pattern: str,
        stemmer: Any,
        translate: bool = False,
    ):
        super().__init__()
        self._bm25, self._keys, self._node, self._mask = bm25, keys, node, mask
        self._k = min(k, len(keys))
        self._pattern, self._stemmer, self._translate = token_pattern, stemmer, translate
        # The last question's hits: a search runs the lexical channels while the question is
        # being embedded, then fusion asks for them again (and the Chinese channel's quota once
        # more). Replaced whole, so a thread never sees another question's hits as its own;
        # kept as (node, score) because fusion rewrites the scores of the NodeWithScores it gets.
        self._last: tuple[str, list[tuple[Any, float]]] = ("", [])

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        asked = query_bundle.query_str
        last = self._last
        if not (last[0] == asked and asked):
            last = self._last = (
                asked,
                self._search(" ".join(to_chinese(asked)) if self._translate else asked),
            )
        return [NodeWithScore(node=node, score=score) for node, score in last[1]]

    def _search(self, text: str) -> list[tuple[Any, float]]:
        from bm25s.selection import topk

        if not text.strip() or not self._mask.any():
            return []
        # bm25s's own scoring and top-k, called directly: its retrieve() adds a tokenizer pass,
        # vocabulary mapping and progress-bar wrappers that took as long as the scoring.
        ids = self._bm25.get_tokens_ids(query_tokens(text, self._pattern, self._stemmer))
        if not ids:
            return []
        scores, docs = topk(self._bm25.get_scores_from_ids(ids, weight_mask=self._mask), self._k, sorted=True)
        # Top-k is filled with masked-out or zero-score documents; they are not hits.
        return [
            (self._node(self._keys[int(d)]), float(s))
            for d, s in zip(docs, scores, strict=True)
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
        # Keys come from the ids Chroma always returns: fetching metadatas as well took 3.7 ms
        # a query against 1.1 ms without (sample record), most of a hybrid search's own time.
        got = self._collection.query(
            query_embeddings=[vector],
            n_results=max(self._n, _HNSW_POOL),
            where=self._where,
            include=["distances"],
        )
        nearest = sorted(zip(got["distances"][0], got["ids"][0], strict=True))[: self._n]
        out: list[NodeWithScore] = []
        seen: set[Key] = set()
        for dist, wid in nearest:
            key = id_key(wid)
            if key in seen or key in self._skip:
                continue
            seen.add(key)
            out.append(NodeWithScore(node=self._node(key), score=1.0 - float(dist)))
        return out


class RankFusion:
    """Reciprocal-rank fusion of channels' hits: each channel ranked by its own scores, a
    paragraph's fused score the sum of 1 / (RRF_K + rank) over the channels that found it, ties
    in the order first found; the ``top`` best.

    The same arithmetic and order as LlamaIndex's ``QueryFusionRetriever`` in reciprocal_rerank
    mode (same rankings on every gold question), written here because that class hashes each
    hit's text and metadata (sha256) on every search and wraps every call in its instrumentation:
    about 1 ms of a 4 ms search beyond the question's embedding on the sample record."""

    def __init__(self, channels: Sequence[BaseRetriever], top: int):
        self.channels, self.top = list(channels), top

    def retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        fused: dict[str, float] = {}
        nodes: dict[str, Any] = {}
        for channel in self.channels:
            ranked = sorted(channel.retrieve(query_bundle), key=lambda h: h.score or 0.0, reverse=True)
            for rank, hit in enumerate(ranked):
                nid = hit.node.node_id
                nodes[nid] = hit.node
                fused[nid] = fused.get(nid, 0.0) + 1.0 / (rank + RRF_K)
        best = sorted(fused.items(), key=lambda kv: kv[1], reverse=True)[: self.top]
        return [NodeWithScore(node=nodes[nid], score=score) for nid, score in best]


def with_quota(
    hits: list[NodeWithScore], extra: list[NodeWithScore], k: int, slots: int
) -> list[NodeWithScore]:
    """``hits`` with the best ``slots`` of ``extra`` guaranteed a place among the first ``k``."""
    have = {h.node.node_id for h in hits}
    missing = [e for e in extra[:slots] if e.node.node_id not in have]
    if not missing:
        return hits
    floor = min((h.score or 0.0) for h in hits[: k - len(missing)]) if hits[: k - len(missing)] else 0.0
    return hits[: k - len(missing)] + [NodeWithScore(node=e.node, score=floor * 0.999) for e in missing]


def node_of(
    cache: dict[tuple[int, int], Any],
    paragraphs: dict[tuple[int, int], Paragraph],
    headings: bool,
    key: tuple[int, int],
) -> Any:
    """The one node fusion sees for a paragraph, made once (fusion identifies nodes by hash)."""
    node = cache.get(key)
    if node is None:
        node = cache[key] = paragraph_node(paragraphs[key], headings)
    return node


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


def chroma_failure(e: Exception, store: Path, generation: Path, home: VectorHome) -> Exception:
    """What a Chroma failure means, said truthfully: a server that stopped answering, files
    on disk that are damaged (checked before saying so), or neither."""
    if isinstance(e, ExhibitQAError):
        return e
    if home.url is not None:
        if isinstance(e, chromadb.errors.NotFoundError):
            return IndexStaleError(
                f"The Chroma collection of the index in {store} is gone from {home.url} "
                "(another process rebuilt the index, or the server's data was replaced); ask again."
            )
        return ConfigError(
            f"Lost the Chroma server at {home.url} ({_what(e)}). Start it again "
            "(`chroma run --path DIR --port PORT`); the next question reconnects by itself."
        )
    problem = chroma_damage(generation / "chroma", home.collection)
    if problem is not None:
        return damaged(str(store), problem)
    return IndexReadError(
        f"Chroma could not read the index in {store} ({_what(e)}), although its files on disk "
        "are intact. Ask again; if it happens again, restart the app or notebook kernel."
    )


def _what(e: BaseException) -> str:
    return shorten(f"{e.__class__.__name__}: {e}")
