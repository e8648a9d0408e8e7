"""Hybrid retrieval: dense (Chroma) and BM25 (bm25s), fused by reciprocal rank (qa.hits.RankFusion)."""

from __future__ import annotations

import functools
import math
import os
import re
import threading
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle

from index.atomic import Hold, generation_id, hold
from index.embed import get_embedder
from index.manifest import BM25_TOKEN_PATTERN
from index.progressive import dense_note, dense_pending
from index.store import (
    check_current,
    load_paragraphs,
    load_term_counts,
    require_store,
)
from index.vectors import VectorHome
from qa.diversity import diverse_top
from qa.errors import (
    ConfigError,
    UsageError,
    damaged,
    no_index,
)
from qa.hits import BM25Hits, DenseHits, RankFusion, chroma_failure, node_of, where, with_quota
from qa.questions import reference_terms
from qa.settings import Settings
from qa.types import Paragraph, Passage

_CJK_RE = re.compile("[\u3400-\u9fff]")
# Chinese-only paragraphs found through the lexicon get this many of the k places: fused with
# two English-matching channels by rank alone, they would never reach the top k.
_ZH_SLOTS = 2
# The mirror image: a Chinese question's BM25 hits are all Chinese, so English translations get
# this many places (the aligned translations of the top hits first, then dense English hits).
_EN_SLOTS = 3
_QUERY_CACHE = 256
# Channel sets kept per exhibit scope: building them (masks, Chroma where clauses) took ~1 ms of
# a ~10 ms search.
_CHANNEL_CACHE = 64
_TEXT_CACHE = 4096


@dataclass(frozen=True)
class _Channels:
    """One exhibit scope's searches: each channel by name, their fusion, and dense English
    search (the places a Chinese question keeps for English translations)."""

    parts: dict[str, BaseRetriever]
    fused: RankFusion
    english: BaseRetriever


class Retriever:
    """Searches one index store; loads its paragraphs, BM25 index and Chroma collection once."""

    def __init__(self, settings: Settings):
        import bm25s
        import Stemmer

        self.settings = settings
        store = self.store = Path(settings.store)
        # Every file is read from the generation held here, never through the store's link, which
        # a rebuild may point elsewhere while this retriever serves (see index.atomic).
        held = hold(store)
        if held is None:
            require_store(store)  # says why: no index, a damaged one, or a dangling link
            raise no_index(str(store))
        gen = self.generation = held.path
        self.generation_id = gen.name if gen != store else generation_id(store)
        try:
            self.manifest = check_current(gen, settings, name=store)
            # Checked before any file is opened (BM25 is memory-mapped and would stay open).
            if VectorHome.of(self.manifest).url is None and not os.access(gen / "chroma", os.W_OK):
                raise ConfigError(
                    f"The index in {store} is on a read-only disk, and Chroma must write to its files "
                    "even to search them. Copy the store to a writable place and point --store or "
                    "EXHIBITQA_STORE there."
                )
            self._open(gen, bm25s, Stemmer)
        except BaseException:
            held.release()
            raise
        # A retriever replaced after a rebuild is dropped, not closed (another thread may still be
        # answering with it): its Chroma client and its hold on the generation go with it.
        self._finalizer = weakref.finalize(self, _close, self._client, held)
        # Shown with every answer, so an answer can be traced to the index it came from.
        # A progressive build's first generation: BM25 only until its vectors are swapped in.
        self.lexical_only = dense_pending(self.manifest)
        built = str(self.manifest.get("built_at", "?"))
        self.index_label = f"{built} ({gen.name.rsplit('-', 1)[-1]})" if gen != store else built

    def _open(self, gen: Path, bm25s: Any, Stemmer: Any) -> None:
        store, settings = self.store, self.settings
        ordered = load_paragraphs(gen, name=store)
        # The BM25 documents are the paragraphs in paragraphs.jsonl order (index.store writes both).
        self._keys: list[tuple[int, int]] = [(p.exhibit, p.number) for p in ordered]
        self.paragraphs: dict[tuple[int, int], Paragraph] = dict(zip(self._keys, ordered, strict=True))
        self._node_cache: dict[tuple[int, int], Any] = {}
        self._channel_cache: dict[tuple[frozenset[int] | None, bool, int], _Channels] = {}
        self._channel_lock = threading.Lock()
        self._boilerplate = {key for key, p in self.paragraphs.items() if p.boilerplate}
        self._zh_exhibits = {p.exhibit for p in self.paragraphs.values() if p.lang == "zh"}
        self._exhibit_of = np.array([e for e, _ in self._keys], dtype=np.int32)
        self._is_zh = np.array([p.lang == "zh" for p in ordered], dtype=bool)
        self._kept = ~np.array([p.boilerplate for p in ordered], dtype=bool)
        try:
            # Memory-mapped: a 100x record's BM25 matrix is paged in as searches touch it.
            self._bm25 = bm25s.BM25.load(str(gen / "bm25"), load_corpus=False, mmap=True, show_progress=False)
            docs = int(self._bm25.scores["num_docs"])
        except Exception as e:  # whatever bm25s raises for a truncated or foreign file
            raise damaged(str(store), f"bm25/ is unreadable: {e.__class__.__name__}") from e
        if docs != len(ordered):
            raise damaged(str(store), "bm25/ does not match paragraphs.jsonl")
        self._stemmer = Stemmer.Stemmer("english")
        self._df: Counter[str] | None = None
        self._query_vectors: dict[str, list[float]] = {}
        self._text_vectors: dict[str, list[float]] = {}
        self._embedder = get_embedder(settings.embedding_model, settings)
        home = self._home = VectorHome.of(self.manifest)
        try:
            self._client = home.client(gen)
        except ConfigError:  # a Chroma server that does not answer
            raise
        except Exception as e:
            raise self._chroma_failed(e) from e
        try:
            self._collection = self._client.get_collection(home.collection)
            self._collection.count()  # reads the collection's files: damage shows here
        except Exception as e:  # sqlite or HNSW files deleted, truncated or overwritten
            self._client.close()
            raise self._chroma_failed(e) from e

    def _node(self, key: tuple[int, int]) -> Any:
        """The one node fusion sees for a paragraph (fusion identifies nodes by their hash)."""
        return node_of(self._node_cache, self.paragraphs, self.settings.contextual_headings, key)

    def _mask(self, allowed: set[int] | None, skip_boilerplate: bool, zh_only: bool = False) -> np.ndarray:
        mask = self._kept.copy() if skip_boilerplate else np.ones(len(self._keys), dtype=bool)
        if allowed is not None:
            mask &= np.isin(self._exhibit_of, sorted(allowed))
        if zh_only:
            mask &= self._is_zh
        return mask

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
        self._finalizer()

    @property
    def channels(self) -> tuple[str, ...]:
        """The retrieval channels this generation can use."""
        return ("bm25", "bm25_zh") if self.lexical_only else ("dense", "bm25", "bm25_zh")

    def channel_note(self) -> str | None:
        """Said with an answer from a lexical-only generation: how far its dense build is."""
        return dense_note(self.manifest, self.generation)

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
        k = k or self.settings.k
        allowed = set(exhibits) if exhibits else None
        if allowed is not None:
            unknown = sorted(allowed - set(self.exhibits))
            if unknown:
                raise UsageError(
                    f"No exhibit {', '.join(map(str, unknown))} in this index. "
                    f"It holds exhibits {', '.join(map(str, self.exhibits))}."
                )
        chinese_question = bool(_CJK_RE.search(question))
        if method == "dense" and self.lexical_only:
            raise UsageError(
                f"The index in {self.store} has no vectors yet (a progressive build is making them): "
                "use hybrid or bm25, or wait for `exhibitqa index` to finish."
            )
        chan = self._channels(frozenset(allowed) if allowed else None, chinese_question, k)
        parts = chan.parts
        if method not in (*parts, "hybrid"):
            raise UsageError(f"Unknown retrieval method '{method}': use hybrid, dense or bm25.")
        # The lexical channels run after the question is embedded, not beside it: on 2 cores the
        # embedder's threads use both, and overlapping BM25 slowed the embedding by more than
        # BM25 takes (30.7 against 28.6 + 1.5 ms, sample record).
        dense = "dense" in parts and method in ("hybrid", "dense")
        bundle = QueryBundle(question, embedding=self.embed_query(question) if dense else None)
        retriever: BaseRetriever | RankFusion = parts.get(method, chan.fused)
        try:
            hits = retriever.retrieve(bundle)
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
                hits = with_quota(hits, parts["bm25_zh"].retrieve(bundle), k, _ZH_SLOTS)
            if method == "hybrid" and chinese_question and k > 2 and not self.lexical_only:
                english = self._translations(hits) + chan.english.retrieve(bundle)
                hits = with_quota(hits, english, k, _EN_SLOTS)
        except Exception as e:
            raise self._chroma_failed(e) from e
        return [
            Passage(
                paragraph=self.paragraphs[
                    (int(h.node.metadata["exhibit"]), int(h.node.metadata["paragraph"]))
                ],
                score=float(h.score or 0.0),
            )
            for h in hits
        ]

    def _channels(self, allowed: frozenset[int] | None, chinese_question: bool, k: int) -> _Channels:
        """The searches for one exhibit scope, made once and kept (they hold no per-query state
        but the translated channel's last hits)."""
        key = (allowed, chinese_question, k)
        got = self._channel_cache.get(key)
        if got is not None:
            return got
        n = self.settings.candidates
        skip_bp = not self.settings.include_boilerplate
        skip = self._boilerplate if skip_bp else set()
        exhibits = sorted(allowed) if allowed else None

        # The kept channels must not refer back to this retriever: a retriever in a reference
        # cycle outlives its last user until the garbage collector runs, and holds its
        # generation (which a rebuild would collect) until then.
        node = functools.partial(
            node_of, self._node_cache, self.paragraphs, self.settings.contextual_headings
        )
        embed = self._embedder.get_query_embedding

        def bm25(zh_only: bool = False) -> BM25Hits:
            mask = self._mask(set(allowed) if allowed else None, skip_bp, zh_only)
            return BM25Hits(
                self._bm25,
                self._keys,
                node,
                mask,
                n,
                BM25_TOKEN_PATTERN,
                self._stemmer,
                translate=zh_only,
            )

        def dense(lang: str | None = None) -> DenseHits:
            return DenseHits(self._collection, embed, node, n, where(exhibits, lang), skip)

        parts: dict[str, BaseRetriever] = (
            {"bm25": bm25()} if self.lexical_only else {"dense": dense(), "bm25": bm25()}
        )
        zh_scope = self._zh_exhibits if allowed is None else self._zh_exhibits & allowed
        if zh_scope and not chinese_question:
            parts["bm25_zh"] = bm25(zh_only=True)
        fused = RankFusion(list(parts.values()), 3 * k)  # a deeper pool for the per-exhibit quotas
        made = _Channels(parts, fused, dense("en"))
        with self._channel_lock:  # the app answers on several threads
            if len(self._channel_cache) >= _CHANNEL_CACHE:
                self._channel_cache.pop(next(iter(self._channel_cache)))
            self._channel_cache[key] = made
        return made

    def _chroma_failed(self, e: Exception) -> Exception:
        return chroma_failure(e, self.store, self.generation, self._home)

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
                        out.append(NodeWithScore(node=self._node((para.exhibit, n)), score=h.score))
        return out

    # The Toolkit an answerer uses (qa.answering.base.Toolkit).

    def embed_query(self, text: str) -> list[float]:
        # The search and the answerer both need the question's vector; it is computed once.
        vector = self._query_vectors.get(text)
        if vector is None:
            vector = list(self._embedder.get_query_embedding(text))
            if len(self._query_vectors) >= _QUERY_CACHE:
                self._query_vectors.pop(next(iter(self._query_vectors)))
            self._query_vectors[text] = vector
        return vector

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        # Related questions keep landing on the same paragraphs: their sentences are embedded once.
        todo = list(dict.fromkeys(t for t in texts if t not in self._text_vectors))
        if todo:
            for t, v in zip(todo, self._embedder.get_text_embedding_batch(todo), strict=True):
                if len(self._text_vectors) >= _TEXT_CACHE:
                    self._text_vectors.pop(next(iter(self._text_vectors)))
                self._text_vectors[t] = list(v)
        return [self._text_vectors[t] for t in texts]

    def clear_caches(self) -> None:
        """Forget embedded questions and sentences (benchmarks time each question from scratch)."""
        self._query_vectors.clear()
        self._text_vectors.clear()

    def closeness(self, question: str, keys: Sequence[tuple[int, int]]) -> list[float]:
        """Cosine of the question to each paragraph's first-window vector, read from Chroma."""
        if self.lexical_only:
            # No stored vectors yet: the few candidate paragraphs are embedded now instead.
            q = np.asarray(self.embed_query(question), dtype=np.float32)
            texts = self.embed_texts([self.paragraphs[k].text for k in keys])
            return [float(np.asarray(v, dtype=np.float32) @ q) for v in texts]
        ids = [self.paragraphs[k].key for k in keys]
        try:
            got = self._collection.get(ids=ids, include=["embeddings"])
        except Exception as e:
            raise self._chroma_failed(e) from e
        found = dict(zip(got["ids"], got["embeddings"], strict=True))
        q = np.asarray(self.embed_query(question), dtype=np.float32)
        return [float(np.asarray(found[i], dtype=np.float32) @ q) if i in found else 0.0 for i in ids]

    def df(self, term: str) -> int:
        """How many paragraphs of the record use ``term`` (a term as ``qa.text.terms`` makes it)."""
        if self._df is None:
            self._df = load_term_counts(self.generation, self.paragraphs.values())
        return self._df.get(term, 0)

    def idf(self, term: str) -> float:
        """Rarity of a term in the record; a term the record never uses gets the highest weight."""
        return math.log(1 + len(self.paragraphs) / (self.df(term) + 0.5))


def _close(client: Any, held: Hold) -> None:
    try:
        client.close()
    finally:
        held.release()
