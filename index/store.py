"""The index store: a directory of plain files with fixed names.

    manifest.json     what was indexed, with which settings and model, and the counts
    paragraphs.jsonl  one paragraph per line: exhibit, paragraph, text, lang, offsets, title
    chroma/           persistent Chroma collection ``exhibitqa``: one entry per paragraph window
    bm25/             bm25s index of whole paragraphs (llama-index-retrievers-bm25 layout)

A build writes a sibling temporary directory and swaps it in only when complete, so a failed or
interrupted build leaves the previous index serving.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from index.align import align
from index.atomic import build_lock, collect, current, new_generation, recover, swap_in, wait_for_store
from index.manifest import (
    BM25_TOKEN_PATTERN,
    FORMAT,
    SEGMENTER_VERSION,
    TERMS,
    BuildReport,
    write_manifest,
    write_paragraphs,
)
from index.progressive import dense_pending, publish_lexical_generation, write_progress
from index.sources import SourceFile, find_sources, read_record
from index.vectors import Progress, VectorHome, save_vectors, write_vectors
from qa.errors import IndexStaleError, SourceError, damaged, no_index
from qa.settings import Settings
from qa.text import terms
from qa.types import Paragraph


def paragraph_node(p: Paragraph, contextual: bool = False) -> Any:
    """The LlamaIndex node of a whole paragraph (BM25 corpus and fused results)."""
    from llama_index.core.schema import TextNode

    meta = {"exhibit": p.exhibit, "paragraph": p.number, "lang": p.lang}
    return TextNode(
        id_=p.key,
        text=p.context_text if contextual else p.text,
        metadata=meta,
        excluded_embed_metadata_keys=list(meta),
        excluded_llm_metadata_keys=list(meta),
    )


def read_manifest(store: Path) -> dict[str, Any] | None:
    """The store's manifest, or None if there is no complete store (waits out a swap)."""
    for _ in range(3):  # the store may be renamed away between the wait and the read
        wait_for_store(store)
        try:
            return dict(json.loads((store / "manifest.json").read_text(encoding="utf-8")))
        except FileNotFoundError:
            continue
        except (OSError, ValueError, TypeError):
            return None
    return None


def _missing_parts(store: Path) -> list[str]:
    """Files a complete store has that ``store`` lacks (its manifest names where the vectors are)."""
    m = read_manifest(store) or {}
    need = ["paragraphs.jsonl", "bm25"] + ([] if (m.get("vectors") or {}).get("url") else ["chroma"])
    return [name for name in need if not (store / name).exists()]


def require_store(store: Path, name: Path | None = None) -> dict[str, Any]:
    """The manifest of a complete store; a clear error if there is none or it is damaged.

    ``name`` is the store as the user knows it, when ``store`` is one of its generations.
    """
    shown = str(name or store)
    m = read_manifest(store)
    if m is None:
        if store.is_symlink() and current(store) is None:
            raise damaged(
                shown,
                f"it links to {os.readlink(store)}, which is missing; a store copied with `cp -r` "
                "keeps only the link: copy it with `cp -rL`",
            )
        if store.is_dir() and any(store.iterdir()):
            why = (
                "manifest.json is unreadable"
                if (store / "manifest.json").exists()
                else "manifest.json is missing"
            )
            raise damaged(shown, why)
        raise no_index(shown)
    missing = _missing_parts(store)
    if missing:
        raise damaged(shown, ", ".join(missing) + (" is" if len(missing) == 1 else " are") + " missing")
    return m


def stale_reason(store: Path, sources: list[SourceFile], settings: Settings) -> str | None:
    """Why the store must be rebuilt for these sources and settings, or None if it is current."""
    m = read_manifest(store)
    if m is None:
        return "no index yet"
    if _missing_parts(store):
        return "index files are missing"
    if (
        m.get("format") != FORMAT
        or m.get("segmenter_version") != SEGMENTER_VERSION
        or m.get("bm25_token_pattern") != BM25_TOKEN_PATTERN
    ):
        return "index format changed"
    if m.get("index_settings") != settings.index_fingerprint():
        return "index settings changed (embedding model, windows or Chroma location)"
    if dense_pending(m):
        return "dense vectors not built yet (the build that started them was stopped)"
    have = {s["path"]: s["sha256"] for s in m.get("sources", [])}
    want = {str(s.path.resolve()): s.sha256 for s in sources}
    if have != want:
        return "exhibit files changed"
    return None


def build(
    paths: Iterable[Path],
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    reuse_from: Iterable[Path] = (),
    on_wait: Callable[[], None] | None = None,
    on_lexical: Callable[[BuildReport], None] | None = None,
) -> BuildReport:
    """Index the exhibits under ``paths`` into ``settings.store`` unless it is already current.

    Vectors of unchanged text are taken from the current store (and from ``reuse_from`` stores)
    instead of being embedded again. Another build of the same store is waited for
    (``on_wait`` is told first). When at least ``settings.progressive_min_texts`` texts must be
    embedded, a lexical-only generation is published first and ``on_lexical`` is told.
    """
    store = Path(settings.store)
    with build_lock(store, on_wait):
        recover(store)
        collect(store, _drop_vectors)  # generations whose last reader has gone since the last build
        report = _build(list(paths), store, settings, rebuild, progress, reuse_from, on_lexical)
        if report.rebuilt:
            collect(store, _drop_vectors)  # the generation just replaced, unless a reader holds it
        return report


def _drop_vectors(generation: Path) -> None:
    """Drop a deleted generation's server collection (a local one goes with its directory)."""
    manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    VectorHome.of(manifest).drop(generation)


def _build(
    paths: list[Path],
    store: Path,
    settings: Settings,
    rebuild: bool,
    progress: Progress | None,
    reuse_from: Iterable[Path],
    on_lexical: Callable[[BuildReport], None] | None = None,
) -> BuildReport:
    t0 = time.perf_counter()
    sources, warnings = find_sources(paths, settings.max_file_mb)
    reason = "--rebuild asked" if rebuild else stale_reason(store, sources, settings)
    report = BuildReport(store=store, warnings=warnings, reason=reason or "")
    if reason is None:
        m = read_manifest(store) or {}
        report.rebuilt = False
        report.exhibits = m["counts"]["exhibits"]
        report.paragraphs = m["counts"]["paragraphs"]
        report.vectors = m["counts"]["vectors"]
        report.per_exhibit = {e["number"]: e["paragraphs"] for e in m["exhibits"]}
        report.seconds = time.perf_counter() - t0
        return report

    record = read_record(sources)
    report.warnings += [f"Exhibit {e.number} ({e.source}): {e.problem}" for e, _ in record if e.problem]
    paragraphs = [p for _, ps in record for p in ps]
    if not paragraphs:
        raise SourceError("The exhibit files hold no paragraphs of text. Check that they are not empty.")

    tmp = new_generation(store)
    home = VectorHome.new(settings.chroma_url)
    lexical: list[Path] = []

    def publish_lexical(to_embed: int) -> None:
        report.embedded = to_embed
        if to_embed < settings.progressive_min_texts:
            return
        lexical.append(publish_lexical_generation(store, tmp, paragraphs, record, sources, settings, report))
        report.lexical_s = time.perf_counter() - t0
        if on_lexical is not None:
            on_lexical(report)

    def tracked(done: int, total: int) -> None:
        if lexical:  # read by answers from the lexical generation ("dense search 40% built")
            write_progress(lexical[0], done, total)
        if progress is not None:
            progress(done, total)

    try:
        _write_bm25(tmp, paragraphs, settings)
        _write_terms(tmp, paragraphs)
        donors = [(d, read_manifest(d)) for d in [store, *map(Path, reuse_from)]]
        report.vectors, report.reused_vectors, first_windows = write_vectors(
            tmp,
            home,
            paragraphs,
            donors,
            settings,
            tracked,
            publish_lexical,
            lambda cache: save_vectors(lexical[0], cache) if lexical else None,
        )
        paragraphs = _with_alignment(paragraphs, first_windows)
        record = [(e, [p for p in paragraphs if p.exhibit == e.number]) for e, _ in record]
        write_paragraphs(tmp, paragraphs)
        report.seconds = time.perf_counter() - t0
        write_manifest(tmp, record, sources, settings, report, home)
        swap_in(tmp, store)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        home.drop(tmp)
        raise
    report.exhibits = len(record)
    report.paragraphs = len(paragraphs)
    report.per_exhibit = {e.number: len(ps) for e, ps in record}
    return report


def _with_alignment(
    paragraphs: list[Paragraph], vectors: dict[tuple[int, int], np.ndarray]
) -> list[Paragraph]:
    """Paragraphs with ``aligned`` set: each translation paired with its Chinese original."""
    partner: dict[tuple[int, int], int] = {}
    for exhibit in sorted({p.exhibit for p in paragraphs}):
        own = [p for p in paragraphs if p.exhibit == exhibit and not p.boilerplate]
        english = [p for p in own if p.lang == "en"]
        chinese = [p for p in own if p.lang == "zh"]
        for en, zh, _ in align(english, chinese, vectors):
            partner[(exhibit, en.number)] = zh.number
            partner[(exhibit, zh.number)] = en.number
    return [
        replace(p, aligned=(partner[(p.exhibit, p.number)],)) if (p.exhibit, p.number) in partner else p
        for p in paragraphs
    ]


def _write_bm25(tmp: Path, paragraphs: list[Paragraph], settings: Settings) -> None:
    from llama_index.retrievers.bm25 import BM25Retriever

    retriever = BM25Retriever.from_defaults(
        nodes=[paragraph_node(p, settings.contextual_headings) for p in paragraphs],
        similarity_top_k=min(10, len(paragraphs)),
        token_pattern=BM25_TOKEN_PATTERN,
    )
    retriever.persist(str(tmp / "bm25"), show_progress=False)


def term_counts(paragraphs: Iterable[Paragraph]) -> Counter[str]:
    """In how many paragraphs each term (``qa.text.terms``) occurs: the answerer's idf."""
    df: Counter[str] = Counter()
    for p in paragraphs:
        df.update(set(terms(p.text)))
    return df


def _write_terms(tmp: Path, paragraphs: list[Paragraph]) -> None:
    # Counted at build time: at 100x the sample, counting on the first question took 11 s.
    (tmp / TERMS).write_text(json.dumps(term_counts(paragraphs), ensure_ascii=False), encoding="utf-8")


def load_term_counts(store: Path, paragraphs: Iterable[Paragraph]) -> Counter[str]:
    """The store's term counts (``terms.json``), or counted now for a store built before it."""
    try:
        return Counter(json.loads((store / TERMS).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return term_counts(paragraphs)


def load_paragraphs(store: Path, name: Path | None = None) -> list[Paragraph]:
    """All paragraphs of the store, in exhibit and paragraph order."""
    path = Path(store) / "paragraphs.jsonl"
    shown = str(name or store)
    for _ in range(3):  # a swap may land between two reads; the next try sees the new generation
        if read_manifest(Path(store)) is None:
            break
        try:
            with path.open(encoding="utf-8") as f:
                return [Paragraph.from_json(json.loads(line)) for line in f if line.strip()]
        except FileNotFoundError:
            wait_for_store(Path(store))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise damaged(shown, f"paragraphs.jsonl is unreadable: {e.__class__.__name__}") from e
    require_store(Path(store), name)  # says what is missing: the whole index, or which of its files
    raise damaged(shown, "paragraphs.jsonl could not be read")


def check_current(store: Path, settings: Settings, name: Path | None = None) -> dict[str, Any]:
    """The manifest, or an error if the store was built with other index settings."""
    m = require_store(store, name)
    if m.get("index_settings") != settings.index_fingerprint() or m.get("format") != FORMAT:
        shown = name or store
        raise IndexStaleError(
            f"The index in {shown} was built with {m.get('index_settings')}, but the settings now ask "
            f"for {settings.index_fingerprint()}. Rebuild it: `exhibitqa index --rebuild --store {shown}`."
        )
    return m
