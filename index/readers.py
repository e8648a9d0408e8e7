"""File readers: each turns one file into blank-line separated text the segmenter understands.

A reader is a function ``Path -> SourceText``, registered by file suffix in ``READERS``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa.errors import SourceError


@dataclass(frozen=True)
class SourceText:
    """A file's text as blocks separated by blank lines, with where each page starts."""

    text: str
    page_starts: tuple[int, ...] = ()  # offset in ``text`` of pages 1, 2, ...
    problem: str = ""  # why a readable file gave no text (e.g. a scan without a text layer)

    def page_at(self, offset: int) -> int | None:
        if not self.page_starts:
            return None
        return max(1, bisect.bisect_right(self.page_starts, offset))


_CJK_ENCODINGS = {"gb18030", "gbk", "gb2312", "hz", "big5", "big5hkscs", "cp950", "cp936"}


def decode(data: bytes, name: str) -> str:
    """Bytes of a text file as str: UTF-8 (with or without BOM), UTF-16 with BOM, or the
    encoding charset-normalizer detects (GB18030/GBK, cp1252, ...); newlines normalised."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    elif b"\x00" in data[:65536]:
        # Text never holds NUL bytes outside UTF-16 (handled above); decoding a binary file
        # "successfully" would index gibberish.
        raise SourceError(
            f"{name}: holds binary data, not text. Is it an image or archive named like a text file?"
        )
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            from charset_normalizer import from_bytes

            best = from_bytes(data).best()
            if best is None or best.encoding is None:
                raise SourceError(
                    f"{name}: cannot tell its text encoding. Save it as UTF-8 and index again."
                ) from None
            if best.encoding.lower().replace("_", "") in _CJK_ENCODINGS:
                text = str(best)
            else:
                # Short Western texts fool detectors into cp1250 and kin; Windows-1252 is by
                # far the likeliest single-byte encoding of an English exhibit.
                try:
                    text = data.decode("cp1252")
                except UnicodeDecodeError:
                    text = str(best)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: Path) -> SourceText:
    return SourceText(decode(path.read_bytes(), str(path)))


def read_html(path: Path) -> SourceText:
    """The article body of a saved web page (trafilatura drops navigation, prompts, link lists)."""
    import trafilatura

    html = decode(path.read_bytes(), str(path))
    body = trafilatura.extract(
        html, output_format="markdown", include_tables=True, include_comments=False, favor_precision=True
    )
    if not body:
        return SourceText("", problem="no article text found in the page")
    meta = trafilatura.extract_metadata(html)
    title = (meta.title or "").strip() if meta else ""
    if title and not body.lstrip("# ").startswith(title[:40]):
        body = f"# {title}\n\n{body}"  # the headline, which extraction keeps out of the body
    # Markdown output already separates paragraphs with blank lines, as the segmenter wants.
    return SourceText(body.strip() + "\n")


def read_docx(path: Path) -> SourceText:
    """Paragraphs and tables of a Word file in document order; tables become markdown tables."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception as e:  # python-docx raises several types for a damaged file
        raise SourceError(f"{path}: not a readable Word (.docx) file ({e}).") from e
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph) and item.text.strip():
            blocks.append(item.text.strip())
        elif isinstance(item, Table):
            rows = [[c.text.strip().replace("\n", " ") for c in row.cells] for row in item.rows]
            if rows:
                head = "| " + " | ".join(rows[0]) + " |"
                sep = "|" + "---|" * len(rows[0])
                body = ["| " + " | ".join(r) + " |" for r in rows[1:]]
                blocks.append("\n".join([head, sep, *body]))
    return SourceText("\n\n".join(blocks) + "\n")


def read_pdf(path: Path) -> SourceText:
    """A PDF's text layer, page by page; a PDF without one is reported, not skipped."""
    from index.pdf import read_pdf_pages

    try:
        pages = read_pdf_pages(path)
    except Exception as e:  # pdfminer raises many types for broken files
        raise SourceError(f"{path}: not a readable PDF ({e.__class__.__name__}: {e}).") from e
    if not any(pages):
        return SourceText("", page_starts=(), problem="no text layer \u2014 OCR it first")
    text = ""
    starts = []
    for blocks in pages:
        starts.append(len(text))
        text += "".join(b + "\n\n" for b in blocks if b.strip())
    return SourceText(text, tuple(starts))


READERS: dict[str, Callable[[Path], SourceText]] = {
    ".txt": read_text,
    ".md": read_text,
    ".markdown": read_text,
    ".html": read_html,
    ".htm": read_html,
    ".docx": read_docx,
    ".pdf": read_pdf,
}


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in READERS and not re.match(r"~\$", path.name)
