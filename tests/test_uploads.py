"""Adding an exhibit to an indexed record: checks, atomicity and the new exhibit answering."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import ask
from qa.errors import SourceError
from qa.settings import Settings
from qa.uploads import add_exhibit, uploads_dir
from tests.conftest import write


@pytest.fixture()
def small(sample_settings: Settings, tmp_path: Path) -> Settings:
    from index.store import build

    write(
        tmp_path / "src" / "Exhibit 1.txt",
        "EXHIBIT 1\n\nPort Notice\n\nThe port of Tianjin handled 500 ships in 2019.\n",
    )
    settings = sample_settings.model_copy(update={"store": tmp_path / "store", "upload_max_mb": 1})
    build([tmp_path / "src"], settings)
    return settings


def test_an_added_exhibit_is_indexed_and_answers(small: Settings, tmp_path: Path) -> None:
    upload = write(
        tmp_path / "in" / "rail.md", "# Rail Notice\n\nThe Harbin rail yard loaded 70 trains in 2020.\n"
    )
    summary, warnings = add_exhibit(small, upload, 7)
    assert summary.startswith("Added Exhibit 7 (rail.md): 2 paragraphs; the record now has 2 exhibits")
    assert warnings == []
    assert (uploads_dir(small) / "Exhibit 7.md").read_text() == upload.read_text()
    answer = ask("How many trains did the Harbin rail yard load in 2020?", settings=small)
    assert [(c.exhibit, c.paragraph) for c in answer.citations] == [(7, 2)]
    # The first exhibit is still there.
    assert (
        ask("How many ships did the port of Tianjin handle in 2019?", settings=small).citations[0].exhibit
        == 1
    )


@pytest.mark.parametrize(
    "name, content, number, message",
    [
        ("notes.exe", b"MZ", 2, "cannot be indexed; add a PDF, TXT, MD, HTML or DOCX"),
        ("empty.txt", b"", 2, "is empty"),
        ("big.txt", b"x" * (1024 * 1024 + 1), 2, "the limit is 1 MB"),
        ("dup.txt", b"Some text.", 1, "Exhibit 1 is already in the record"),
        ("zero.txt", b"Some text.", 0, "start at 1"),
    ],
)
def test_bad_uploads_are_refused_and_change_nothing(
    small: Settings, tmp_path: Path, name: str, content: bytes, number: int, message: str
) -> None:
    from index.store import read_manifest

    before = read_manifest(small.store)
    upload = tmp_path / "in" / name
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        add_exhibit(small, upload, number)
    assert read_manifest(small.store) == before
    assert not uploads_dir(small).exists() or not any(uploads_dir(small).iterdir())


def test_an_unreadable_file_leaves_the_record_serving(small: Settings, tmp_path: Path) -> None:
    from index.store import read_manifest

    before = read_manifest(small.store)
    upload = tmp_path / "in" / "broken.docx"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(b"this is not a zip archive")
    with pytest.raises(SourceError, match="broken.docx|Exhibit 3"):
        add_exhibit(small, upload, 3)
    assert read_manifest(small.store) == before
    assert not (uploads_dir(small) / "Exhibit 3.docx").exists()
    assert ask("How many ships did the port of Tianjin handle in 2019?", settings=small).citations


def test_a_progressive_upload_is_asked_about_before_its_vectors_are_made(
    small: Settings, tmp_path: Path
) -> None:
    from index.store import read_manifest

    settings = small.model_copy(update={"progressive_min_texts": 0})
    upload = write(
        tmp_path / "in" / "rail.md", "# Rail Notice\n\nThe Harbin rail yard loaded 70 trains in 2020.\n"
    )
    early: list = []

    def lexical() -> None:
        early.append(ask("How many trains did the Harbin rail yard load in 2020?", settings=settings))

    add_exhibit(settings, upload, 7, on_lexical=lexical)
    assert early and [(c.exhibit, c.paragraph) for c in early[0].citations] == [(7, 2)]
    assert early[0].channels == ("bm25", "bm25_zh")
    assert read_manifest(settings.store)["dense"] == "complete"  # type: ignore[index]


def test_an_upload_stopped_while_embedding_keeps_its_file_for_the_lexical_index(
    small: Settings, tmp_path: Path
) -> None:
    from index.store import read_manifest

    settings = small.model_copy(update={"progressive_min_texts": 0})
    upload = write(
        tmp_path / "in" / "rail.md", "# Rail Notice\n\nThe Harbin rail yard loaded 70 trains in 2020.\n"
    )

    def fail(done: int, total: int) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        add_exhibit(settings, upload, 7, progress=fail)
    # The lexical generation serves Exhibit 7, so its file stays for the next build to finish.
    assert (uploads_dir(settings) / "Exhibit 7.md").exists()
    assert read_manifest(settings.store)["dense"] == "pending"  # type: ignore[index]
    assert (
        ask("How many trains did the Harbin rail yard load in 2020?", settings=settings).citations[0].exhibit
        == 7
    )
