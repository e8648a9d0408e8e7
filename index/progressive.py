"""Progressive builds: a lexical-only generation first, the full one when its vectors are done.

Embedding is almost all of a build (97% of the sample's), while paragraphs, BM25 and term
counts take seconds. A build that must embed many texts therefore publishes a complete,
self-consistent generation without vectors first (``manifest.json`` says ``"dense": "pending"``,
its Chroma collection is empty), so questions are answered by the two BM25 channels at once;
the full generation replaces it by the same atomic swap as any build. A build stopped meanwhile
leaves the lexical generation serving, and the next build sees it as stale and finishes it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.atomic import new_generation, swap_in
from index.manifest import TERMS, BuildReport, write_manifest, write_paragraphs
from index.vectors import HNSW, VectorHome

if TYPE_CHECKING:
    from index.sources import SourceFile
    from qa.settings import Settings
    from qa.types import Exhibit, Paragraph

PROGRESS = "dense_progress.json"


def publish_lexical_generation(
    store: Path,
    building: Path,
    paragraphs: list[Paragraph],
    record: list[tuple[Exhibit, list[Paragraph]]],
    sources: list[SourceFile],
    settings: Settings,
    report: BuildReport,
) -> Path:
    """Swap in a generation with the paragraphs, BM25 (copied from ``building``, where the full
    build wrote it) and term counts, and an empty collection; returns its path."""
    gen = new_generation(store)
    home = VectorHome.new(settings.chroma_url)
    try:
        shutil.copytree(building / "bm25", gen / "bm25")
        shutil.copy2(building / TERMS, gen / TERMS)
        write_paragraphs(gen, paragraphs)
        client = home.client(gen)
        try:
            # Empty, so that every part a complete store has is there and readers open it as usual.
            client.create_collection(home.collection, configuration={"hnsw": HNSW}, embedding_function=None)
        finally:
            client.close()
        write_progress(gen, 0, report.embedded)
        write_manifest(gen, record, sources, settings, replace(report, vectors=0), home, dense="pending")
        return swap_in(gen, store)
    except BaseException:
        shutil.rmtree(gen, ignore_errors=True)
        home.drop(gen)
        raise


def write_progress(generation: Path, done: int, total: int) -> None:
    """Record how many of the texts being embedded are done (replaced whole, never half-written)."""
    tmp = generation / f".{PROGRESS}.tmp"
    try:
        tmp.write_text(json.dumps({"done": done, "total": total}), encoding="utf-8")
        os.replace(tmp, generation / PROGRESS)
    except OSError:  # the generation was collected after the full one replaced it
        pass


def read_progress(generation: Path) -> dict[str, Any]:
    """``{"done": n, "total": m}`` of a lexical generation's dense build ({} if unknown)."""
    try:
        got = json.loads((generation / PROGRESS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return got if isinstance(got, dict) else {}


def _counts(generation: Path) -> tuple[int, int]:
    got = read_progress(generation)
    return int(got.get("done", 0)), int(got.get("total", 0))


def dense_pending(manifest: dict[str, Any]) -> bool:
    """True for a progressive build's lexical-only generation (stores before them have no key)."""
    return manifest.get("dense", "complete") != "complete"


def dense_note(manifest: dict[str, Any], generation: Path) -> str | None:
    """What an answer from this generation says about its channels, or None if it has them all."""
    if not dense_pending(manifest):
        return None
    done, total = _counts(generation)
    share = f"{100 * done // total}% built" if total else "not built"
    return (
        f"lexical search only (BM25): dense search {share}; answers improve when the build "
        "finishes (`exhibitqa index` completes a stopped one)"
    )


def build_status(store: Path) -> str:
    """One line on the store's dense build for the app to show while one runs ("" when the
    current generation has its vectors, or there is no index): the app did not start the build
    (``exhibitqa index`` or ``make run`` did), so it learns of it from the files alone."""
    from index.atomic import current

    gen = current(store)
    if gen is None:
        return ""
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if not isinstance(manifest, dict) or not dense_pending(manifest):
        return ""
    done, total = _counts(gen)
    share = f"{100 * done // total}% ({done}/{total} texts)" if total else "starting"
    return (
        f"Index: answering with keyword search (BM25) while dense search is built: {share}. "
        "Answers use it when the build finishes."
    )
