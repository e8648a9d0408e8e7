"""Hybrid retrieval: dense (Chroma through LlamaIndex) and BM25, fused by reciprocal rank."""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import chromadb.errors
from llama_index.core import VectorStoreIndex
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import QueryFusionRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters

from index.embed import get_embedder
from index.store import (
    BM25_TOKEN_PATTERN,
    check_current,
    load_paragraphs,
    paragraph_node,
)
from index.vectors import VectorHome
from qa.diversity import diverse_top
from qa.errors import ConfigError, IndexStaleError
from qa.questions import reference_terms
from qa.settings import Settings
from qa.text import terms
from qa.types import Paragraph, Passage


class _ToParagraphs(BaseRetriever):
    """Maps hits (whole paragraphs or windows of them) to one canonical node per paragraph.

    Fusion identifies nodes by hash, so both retrievers must hand it the very same node for a
    paragraph; windows of one paragraph collapse to their best-ranked hit.
    """

    def __init__(
        self,
        inner: BaseRetriever,
        nodes: dict[tuple[int, int], Any],
        allowed: set[int] | None,
        skip: set[tuple[int, int]],
    ):
        super().__init__()
        self._inner = inner
        self._nodes = nodes
        self._allowed = allowed
        self._skip = skip

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        out: list[NodeWithScore] = []
        seen: set[tuple[int, int]] = set()
        for hit in self._inner.retrieve(query_bundle):
            key = (int(hit.node.metadata["exhibit"]), int(hit.node.metadata["paragraph"]))
            # bm25s returns masked-out or zero-score documents to fill k; they are not hits.
            if key in seen or (hit.score is not None and hit.score <= 0):
                continue
            if (self._allowed is not None and key[0] not in self._allowed) or key in self._skip:
                continue
            seen.add(key)
            out.append(NodeWithScore(node=self._nodes[key], score=hit.score))
        return out


class _Translated(BaseRetriever):
    """Searches with the question's English words looked up as Chinese words (qa.lexicon)."""

    def __init__(self, inner: BaseRetriever):
        super().__init__()
        self._inner = inner

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        from qa.lexicon import to_chinese

        words = to_chinese(query_bundle.query_str)
        return self._inner.retrieve(" ".join(words)) if words else []


_CJK_RE = re.compile("[\u3400-\u9fff]")
# Chinese-only paragraphs found through the lexicon get this many of the k places: fused with
# two English-matching channels by rank alone, they would never reach the top k.
_ZH_SLOTS = 2
# The mirror image: a Chinese question's BM25 hits are all Chinese, so English translations get
# this many places (the aligned translations of the top hits first, then dense English hits).
_EN_SLOTS = 3


def _with_quota(
    hits: list[NodeWithScore], extra: list[NodeWithScore], k: int, slots: int
) -> list[NodeWithScore]:
    """``hits`` with the best ``slots`` of ``extra`` guaranteed a place among the first ``k``."""
    have = {h.node.node_id for h in hits}
    missing = [e for e in extra[:slots] if e.node.node_id not in have]
    if not missing:
        return hits
    floor = min((h.score or 0.0) for h in hits[: k - len(missing)]) if hits[: k - len(missing)] else 0.0
    return hits[: k - len(missing)] + [NodeWithScore(node=e.node, score=floor * 0.999) for e in missing]


class Retriever:
    """Searches one index store; loads its paragraphs, BM25 index and Chroma collection once."""

    def __init__(self, settings: Settings):
        import bm25s

        self.settings = settings
        store = Path(settings.store)
        self.manifest = check_current(store, settings)
        self.paragraphs: dict[tuple[int, int], Paragraph] = {
            (p.exhibit, p.number): p for p in load_paragraphs(store)
        }
        self._nodes = {
            key: paragraph_node(p, settings.contextual_headings) for key, p in self.paragraphs.items()
        }
        self._boilerplate = {key for key, p in self.paragraphs.items() if p.boilerplate}
        self._zh_exhibits = {p.exhibit for p in self.paragraphs.values() if p.lang == "zh"}
        self._bm25 = bm25s.BM25.load(str(store / "bm25"), load_corpus=True)
        self._df: Counter[str] | None = None
        self._embedder = get_embedder(settings.embedding_model, settings)
        home = VectorHome.of(self.manifest)
        self._client = home.client(store)
        from llama_index.vector_stores.chroma import ChromaVectorStore

        collection = self._client.get_collection(home.collection)
        self._index = VectorStoreIndex.from_vector_store(
            ChromaVectorStore(chroma_collection=collection),
            embed_model=self._embedder,
        )

    @property
    def exhibits(self) -> list[int]:
        return sorted({e for e, _ in self.paragraphs})

    @functools.cached_property
    def references(self) -> dict[int, set[str]]:
        """Per exhibit, the words a question may call it by (see ``exhibits_referenced``)."""
        first: dict[int, list[Paragraph]] = {}
        for (e, _n), p in sorted(self.paragraphs.items()):
            if len(first.setdefault(e, [])) < 3:
                first[e].append(p)
        return {
            e: reference_terms(ps[0].title, " ".join(p.text[:300] for p in ps)) for e, ps in first.items()
        }

    def close(self) -> None:
        self._client.close()

    def search(
        self,
        question: str,
        *,
        exhibits: list[int] | None = None,
        k: int | None = None,
        method: str = "hybrid",
    ) -> list[Passage]:
        """The ``k`` best paragraphs for ``question``, optionally only from ``exhibits``.

        ``method`` is "hybrid" (dense and BM25 fused), or "dense" or "bm25" alone (baselines).
        """
        from llama_index.retrievers.bm25 import BM25Retriever

        k = k or self.settings.k
        allowed = set(exhibits) if exhibits else None
        if allowed is not None:
            unknown = sorted(allowed - set(self.exhibits))
            if unknown:
                raise ConfigError(
                    f"No exhibit {', '.join(map(str, unknown))} in this index. "
                    f"It holds exhibits {', '.join(map(str, self.exhibits))}."
                )
        filters = (
            MetadataFilters(
                filters=[MetadataFilter(key="exhibit", value=sorted(allowed), operator=FilterOperator.IN)]
            )
            if allowed
            else None
        )
        n = self.settings.candidates
        skip = set() if self.settings.include_boilerplate else self._boilerplate
        dense = self._index.as_retriever(similarity_top_k=n, filters=filters)
        bm25 = BM25Retriever(
            existing_bm25=self._bm25,
            similarity_top_k=min(n, len(self.paragraphs)),
            token_pattern=BM25_TOKEN_PATTERN,
            filters=filters,
        )
        parts: dict[str, BaseRetriever] = {
            "dense": _ToParagraphs(dense, self._nodes, allowed, skip),
            "bm25": _ToParagraphs(bm25, self._nodes, allowed, skip),
        }
        zh_scope = self._zh_exhibits if allowed is None else self._zh_exhibits & allowed
        if zh_scope and not _CJK_RE.search(question):
            zh_only = [MetadataFilter(key="lang", value="zh", operator=FilterOperator.EQ)]
            bm25_zh = BM25Retriever(
                existing_bm25=self._bm25,
                similarity_top_k=min(n, len(self.paragraphs)),
                token_pattern=BM25_TOKEN_PATTERN,
                filters=MetadataFilters(filters=zh_only + (filters.filters if filters else [])),  # type: ignore[operator]
            )
            parts["bm25_zh"] = _ToParagraphs(_Translated(bm25_zh), self._nodes, allowed, skip)
        if method not in (*parts, "hybrid"):
            raise ConfigError(f"Unknown retrieval method '{method}': use hybrid, dense or bm25.")
        retriever: BaseRetriever = (
            parts[method]
            if method in parts
            else QueryFusionRetriever(
                list(parts.values()),
                mode="reciprocal_rerank",  # type: ignore[arg-type]
                similarity_top_k=3 * k,  # a deeper pool for the per-exhibit quotas below
                num_queries=1,  # no LLM query rewriting: retrieval stays offline and deterministic
                use_async=False,
                llm=MockLLM(),
            )
        )
        try:
            hits = retriever.retrieve(question)
        except chromadb.errors.NotFoundError as e:
            # This retriever's generation was swapped out under it by a rebuild.
            raise IndexStaleError(
                f"The index in {self.settings.store} was rebuilt while this search ran; ask again "
                "(qa.ask and the app pick up the new index by themselves)."
            ) from e
        if method == "hybrid":
            keep = diverse_top(
                [int(h.node.metadata["exhibit"]) for h in hits],
                k,
                cap=self.settings.exhibit_cap or k,
                required=sorted(allowed) if allowed else (),
            )
            hits = [hits[i] for i in keep]
        hits = hits[:k]
        if method == "hybrid" and "bm25_zh" in parts and k > 2:
            hits = _with_quota(hits, parts["bm25_zh"].retrieve(question), k, _ZH_SLOTS)
        if method == "hybrid" and _CJK_RE.search(question) and k > 2:
            en_only = [MetadataFilter(key="lang", value="en", operator=FilterOperator.EQ)]
            dense_en = self._index.as_retriever(
                similarity_top_k=n,
                filters=MetadataFilters(filters=en_only + (filters.filters if filters else [])),  # type: ignore[operator]
            )
            english = self._translations(hits) + _ToParagraphs(dense_en, self._nodes, allowed, skip).retrieve(
                question
            )
            hits = _with_quota(hits, english, k, _EN_SLOTS)
        return [
            Passage(
                paragraph=self.paragraphs[
                    (int(h.node.metadata["exhibit"]), int(h.node.metadata["paragraph"]))
                ],
                score=float(h.score or 0.0),
            )
            for h in hits
        ]

    def _translations(self, hits: list[NodeWithScore]) -> list[NodeWithScore]:
        """The aligned English paragraphs of the Chinese ``hits``, in the hits' order."""
        out = []
        for h in hits:
            key = (int(h.node.metadata["exhibit"]), int(h.node.metadata["paragraph"]))
            para = self.paragraphs[key]
            if para.lang == "zh":
                for n in para.aligned:
                    other = self.paragraphs.get((para.exhibit, n))
                    if other is not None and other.lang == "en" and not other.boilerplate:
                        out.append(NodeWithScore(node=self._nodes[(para.exhibit, n)], score=h.score))
        return out

    # The Toolkit an answerer uses (qa.answerers.Toolkit).

    def embed_query(self, text: str) -> list[float]:
        return list(self._embedder.get_query_embedding(text))

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        return [list(v) for v in self._embedder.get_text_embedding_batch(texts)]

    def df(self, term: str) -> int:
        """How many paragraphs of the record use ``term`` (a term as ``qa.text.terms`` makes it)."""
        if self._df is None:
            df: Counter[str] = Counter()
            for p in self.paragraphs.values():
                df.update(set(terms(p.text)))
            self._df = df
        return self._df.get(term, 0)

    def idf(self, term: str) -> float:
        """Rarity of a term in the record; a term the record never uses gets the highest weight."""
        return math.log(1 + len(self.paragraphs) / (self.df(term) + 0.5))
