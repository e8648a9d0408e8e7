"""What a store generation records about itself: ``manifest.json``, with the format constants a
store is checked against, ``paragraphs.jsonl``, and the build report they are written from.

index/store.py writes them for a full generation, index/progressive.py for a lexical-only one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index.sources import SourceFile
    from index.vectors import VectorHome
    from qa.settings import Settings
    from qa.types import Exhibit, Paragraph

FORMAT = 1
# Bump when segmentation changes paragraph boundaries or text: stored paragraphs would be stale.
SEGMENTER_VERSION = 8
# Overlapping Chinese character bigrams (bm25s would otherwise take a whole run of Chinese as
# one token, so Chinese queries never match; single characters match far too much), "R&D"-style
# acronyms, and words of 2+ letters or digits. A lookahead with one group lets re.findall
# return overlapping tokens, which is how bm25s applies a token pattern.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_NON_CJK_WORD = rf"[^\W{_CJK}]"
BM25_TOKEN_PATTERN = (
    rf"(?=([{_CJK}]{{2}}|\b[A-Za-z]&[A-Za-z]\b|(?<!{_NON_CJK_WORD}){_NON_CJK_WORD}{{2,}}(?!{_NON_CJK_WORD})))"
)
TERMS = "terms.json"


@dataclass
class BuildReport:
    """What a build did, for the CLI summary."""

    store: Path
    exhibits: int = 0
    paragraphs: int = 0
    vectors: int = 0
    reused_vectors: int = 0
    seconds: float = 0.0
    rebuilt: bool = True
    reason: str = ""
    warnings: list[str] = field(default_factory=list)
    per_exhibit: dict[int, int] = field(default_factory=dict)
    embedded: int = 0  # texts embedded (the rest were reused)
    lexical_s: float | None = None  # when the lexical-only generation was published, if it was


def write_paragraphs(tmp: Path, paragraphs: list[Paragraph]) -> None:
    """``paragraphs.jsonl`` in the generation ``tmp``: one paragraph a line, in the given order."""
    with (tmp / "paragraphs.jsonl").open("w", encoding="utf-8") as f:
        for p in paragraphs:
            f.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")


def write_manifest(
    tmp: Path,
    record: list[tuple[Exhibit, list[Paragraph]]],
    sources: list[SourceFile],
    settings: Settings,
    report: BuildReport,
    home: VectorHome,
    dense: str = "complete",
) -> None:
    """``manifest.json`` in the generation ``tmp``: what was indexed, with which settings, and the
    counts. ``dense`` is ``"pending"`` for a lexical-only generation."""
    manifest = {
        "format": FORMAT,
        "segmenter_version": SEGMENTER_VERSION,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "index_settings": settings.index_fingerprint(),
        "embedding_model": settings.embedding_model,
        "vectors": home.to_json(),
        # "pending": a progressive build's lexical-only generation (empty collection, BM25 only).
        "dense": dense,
        "bm25_token_pattern": BM25_TOKEN_PATTERN,
        "sources": [{"path": str(s.path.resolve()), "sha256": s.sha256} for s in sources],
        "exhibits": [
            {
                "number": e.number,
                "title": e.title,
                "source": e.source,
                "paragraphs": len(ps),
                "boilerplate": sum(p.boilerplate for p in ps),
                "chinese": sum(p.lang == "zh" for p in ps),
                "aligned_pairs": sum(1 for p in ps if p.lang == "zh" and p.aligned),
                "problem": e.problem,
            }
            for e, ps in record
        ],
        "counts": {
            "exhibits": len(record),
            "paragraphs": sum(len(ps) for _, ps in record),
            "vectors": report.vectors,
        },
        "build_seconds": round(report.seconds, 2),
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
