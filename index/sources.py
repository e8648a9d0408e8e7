"""Finding exhibits on disk and reading them into numbered paragraphs (formats: index.readers)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from index.boilerplate import flag_boilerplate
from index.headings import section_headings
from index.readers import READERS, SourceText, is_supported
from index.segment import detect_lang, segment, split_exhibits, title_of
from qa.errors import SourceError
from qa.types import Exhibit, Paragraph

_NAME_NUMBER_RES = (
    re.compile(r"(?i)\b(?:exhibit|exh|ex)[\s._-]*(\d{1,5})\b"),
    re.compile(r"^(\d{1,5})(?:\b|_)"),
)


def exhibit_number_from_name(name: str) -> int | None:
    """The exhibit number a file name gives: ``Exhibit 61.txt``, ``ex-61.md``, ``61.txt``."""
    stem = Path(name).stem
    for rx in _NAME_NUMBER_RES:
        m = rx.search(stem)
        if m:
            return int(m.group(1))
    return None


@dataclass(frozen=True)
class SourceFile:
    """One file of the record with its content hash."""

    path: Path
    sha256: str


MAX_FILE_MB = 200  # a bigger file is almost surely not one exhibit (a disk image, a video)


def find_sources(
    paths: Iterable[Path], max_file_mb: float = MAX_FILE_MB
) -> tuple[list[SourceFile], list[str]]:
    """Files to index under ``paths`` (files or directories), and warnings for skipped files.

    Inside a folder, hidden files are skipped, and so are links that lead out of the folder:
    indexing a folder never reads files its owner did not put in it.
    """
    files: list[Path] = []
    warnings: list[str] = []
    for p in paths:
        if not p.exists():
            raise SourceError(f"{p}: no such file or directory. Check the path you gave to index.")
        if p.is_dir():
            root = p.resolve()
            for f in sorted(p.rglob("*")):
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts):
                    if not f.resolve().is_relative_to(root):
                        warnings.append(f"skipped {f}: a link to {f.resolve()}, outside {p}")
                    elif not is_supported(f):
                        warnings.append(f"skipped {f}: no reader for '{f.suffix or f.name}' files")
                    elif exhibit_number_from_name(f.name) is None and not _has_exhibit_lines(f):
                        warnings.append(
                            f"skipped {f}: its name gives no exhibit number (name it like 'Exhibit 7{f.suffix}')"
                        )
                    else:
                        files.append(f)
        elif p.suffix.lower() in READERS:
            files.append(p)
        else:
            known = ", ".join(sorted(READERS))
            raise SourceError(f"{p}: cannot read '{p.suffix}' files. Supported here: {known}.")
    if not files:
        raise SourceError(
            "No exhibit files found in "
            + ", ".join(str(p) for p in paths)
            + f". Give exhibit files of these types: {', '.join(sorted(READERS))}."
            + "".join(f"\n  {w}" for w in warnings)
        )
    for f in files:
        size = f.stat().st_size
        if size > max_file_mb * 1048576:
            raise SourceError(
                f"{f} is {_size(size)}; exhibit files are limited to {max_file_mb:g} MB "
                "(EXHIBITQA_MAX_FILE_MB). Split it, or raise the limit if it really is one exhibit."
            )
    return [SourceFile(f, hashlib.sha256(f.read_bytes()).hexdigest()) for f in files], warnings


def _size(n: int) -> str:
    return f"{n / 1048576:,.1f} MB" if n >= 1048576 else f"{n / 1024:,.0f} KB"


def _has_exhibit_lines(path: Path) -> bool:
    """Whether a text file holds ``EXHIBIT N`` lines (a multi-exhibit record file)."""
    if path.suffix.lower() not in (".txt", ".md", ".markdown"):
        return False
    return bool(split_exhibits(READERS[path.suffix.lower()](path).text))


def paragraphs_of(number: int, text: str, offset: int, source: SourceText | None = None) -> list[Paragraph]:
    """Numbered paragraphs of one exhibit whose body starts at ``offset`` in its source."""
    blocks = segment(text, offset)
    title = title_of([b.text for b in blocks])
    furniture = flag_boilerplate([b.text for b in blocks])
    headings = section_headings([("" if junk else b.text) for b, junk in zip(blocks, furniture, strict=True)])
    return [
        Paragraph(
            exhibit=number,
            number=i,
            text=b.text,
            lang=detect_lang(b.text),
            start=b.start,
            end=b.end,
            title=title,
            page=source.page_at(b.start) if source else None,
            boilerplate=flag,
            heading=heading,
        )
        for i, (b, flag, heading) in enumerate(zip(blocks, furniture, headings, strict=True), 1)
    ]


def read_source(src: SourceFile) -> list[tuple[Exhibit, list[Paragraph]]]:
    """The exhibits in one file: several if it has ``EXHIBIT N`` lines, else one named by the file."""
    source = READERS[src.path.suffix.lower()](src.path)
    parts = split_exhibits(source.text)
    if not parts:
        number = exhibit_number_from_name(src.path.name)
        if number is None:
            raise SourceError(
                f"{src.path}: cannot tell which exhibit this is. Name the file like 'Exhibit 61.txt' "
                "or put a line 'EXHIBIT 61' above its text."
            )
        parts = [(number, 0, source.text)]
    out = []
    for number, offset, body in parts:
        paras = paragraphs_of(number, body, offset, source)
        title = paras[0].title if paras else ""
        problem = source.problem or ("" if paras else "it holds no text")
        out.append((Exhibit(number, title, str(src.path), body, problem=problem), paras))
    return out


def read_record(sources: list[SourceFile]) -> list[tuple[Exhibit, list[Paragraph]]]:
    """Every exhibit of the record, in exhibit-number order; a number given twice is an error."""
    seen: dict[int, str] = {}
    out = []
    for src in sources:
        for exhibit, paras in read_source(src):
            if exhibit.number in seen:
                raise SourceError(
                    f"Exhibit {exhibit.number} appears twice: in {seen[exhibit.number]} and "
                    f"{exhibit.source}. Remove or renumber one of them."
                )
            seen[exhibit.number] = exhibit.source
            out.append((exhibit, paras))
    return sorted(out, key=lambda ep: ep[0].number)
