"""The index store: files, ids, staleness, safe rebuilds, sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index import store as store_mod
from index.atomic import current
from index.sources import exhibit_number_from_name, find_sources, read_record
from index.store import build, load_paragraphs, read_manifest, stale_reason
from index.vectors import VectorHome
from qa.errors import IndexStaleError, SourceError
from qa.settings import Settings
from tests.conftest import SAMPLE, write

SMALL = {
    "Exhibit 7.txt": "Steel Report\n\nThe plant made 5 million tons of steel in 2020 and\n\nexported half of it.\n",
    "ex-8.md": "# Shipping Note\n\nShips carried 300 cargoes in 2021.\n",
}


@pytest.fixture()
def small_record(tmp_path: Path) -> Path:
    for name, text in SMALL.items():
        write(tmp_path / "record" / name, text)
    return tmp_path / "record"


def test_sample_store_files_and_counts(sample_settings: Settings) -> None:
    store = Path(sample_settings.store)
    assert {p.name for p in store.iterdir()} == {
        "manifest.json",
        "paragraphs.jsonl",
        "chroma",
        "bm25",
        "terms.json",
    }
    manifest = read_manifest(store)
    assert manifest is not None
    assert [e["number"] for e in manifest["exhibits"]] == list(range(61, 71))
    paragraphs = load_paragraphs(store)
    assert len(paragraphs) == manifest["counts"]["paragraphs"]
    assert manifest["embedding_model"] == sample_settings.embedding_model
    for e in manifest["exhibits"]:
        numbers = [p.number for p in paragraphs if p.exhibit == e["number"]]
        assert numbers == list(range(1, e["paragraphs"] + 1))  # contiguous 1..n
    assert {p.lang for p in paragraphs} == {"en", "zh"}


def test_sample_offsets_point_at_the_paragraph_in_the_source(sample_settings: Settings) -> None:
    source = (SAMPLE / "exhibits_61_70.txt").read_text(encoding="utf-8")
    from qa.cites import normalize

    for p in load_paragraphs(sample_settings.store)[::25]:
        span = source[p.start : p.end]
        assert normalize(span.replace("\n", " ")).startswith(normalize(p.text)[:20])


def test_sample_page_break_of_exhibit_61_is_repaired(sample_settings: Settings) -> None:
    hits = [
        p
        for p in load_paragraphs(sample_settings.store)
        if p.exhibit == 61 and "China's state-owned and state-invested enterprises and numerous" in p.text
    ]
    assert len(hits) == 1


def test_chroma_has_one_entry_per_paragraph_with_metadata(sample_settings: Settings) -> None:
    client = VectorHome("exhibitqa").client(Path(sample_settings.store))
    try:
        got = client.get_collection("exhibitqa").get(ids=["ex61-p12", "ex70-p1"], include=["metadatas"])
    finally:
        client.close()
    metas = dict(zip(got["ids"], got["metadatas"] or [], strict=False))
    assert metas["ex61-p12"]["exhibit"] == 61 and metas["ex61-p12"]["paragraph"] == 12
    assert metas["ex70-p1"]["lang"] in ("en", "zh")


def test_small_build_then_noop_then_change(small_record: Path, tmp_path: Path) -> None:
    settings = Settings(store=tmp_path / "store")
    first = build([small_record], settings)
    assert first.rebuilt and first.per_exhibit == {7: 2, 8: 2}
    assert [p.text for p in load_paragraphs(settings.store) if p.exhibit == 7][1] == (
        "The plant made 5 million tons of steel in 2020 and exported half of it."
    )
    again = build([small_record], settings)
    assert not again.rebuilt
    write(small_record / "ex-8.md", "# Shipping Note\n\nShips carried 301 cargoes in 2021.\n")
    assert stale_reason(settings.store, find_sources([small_record])[0], settings) == "exhibit files changed"
    third = build([small_record], settings)
    assert third.rebuilt and third.reused_vectors >= 2  # unchanged text is not embedded again


def test_turning_a_setting_back_reembeds_nothing(small_record: Path, tmp_path: Path) -> None:
    plain = Settings(store=tmp_path / "store")
    first = build([small_record], plain)
    assert first.reused_vectors < first.vectors
    headed = build([small_record], plain.model_copy(update={"contextual_headings": True}))
    assert headed.rebuilt and headed.reused_vectors < headed.vectors  # headed windows are new text
    assert (plain.store / "vector_cache.npz").exists()
    back = build([small_record], plain)
    assert back.rebuilt and back.reused_vectors == back.vectors  # all from the store's cache


def test_changed_window_settings_force_rebuild(small_record: Path, tmp_path: Path) -> None:
    settings = Settings(store=tmp_path / "store")
    build([small_record], settings)
    other = settings.model_copy(update={"window_words": 100})
    assert stale_reason(settings.store, find_sources([small_record])[0], other) is not None
    from qa.retrieve import Retriever

    with pytest.raises(IndexStaleError, match="--rebuild"):
        Retriever(other)


def test_failed_build_leaves_previous_index_serving(
    small_record: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(store=tmp_path / "store")
    build([small_record], settings)
    before = (tmp_path / "store" / "paragraphs.jsonl").read_text()

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_mod, "_write_bm25", boom)
    write(small_record / "Exhibit 9.txt", "New exhibit text here.\n")
    with pytest.raises(RuntimeError, match="disk full"):
        build([small_record], settings)
    assert (tmp_path / "store" / "paragraphs.jsonl").read_text() == before
    gen = current(tmp_path / "store")
    assert gen is not None and gen.name.startswith(".store.gen-")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        gen.name,
        ".store.lock",
        "record",
        "store",
    ]  # no temp dirs left: only the link and the generation it points at
    assert json.loads((tmp_path / "store" / "manifest.json").read_text())["counts"]["exhibits"] == 2


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("Exhibit 61.txt", 61),
        ("exhibit_61.md", 61),
        ("ex-61.md", 61),
        ("Ex. 7.txt", 7),
        ("61.txt", 61),
        ("61 - report.txt", 61),
        ("report 2022.txt", None),
        ("notes.txt", None),
    ],
)
def test_exhibit_number_from_name(name: str, number: int | None) -> None:
    assert exhibit_number_from_name(name) == number


def test_unnumbered_file_is_an_actionable_error(tmp_path: Path) -> None:
    notes = write(tmp_path / "notes.txt", "Some text.")
    with pytest.raises(SourceError, match="Name the file like 'Exhibit 61.txt'"):
        read_record(find_sources([notes])[0])
    # In a folder it is skipped with a warning (READMEs live beside exhibits), never silently.
    write(tmp_path / "Exhibit 4.txt", "Text.")
    files, warnings = find_sources([tmp_path])
    assert [f.path.name for f in files] == ["Exhibit 4.txt"]
    assert warnings == [f"skipped {notes}: its name gives no exhibit number (name it like 'Exhibit 7.txt')"]
    (tmp_path / "Exhibit 4.txt").unlink()
    with pytest.raises(SourceError, match="No exhibit files found(.|\n)*notes.txt: its name gives no"):
        find_sources([tmp_path])


def test_duplicate_exhibit_numbers_are_an_error(tmp_path: Path) -> None:
    write(tmp_path / "Exhibit 5.txt", "One.")
    write(tmp_path / "ex-5.md", "Two.")
    with pytest.raises(SourceError, match="Exhibit 5 appears twice"):
        read_record(find_sources([tmp_path])[0])


def test_undecodable_file_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "Exhibit 3.txt").write_bytes(bytes(range(1, 256)) * 4)  # no NUL: not plainly binary
    with pytest.raises(SourceError, match="Exhibit 3.txt: cannot tell its text encoding"):
        read_record(find_sources([tmp_path])[0])


def test_missing_path_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        find_sources([tmp_path / "nope"])
    (tmp_path / "Exhibit 1.xlsx").write_bytes(b"PK")
    with pytest.raises(SourceError, match="cannot read '.xlsx' files"):
        find_sources([tmp_path / "Exhibit 1.xlsx"])
    write(tmp_path / "Exhibit 2.txt", "Text.")
    files, warnings = find_sources([tmp_path])
    assert [f.path.name for f in files] == ["Exhibit 2.txt"]
    assert any("Exhibit 1.xlsx" in w for w in warnings)


def test_sigkill_mid_build_leaves_previous_index_serving(small_record: Path, tmp_path: Path) -> None:
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    from qa.api import ask
    from tests.conftest import ROOT

    settings = Settings(store=tmp_path / "store")
    build([small_record], settings)
    before = read_manifest(settings.store)
    # A big change: embedding the whole sample record takes a minute or more, time to kill it.
    shutil.copy(SAMPLE / "exhibits_61_70.txt", small_record / "exhibits_61_70.txt")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "index", str(small_record), "--store", str(settings.store)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Not progressive: the lexical generation it would publish first is tests/test_progressive's.
        env={**os.environ, "EXHIBITQA_PROGRESSIVE_MIN_TEXTS": "1000000000"},
    )
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".store.building-*/bm25")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list(tmp_path.glob(".store.building-*")), "the build never started"
        time.sleep(1.0)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert read_manifest(settings.store) == before  # the previous index is untouched ...
    answer = ask("How many ships did the yard deliver?", settings=settings)  # ... and still answers
    assert answer.passages and {p.paragraph.exhibit for p in answer.passages} <= {7, 8}
    (small_record / "exhibits_61_70.txt").unlink()
    write(small_record / "Exhibit 9.txt", "A ninth exhibit about 12 harbours.\n")
    report = build([small_record], settings)  # the next build succeeds and cleans up
    assert report.rebuilt and report.per_exhibit == {7: 2, 8: 2, 9: 1}
    assert not list(tmp_path.glob(".store.building-*")) and not list(tmp_path.glob(".store.old-*"))


def test_recover_after_a_crash_between_the_two_renames(tmp_path: Path) -> None:
    from index.atomic import recover

    store = tmp_path / "store"
    old = tmp_path / ".store.old-deadbeef"
    old.mkdir()
    (old / "manifest.json").write_text("{}")
    half = tmp_path / ".store.building-cafebabe"
    half.mkdir()
    recover(store)
    assert (store / "manifest.json").exists()
    assert not old.exists() and not half.exists()
    recover(store)  # nothing to do the second time
    assert (store / "manifest.json").exists()


def test_readers_never_see_a_half_built_index(small_record: Path, tmp_path: Path) -> None:
    import threading

    settings = Settings(store=tmp_path / "store")
    build([small_record], settings)
    errors: list[BaseException] = []
    seen: set[int] = set()
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            try:
                manifest = read_manifest(settings.store)
                assert manifest is not None and manifest["counts"]["paragraphs"] > 0
                paragraphs = load_paragraphs(settings.store)
                seen.add(len(paragraphs))
            except BaseException as e:  # any failure a reader meets mid-swap
                errors.append(e)
                return

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for n in range(4):
            write(small_record / f"Exhibit {20 + n}.txt", f"Added exhibit number {n} about harbours.\n")
            build([small_record], settings)
    finally:
        done.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors[0]
    assert len(load_paragraphs(settings.store)) == 8 and len(seen) >= 2  # readers saw generations change


def test_a_store_that_is_a_real_directory_is_read_in_place_and_becomes_a_link(
    small_record: Path, tmp_path: Path
) -> None:
    import shutil

    from index.atomic import current
    from qa.api import ask

    built = Settings(store=tmp_path / "built")
    build([small_record], built)
    settings = Settings(store=tmp_path / "store")
    shutil.copytree(built.store, settings.store)  # a copy (or a store of the earlier layout)
    assert not Path(settings.store).is_symlink()
    assert (
        ask("How many cargoes did ships carry in 2021?", settings=settings).passages[0].paragraph.exhibit == 8
    )
    write(small_record / "Exhibit 9.txt", "A ninth exhibit about 12 harbours.\n")
    report = build([small_record], settings)
    assert report.rebuilt and Path(settings.store).is_symlink()
    gen = current(Path(settings.store))
    assert gen is not None and gen.name.startswith(".store.gen-")
    assert not list(tmp_path.glob(".store.old-*"))
    answer = ask("How many harbours does the ninth exhibit mention?", settings=settings)
    assert 9 in {p.paragraph.exhibit for p in answer.passages}


def test_a_store_copied_as_a_bare_link_says_how_to_copy_it(small_record: Path, tmp_path: Path) -> None:
    import os

    from qa.api import ask
    from qa.errors import IndexDamagedError

    build([small_record], Settings(store=tmp_path / "a" / "store"))
    (tmp_path / "b").mkdir()
    os.symlink(os.readlink(tmp_path / "a" / "store"), tmp_path / "b" / "store")  # what `cp -r` makes
    with pytest.raises(IndexDamagedError, match=r"which is missing.*cp -rL"):
        ask("How many ships?", settings=Settings(store=tmp_path / "b" / "store"))
