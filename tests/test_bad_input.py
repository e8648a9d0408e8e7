"""Bad input of every kind: a clear message or a correct result, never a traceback or a half index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from index.store import build, load_paragraphs, read_manifest
from qa.api import ask
from qa.errors import SourceError
from qa.questions import clean_question
from qa.settings import Settings
from tests.conftest import write

WTO = "When did China become a member of the WTO?"


@pytest.mark.parametrize("question", ["", "   ", "\n\t  \n", "\x00\x00", "\u200b"])
def test_an_empty_question_asks_for_one(sample_settings: Settings, question: str) -> None:
    answer = ask(question, settings=sample_settings)
    assert answer.refused and answer.text == "Ask a question about the exhibits." and not answer.citations


def test_a_100_kb_question_is_declined_at_once_with_the_limit(sample_settings: Settings) -> None:
    question = ("How much steel did China export in 2015 and why? " * 2100)[:99_999] + "?"
    answer = ask(question, settings=sample_settings)
    assert answer.refused and not answer.passages
    assert "100,000 characters" in answer.text and "EXHIBITQA_MAX_QUESTION_CHARS" in answer.text
    assert len(answer.question) < 300


@pytest.mark.parametrize(
    "noisy",
    [
        "When did China\x00 become a member\x07 of the WTO?",
        "When\u200bdid China become a member of the WTO?\x1b[0m",
        "When did China become a member of the WTO?\r\n\r\n",
    ],
)
def test_control_characters_and_nul_bytes_do_not_change_the_answer(
    sample_settings: Settings, noisy: str
) -> None:
    clean = ask(WTO, settings=sample_settings)
    answer = ask(noisy, settings=sample_settings)
    assert "\x00" not in answer.question and "\x07" not in answer.question
    assert answer.citations == clean.citations and not answer.refused


@pytest.mark.parametrize(
    "question",
    [
        "中国什么时候加入世界贸易组织？",
        "When did 中国 join the WTO (世贸组织)?",
        "🚢🚢 How many ships? 🚢",
        "🤔",
        "¿Cuándo se unió China a la OMC?",
    ],
)
def test_questions_in_any_script_get_a_checked_answer_or_a_refusal(
    sample_settings: Settings, question: str
) -> None:
    answer = ask(question, settings=sample_settings)
    assert answer.refused or answer.citations
    paragraphs = {(p.exhibit, p.number): p for p in load_paragraphs(sample_settings.store)}
    for c in answer.citations:
        assert c.verified and c.quote in paragraphs[(c.exhibit, c.paragraph)].text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a\x00b", "a b"),
        ("  a \n\n b\t", "a b"),
        ("a\u200bb", "a b"),
        ("中国\x07钢铁", "中国 钢铁"),
        ("plain", "plain"),
        ("red\x1b[31m text\x1b[0m", "red text"),
        ("", ""),
    ],
)
def test_clean_question(raw: str, clean: str) -> None:
    assert clean_question(raw) == clean


@pytest.fixture
def record(tmp_path: Path) -> Path:
    rec = tmp_path / "rec"
    write(rec / "Exhibit 1.txt", "Port Notice\n\nThe port of Tianjin handled 500 ships in 2019.\n")
    return rec


def test_an_empty_exhibit_is_a_warning_and_the_rest_is_indexed(record: Path, tmp_path: Path) -> None:
    write(record / "Exhibit 2.txt", "")
    write(record / "Exhibit 3.txt", "  \n\n \n")
    report = build([record], Settings(store=tmp_path / "store"))
    assert report.per_exhibit[1] == 2
    assert any("Exhibit 2" in w and "holds no text" in w for w in report.warnings)
    assert any("Exhibit 3" in w and "holds no text" in w for w in report.warnings)


def test_a_record_of_only_empty_files_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "rec" / "Exhibit 1.txt", "")
    with pytest.raises(SourceError, match="hold no paragraphs"):
        build([tmp_path / "rec"], Settings(store=tmp_path / "store"))
    assert not (tmp_path / "store").exists() and not list(tmp_path.glob(".store.building-*"))


def test_a_binary_file_named_txt_is_refused_and_the_index_kept(record: Path, tmp_path: Path) -> None:
    settings = Settings(store=tmp_path / "store")
    build([record], settings)
    before = read_manifest(settings.store)
    (record / "Exhibit 2.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2000))
    with pytest.raises(SourceError, match=r"Exhibit 2\.txt: holds binary data"):
        build([record], settings)
    assert read_manifest(settings.store) == before
    assert not list(tmp_path.glob(".store.building-*"))


def test_a_file_over_the_size_limit_is_named_with_the_setting(record: Path, tmp_path: Path) -> None:
    write(record / "Exhibit 2.txt", "Big exhibit. " * 2000)  # 26 KB against a 0.01 MB limit
    with pytest.raises(SourceError, match=r"Exhibit 2\.txt is 25 KB; exhibit files are limited to 0\.01 MB"):
        build([record], Settings(store=tmp_path / "store", max_file_mb=0.01))
    assert not (tmp_path / "store").exists()


def test_duplicate_exhibit_numbers_name_both_files(record: Path, tmp_path: Path) -> None:
    write(record / "ex-1.md", "Another exhibit one.\n")
    with pytest.raises(SourceError) as err:
        build([record], Settings(store=tmp_path / "store"))
    assert "Exhibit 1.txt" in str(err.value) and "ex-1.md" in str(err.value)


def test_a_folder_of_a_thousand_tiny_exhibits(tmp_path: Path) -> None:
    rec = tmp_path / "many"
    for n in range(1, 1001):
        write(rec / f"Exhibit {n}.txt", f"Notice {n}\n\nWarehouse {n} stored {n * 7} crates of tile.\n")
    settings = Settings(store=tmp_path / "store")
    report = build([rec], settings)
    assert report.exhibits == 1000 and report.paragraphs == 2000
    answer = ask("How many crates did Warehouse 613 store?", settings=settings)
    assert not answer.refused and answer.citations[0].exhibit == 613 and "4291" in answer.text


def test_links_out_of_the_folder_are_not_followed(record: Path, tmp_path: Path) -> None:
    outside = write(tmp_path / "private" / "Exhibit 5.txt", "Secret salary list: 99 dollars.\n")
    (record / "Exhibit 5.txt").symlink_to(outside)
    (record / "linked-dir").symlink_to(outside.parent, target_is_directory=True)
    inside = write(record / "sub" / "Exhibit 6.txt", "Harbour notice: 12 cranes.\n")
    (record / "Exhibit 7.txt").symlink_to(inside)  # a link that stays inside is fine
    settings = Settings(store=tmp_path / "store")
    report = build([record], settings)
    assert sorted(report.per_exhibit) == [1, 6, 7]
    assert any("Exhibit 5.txt" in w and "outside" in w for w in report.warnings)
    assert all("Secret" not in p.text for p in load_paragraphs(settings.store))


def test_an_upload_name_cannot_steer_where_it_is_written(record: Path, tmp_path: Path) -> None:
    from qa.uploads import add_exhibit, uploads_dir

    settings = Settings(store=tmp_path / "store")
    build([record], settings)
    sneaky = write(tmp_path / "incoming" / "..%2F..%2Fescape..txt", "Port notice: 44 tugboats in service.\n")
    before = {p for p in tmp_path.rglob("*") if "store" not in p.parts and ".store" not in str(p)}
    add_exhibit(settings, sneaky, 9)
    after = {p for p in tmp_path.rglob("*") if "store" not in p.parts and ".store" not in str(p)}
    new = after - before
    assert new == {uploads_dir(settings), uploads_dir(settings) / "Exhibit 9.txt"} - before
    assert (uploads_dir(settings) / "Exhibit 9.txt").read_text() == sneaky.read_text()
