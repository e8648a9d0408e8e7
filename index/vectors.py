"""An index generation's vectors: where they live (the store's own ``chroma/`` or a Chroma
server), and how they are written, reusing the vectors of unchanged text.

With ``EXHIBITQA_CHROMA_URL`` set, each generation writes its own collection on the server
(``exhibitqa-<generation>``) and the manifest names it, so a half-built generation is never
read and the previous collection is dropped only after the swap.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from index.segment import windows
from qa.errors import ConfigError
from qa.settings import Settings
from qa.types import Paragraph

Progress = Callable[[int, int], None]

LOCAL_COLLECTION = "exhibitqa"


@dataclass(frozen=True)
class VectorHome:
    """A Chroma collection and where it lives (a server URL, or the store directory)."""

    collection: str
    url: str | None = None

    @classmethod
    def new(cls, url: str | None) -> VectorHome:
        return cls(f"exhibitqa-{uuid.uuid4().hex[:12]}" if url else LOCAL_COLLECTION, url)

    @classmethod
    def of(cls, manifest: dict[str, Any]) -> VectorHome:
        v = manifest.get("vectors") or {}
        return cls(v.get("collection", LOCAL_COLLECTION), v.get("url"))

    def to_json(self) -> dict[str, Any]:
        return {"collection": self.collection, "url": self.url}

    def client(self, store: Path) -> Any:
        """A Chroma client for this home; a server that does not answer is a clear error."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self.url is None:
            return chromadb.PersistentClient(path=str(store / "chroma"), settings=chroma_settings)
        u = urlparse(self.url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ConfigError(f"EXHIBITQA_CHROMA_URL={self.url!r} is not an http(s)://host:port URL.")
        try:
            client = chromadb.HttpClient(
                host=u.hostname,
                port=u.port or (443 if u.scheme == "https" else 80),
                ssl=u.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as e:  # connection refused, DNS, TLS: all mean the same to the user
            raise ConfigError(
                f"Cannot reach the Chroma server at {self.url} ({e.__class__.__name__}). Start it "
                "(`chroma run --path DIR --port PORT`) or unset EXHIBITQA_CHROMA_URL to use the local store."
            ) from e
        return client

    def drop(self, store: Path) -> None:
        """Delete a server collection (local collections go with their directory)."""
        if self.url is None:
            return
        try:
            client = self.client(store)
            client.delete_collection(self.collection)
        except Exception:  # best effort: an orphaned collection wastes space, nothing more
            pass


# Chroma's defaults, stated. Measured by `exhibitqa bench` against brute force: HNSW returns the
# exact top 30 windows for the gold questions at 1x the sample (recall 1.0) and 97% of them at
# 10x. At 100x of *synthetic copies* it returns 27%, most likely because each window there has
# 99 near-identical copies that take all 16 graph links, splitting the graph into clusters
# (ef_search 200 and 400, set with collection.modify, gave the same). Real records are not made
# of copies; this is left as measured.
# sync_threshold is raised from 1,000 so a big build flushes the HNSW file ten times less often.
HNSW = {
    "space": "cosine",
    "ef_construction": 100,
    "ef_search": 100,
    "max_neighbors": 16,
    "sync_threshold": 10000,
}
EMBED_BATCH = 128
CHROMA_CHUNK = 4096
VECTOR_CACHE = "vector_cache.npz"
# Often enough that a stopped build loses under a minute of embedding; rare enough that saving
# every vector (215 MB at 100x the sample) stays a small share of the build.
CHECKPOINT_S = 30.0


def _old_vectors(store: Path, manifest: dict[str, Any] | None, model: str) -> dict[str, np.ndarray]:
    """Vectors of the current store keyed by window-text hash, so unchanged text is not re-embedded.

    Besides its Chroma collection, a store keeps in ``vector_cache.npz`` the vectors its last
    builds stopped using, so that turning a setting back (contextual headings, windows) re-embeds
    nothing. Hashes include the model name: another model's vectors never match.
    """
    out = _cached_vectors(store)
    if manifest is None or manifest.get("index_settings", {}).get("embedding_model") != model:
        return out
    home = VectorHome.of(manifest)
    try:
        client = home.client(store)
        try:
            got = client.get_collection(home.collection).get(include=["embeddings", "metadatas"])
        finally:
            client.close()
    except Exception:  # a damaged or unreachable old store only costs us the reuse
        return {}
    out.update(
        (str(meta["sha"]), np.asarray(emb, dtype=np.float32))
        for meta, emb in zip(
            got["metadatas"] or [], got["embeddings"] if got["embeddings"] is not None else [], strict=False
        )
        if meta and "sha" in meta
    )
    return out


def _cached_vectors(store: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(store / VECTOR_CACHE) as data:
            return dict(zip(data["sha"].tolist(), data["vectors"], strict=True))
    except (OSError, KeyError, ValueError):  # none yet, or damaged: it only saves time
        return {}


def save_vectors(generation: Path, cache: dict[str, np.ndarray]) -> None:
    """Write every vector of ``cache`` to the generation's ``vector_cache.npz`` (replaced whole)."""
    if not cache:
        return
    tmp = generation / f".{VECTOR_CACHE}.tmp.npz"
    np.savez(tmp, sha=np.array(list(cache)), vectors=np.stack(list(cache.values())).astype(np.float32))
    os.replace(tmp, generation / VECTOR_CACHE)


def _write_vector_cache(tmp: Path, cache: dict[str, np.ndarray], unused: set[str], limit: int) -> None:
    """Keep the store's vectors this build no longer uses, newest first (at most ``limit``)."""
    spare = [sha for sha in reversed(cache) if sha in unused][:limit]
    if spare:
        np.savez(
            tmp / VECTOR_CACHE,
            sha=np.array(spare),
            vectors=np.stack([cache[sha] for sha in spare]).astype(np.float32),
        )


def write_vectors(
    tmp: Path,
    home: VectorHome,
    paragraphs: list[Paragraph],
    donors: list[tuple[Path, dict[str, Any] | None]],
    settings: Settings,
    progress: Progress | None,
    before_embedding: Callable[[int], None] | None = None,
    checkpoint: Callable[[dict[str, np.ndarray]], None] | None = None,
) -> tuple[int, int, dict[tuple[int, int], np.ndarray]]:
    """Embed (or reuse) every window of ``paragraphs`` into a new collection at ``home``; returns
    the window count, how many were reused, and each paragraph's first-window vector.

    ``donors`` are stores (with their manifests) whose vectors of unchanged text are reused,
    the store being rebuilt first. ``before_embedding`` is told how many texts must be embedded
    once that is known and before the first is (a progressive build publishes its lexical index);
    ``checkpoint`` is given every vector in hand then and every ``CHECKPOINT_S`` of embedding
    after (it keeps them in the lexical generation, for a stopped build's successor to reuse).
    """
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

    # (id, text, metadata) per window; nodes are made per chunk below so that a big record never
    # holds all its vectors as Python float lists (~1.8 GB at 100x the sample).
    items: list[tuple[str, str, dict[str, Any]]] = []
    for p in paragraphs:
        for w, piece in enumerate(windows(p.text, settings.window_words, settings.window_overlap_words)):
            # With contextual headings, every window is embedded under its section heading.
            text = f"{p.heading}\n{piece}" if p.heading and settings.contextual_headings else piece
            meta = {
                "exhibit": p.exhibit,
                "paragraph": p.number,
                "lang": p.lang,
                "window": w,
                "sha": _sha(settings.embedding_model + "\0" + text),
            }
            items.append((p.key if w == 0 else f"{p.key}-w{w}", text, meta))

    cache: dict[str, np.ndarray] = {}
    own: set[str] = set()  # the store's own vectors: only these are worth keeping as spares
    for donor, manifest in reversed(donors):  # the current store last: its vectors are the newest
        got = _old_vectors(donor, manifest, settings.embedding_model)
        cache.update(got)
        if donor == donors[0][0]:
            own = set(got)
    # Repeated text (running headers, "Source:" lines) is embedded once.
    todo = list({meta["sha"]: text for _, text, meta in items if meta["sha"] not in cache}.items())
    if before_embedding is not None:
        before_embedding(len(todo))
    if checkpoint is not None:
        checkpoint(cache)
    saved = time.monotonic()
    for i in range(0, len(todo), EMBED_BATCH):
        batch = todo[i : i + EMBED_BATCH]
        from index.embed import get_embedder  # loads llama-index and the model: only when embedding

        vectors = get_embedder(settings.embedding_model, settings).get_text_embedding_batch(
            [text for _, text in batch]
        )
        for (sha, _), v in zip(batch, vectors, strict=True):
            cache[sha] = np.asarray(v, dtype=np.float32)
        if checkpoint is not None and (
            time.monotonic() - saved > CHECKPOINT_S or i + EMBED_BATCH >= len(todo)
        ):
            checkpoint(cache)
            saved = time.monotonic()
        if progress:
            progress(min(i + EMBED_BATCH, len(todo)), len(todo))

    client = home.client(tmp)
    try:
        collection = client.create_collection(
            home.collection, configuration={"hnsw": HNSW}, embedding_function=None
        )
        store = ChromaVectorStore(chroma_collection=collection)
        for i in range(0, len(items), CHROMA_CHUNK):
            store.add(
                [
                    TextNode(id_=id_, text=text, metadata=meta, embedding=cache[meta["sha"]].tolist())
                    for id_, text, meta in items[i : i + CHROMA_CHUNK]
                ]
            )
    finally:
        client.close()
    _write_vector_cache(tmp, cache, own - {meta["sha"] for _, _, meta in items}, limit=len(items))
    first = {
        (int(meta["exhibit"]), int(meta["paragraph"])): cache[meta["sha"]]
        for _, _, meta in items
        if meta["window"] == 0
    }
    return len(items), len(items) - len(todo), first


_HNSW_FILES = ("header.bin", "data_level0.bin", "length.bin", "link_lists.bin")


def chroma_damage(path: Path, collection: str) -> str | None:
    """What is wrong with the Chroma files at ``path`` for ``collection``, or None if they check
    out: read straight from disk (sqlite opened read-only), so an error Chroma raises is called
    damage only when the files are damaged."""
    import sqlite3

    db = path / "chroma.sqlite3"
    if not db.is_file():
        return "chroma/chroma.sqlite3 is missing"
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            check = con.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                return f"chroma/ is unreadable (chroma.sqlite3 fails its integrity check: {check})"
            row = con.execute("SELECT id FROM collections WHERE name = ?", (collection,)).fetchone()
            if row is None:
                return f"chroma/ is unreadable (it has no collection '{collection}')"
            segments = con.execute(
                "SELECT id FROM segments WHERE collection = ? AND scope = 'VECTOR'", (row[0],)
            ).fetchall()
    except sqlite3.Error as e:
        return f"chroma/ is unreadable (chroma.sqlite3: {e})"
    if not segments:
        return "chroma/ is unreadable (its collection has no vector segment)"
    for (segment,) in segments:
        folder = path / segment
        # The HNSW files appear at the first flush; before it, Chroma replays its sqlite log.
        if folder.is_dir():
            missing = [f for f in _HNSW_FILES if not (folder / f).is_file()]
            if missing:
                return f"chroma/{segment}/ is missing {', '.join(missing)}"
    return None


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
