"""An answer as memo text: Markdown with numbered footnotes, or a .docx with the same notes.

Each pin cite in the answer becomes a footnote reference; the footnote gives the cite and the
quoted words, e.g. ``Ex. 61 ¶ 12 ("China became the 143rd member…")``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from qa.cites import CITE_RE
from qa.types import Answer, Citation

# A cite with the space before it: the footnote mark sits right after the word it supports.
_SPACED_CITE_RE = re.compile(r"[ \t]*" + CITE_RE.pattern, CITE_RE.flags)


def footnote_text(c: Citation) -> str:
    """``Ex. 61 ¶ 12 ("…quote…")``, marking a Chinese original."""
    original = " (Chinese original)" if c.original else ""
    return f"Ex. {c.exhibit} \u00b6 {c.paragraph}{original} (\u201c{c.quote}\u201d)"


def _numbered(answer: Answer) -> tuple[str, list[Citation]]:
    """The answer text with each cite replaced by ``[^n]``, and the cites in note order."""
    by_key = {(c.exhibit, c.paragraph): c for c in answer.citations}
    order: list[Citation] = []

    def sub(m: re.Match[str]) -> str:
        c = by_key.get((int(m.group(1)), int(m.group(2))))
        if c is None:  # not a verified cite: never exported as one
            return ""
        if c not in order:
            order.append(c)
        return f"[^{order.index(c) + 1}]"

    body = _SPACED_CITE_RE.sub(sub, answer.text)
    return body, order


def to_markdown(answer: Answer) -> str:
    """The answer as Markdown with numbered footnotes (pandoc/GitHub ``[^1]`` syntax)."""
    body, order = _numbered(answer)
    notes = [f"[^{i}]: {footnote_text(c)}" for i, c in enumerate(order, 1)]
    return body.strip() + ("\n\n" + "\n".join(notes) if notes else "") + "\n"


def to_docx(answer: Answer, path: Path) -> Path:
    """Write the answer to ``path`` as a Word file: the text with superscript note numbers,
    then the numbered notes (python-docx has no footnote API, so they follow as endnotes)."""
    from docx import Document

    body, order = _numbered(answer)
    doc = Document()
    for line in body.strip().splitlines():
        para = doc.add_paragraph()
        for piece in re.split(r"(\[\^\d+\])", line):
            m = re.fullmatch(r"\[\^(\d+)\]", piece)
            if m:
                para.add_run(m.group(1)).font.superscript = True
            elif piece:
                para.add_run(piece)
    if order:
        doc.add_paragraph("Notes", style="Heading 2")
        for i, c in enumerate(order, 1):
            doc.add_paragraph(f"{i}. {footnote_text(c)}")
    doc.save(str(path))
    return path


def downloads_folder() -> Path:
    """Where the app writes answer downloads: one folder for all of this user's app processes,
    so each one prunes what earlier ones left (another user's folder in a shared /tmp is not
    writable)."""
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"exhibitqa-answers-{user}"


def write_downloads(answer: Answer, parent: Path, *, keep_s: float = 3600.0) -> tuple[str, Path, Path]:
    """The answer's Markdown, and ``answer.md`` and ``answer.docx`` written to a new folder
    under ``parent``; folders there older than ``keep_s`` are removed first.

    The app offers both files after every answer. Gradio copies a returned file into its own
    cache, so the originals are only needed for a moment; without the pruning a long-running
    app left one folder per answer in the temp directory for good.
    """
    parent.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - keep_s
    for old in parent.iterdir():
        try:
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:  # another worker pruned it first
            continue
    folder = Path(tempfile.mkdtemp(dir=parent))
    text = to_markdown(answer)
    md = folder / "answer.md"
    md.write_text(text, encoding="utf-8")
    return text, md, to_docx(answer, folder / "answer.docx")
