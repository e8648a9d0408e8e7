"""Adding an exhibit to an indexed record: checked, copied beside the store, and indexed.

The index build is atomic, so a file that cannot be read leaves the record as it was; the
copied file is removed again in that case, so nothing half-added remains.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from qa.errors import SourceError
from qa.settings import Settings

ALLOWED = (".pdf", ".txt", ".md", ".html", ".htm", ".docx")


def uploads_dir(settings: Settings) -> Path:
    """Where added exhibits are kept: beside the store, so the record stays rebuildable."""
    store = Path(settings.store)  # not resolve(): that would follow the link to one generation
    return store.parent.resolve() / f"{store.name}-uploads"


def add_exhibit(
    settings: Settings,
    upload: Path,
    number: int,
    *,
    progress: Callable[[int, int], None] | None = None,
    on_lexical: Callable[[], None] | None = None,
) -> tuple[str, list[str]]:
    """Index ``upload`` as Exhibit ``number``; returns a summary line and any warnings.

    ``on_lexical`` is told when a progressive build has made the exhibit searchable by BM25."""
    from index.store import build, check_current

    ext = upload.suffix.lower()
    if ext not in ALLOWED:
        raise SourceError(
            f"{upload.name}: {ext or 'files without an extension'} cannot be indexed; "
            "add a PDF, TXT, MD, HTML or DOCX file."
        )
    size = upload.stat().st_size
    if size == 0:
        raise SourceError(f"{upload.name} is empty.")
    if size > settings.upload_max_mb * 1024 * 1024:
        raise SourceError(
            f"{upload.name} is {size / 1048576:.1f} MB; the limit is {settings.upload_max_mb} MB "
            "(EXHIBITQA_UPLOAD_MAX_MB raises it)."
        )
    if number < 1:
        raise SourceError(f"Exhibit numbers start at 1, not {number}.")
    manifest = check_current(settings.store, settings)
    if any(int(e["number"]) == number for e in manifest["exhibits"]):
        raise SourceError(f"Exhibit {number} is already in the record; give the new file another number.")
    dest = uploads_dir(settings) / f"Exhibit {number}{ext}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(upload, dest)
    sources = [Path(s["path"]) for s in manifest["sources"]] + [dest]
    published: list[bool] = []

    def lexical(_: object) -> None:
        published.append(True)
        if on_lexical is not None:
            on_lexical()

    try:
        report = build(sources, settings, progress=progress, on_lexical=lexical)
    except BaseException:
        # Once the lexical generation serves the exhibit, its file must stay for the next build
        # to finish the vectors; before that, nothing of the upload is kept.
        if not published:
            dest.unlink(missing_ok=True)
        raise
    added = report.per_exhibit.get(number, 0)
    summary = (
        f"Added Exhibit {number} ({upload.name}): {added} paragraphs; the record now has "
        f"{report.exhibits} exhibits, {report.paragraphs} paragraphs ({report.seconds:.1f} s)."
    )
    return summary, list(report.warnings)
