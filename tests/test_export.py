"""An answer as memo text with numbered footnotes (Markdown and .docx)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from qa.export import to_docx, to_markdown, write_downloads
from qa.types import Answer, Citation

WTO = Citation(61, 145, "China became the 143rd member of the WTO on December 11, 2001.", True)
PLATES = Citation(68, 5, "nearly 800 yuan per ton higher than that in South Korea", True)
ZH = Citation(64, 71, "钢铁工业", True, original=True)


def answer(text: str, *cites: Citation) -> Answer:
    return Answer("q", text, cites, (), False, "extractive", "h")


@pytest.mark.parametrize(
    "text, cites, expected",
    [
        (
            "China joined in 2001 [Ex. 61 \u00b6 145].",
            (WTO,),
            "China joined in 2001[^1].\n\n[^1]: Ex. 61 \u00b6 145 (\u201cChina became the 143rd member of the WTO on December 11, 2001.\u201d)\n",
        ),
        (
            "A [Ex. 68 \u00b6 5]. B [Ex. 61 \u00b6 145]. C again [Ex. 68 \u00b6 5].",
            (PLATES, WTO),
            "A[^1]. B[^2]. C again[^1].\n\n[^1]: Ex. 68 \u00b6 5 (\u201cnearly 800 yuan per ton higher than that in South Korea\u201d)\n"
            "[^2]: Ex. 61 \u00b6 145 (\u201cChina became the 143rd member of the WTO on December 11, 2001.\u201d)\n",
        ),
        # A cite that is not among the verified citations is never exported as one.
        ("Claim [Ex. 99 \u00b6 1].", (), "Claim.\n"),
        (
            "Target [Ex. 64 \u00b6 71 (Chinese original)].",
            (ZH,),
            "Target[^1].\n\n[^1]: Ex. 64 \u00b6 71 (Chinese original) (\u201c钢铁工业\u201d)\n",
        ),
        ("The exhibits do not answer this.", (), "The exhibits do not answer this.\n"),
    ],
)
def test_to_markdown(text: str, cites: tuple[Citation, ...], expected: str) -> None:
    assert to_markdown(answer(text, *cites)) == expected


def test_to_docx_has_superscript_numbers_and_notes(tmp_path: Path) -> None:
    from docx import Document

    path = to_docx(answer("A [Ex. 68 \u00b6 5]. B [Ex. 61 \u00b6 145].", PLATES, WTO), tmp_path / "a.docx")
    doc = Document(str(path))
    first = doc.paragraphs[0]
    assert first.text == "A1. B2."
    assert [r.text for r in first.runs if r.font.superscript] == ["1", "2"]
    texts = [p.text for p in doc.paragraphs]
    assert "Notes" in texts
    assert texts[-2:] == [
        "1. Ex. 68 \u00b6 5 (\u201cnearly 800 yuan per ton higher than that in South Korea\u201d)",
        "2. Ex. 61 \u00b6 145 (\u201cChina became the 143rd member of the WTO on December 11, 2001.\u201d)",
    ]


def test_downloads_go_to_a_new_folder_and_old_folders_are_pruned(tmp_path: Path) -> None:
    a = answer("China joined in 2001 [Ex. 61 \u00b6 145].", WTO)
    text, *old = write_downloads(a, tmp_path)
    _, *recent = write_downloads(a, tmp_path)
    assert [p.name for p in old] == ["answer.md", "answer.docx"] and old[0].parent != recent[0].parent
    assert "[^1]: Ex. 61" in text and old[0].read_text(encoding="utf-8") == text and old[1].stat().st_size > 0
    two_hours_ago = time.time() - 7200
    os.utime(old[0].parent, (two_hours_ago, two_hours_ago))
    *_, newest_docx = write_downloads(a, tmp_path, keep_s=3600)
    assert not old[0].parent.exists()
    assert recent[0].exists() and newest_docx.exists()  # the last hour's stay: a page may still link them
