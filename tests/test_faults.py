"""Faults caused for real: damaged stores, read-only disks, builds killed or run twice at once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from index.store import build, read_manifest
from qa.api import ask, reset
from qa.errors import ConfigError, IndexMissingError
from qa.settings import Settings
from tests.conftest import ROOT, SAMPLE, write

QUESTION = "How many ships did the yard deliver?"


@pytest.fixture
def small(tmp_path: Path) -> Settings:
    write(tmp_path / "rec" / "Exhibit 7.txt", "Yard Report\n\nThe yard delivered 41 ships in 2019.\n")
    write(tmp_path / "rec" / "Exhibit 8.txt", "Rail Report\n\nThe line carried 9 million tons.\n")
    settings = Settings(store=tmp_path / "store")
    build([tmp_path / "rec"], settings)
    return settings


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xffnot what this file should hold\n" * 4)


def _first(pattern: str) -> Callable[[Path], None]:
    def damage(store: Path) -> None:
        target = sorted(store.glob(pattern))[0]
        shutil.rmtree(target) if target.is_dir() else target.unlink()

    return damage


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "manifest deleted": (lambda s: (s / "manifest.json").unlink(), "manifest.json is missing"),
    "manifest garbage": (lambda s: _garbage(s / "manifest.json"), "manifest.json is unreadable"),
    "paragraphs deleted": (lambda s: (s / "paragraphs.jsonl").unlink(), "paragraphs.jsonl is missing"),
    "paragraphs garbage": (lambda s: _garbage(s / "paragraphs.jsonl"), "paragraphs.jsonl is unreadable"),
    "bm25 deleted": (_first("bm25"), "bm25 is missing"),
    "bm25 garbage": (lambda s: _garbage(s / "bm25" / "params.index.json"), "bm25/ is unreadable"),
    "chroma deleted": (_first("chroma"), "chroma is missing"),
    "chroma sqlite garbage": (lambda s: _garbage(s / "chroma" / "chroma.sqlite3"), "chroma/ is unreadable"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_store_is_named_with_the_rebuild_command(small: Settings, case: str) -> None:
    damage, what = DAMAGE[case]
    reset()
    damage(Path(small.store))
    with pytest.raises(IndexMissingError) as err:
        ask(QUESTION, settings=small)
    message = str(err.value)
    assert str(small.store) in message and what in message and "--rebuild" in message, message
    build([Path(small.store).parent / "rec"], small, rebuild=True)  # the rebuild it names works
    reset()
    assert ask(QUESTION, settings=small).passages[0].paragraph.exhibit == 7


def test_a_damaged_store_on_the_command_line_is_a_message_not_a_traceback(small: Settings) -> None:
    _garbage(Path(small.store) / "paragraphs.jsonl")
    done = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", QUESTION, "--store", str(small.store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1  # what it runs on failed, not how it was called
    assert "is damaged" in done.stderr and "--rebuild" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Callable[[], Path]]:
    """A directory that becomes read-only on a call: a read-only tmpfs mount when the tests
    run as root (root ignores file modes), else file modes."""
    where = tmp_path / "ro"
    where.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(where)], capture_output=True
        ).returncode
        == 0
    )
    if os.geteuid() == 0 and not mounted:
        pytest.skip("running as root without mount: no way to make a read-only directory here")

    def freeze() -> Path:
        if mounted:
            subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        else:
            for p in [where, *where.rglob("*")]:
                p.chmod(0o555 if p.is_dir() else 0o444)
        return where

    try:
        yield freeze
    finally:
        if mounted:
            # Lazily: a file still mapped by the test process must not leave the mount behind.
            subprocess.run(["umount", "-l", str(where)], check=False)
        else:
            for p in [where, *where.rglob("*")]:
                p.chmod(0o755)


def test_building_on_a_read_only_disk_is_a_clear_error(
    small: Settings, read_only_dir: Callable[[], Path]
) -> None:
    where = read_only_dir()
    settings = small.model_copy(update={"store": where / "store"})
    with pytest.raises(ConfigError, match=r"Cannot write the index at .*--store or EXHIBITQA_STORE"):
        build([Path(small.store).parent / "rec"], settings)


def test_a_store_on_a_read_only_disk_is_a_clear_error(
    small: Settings, read_only_dir: Callable[[], Path]
) -> None:
    target = Path(small.store).parent / "ro" / "store"
    shutil.copytree(small.store, target)
    read_only_dir()
    reset()
    with pytest.raises(ConfigError, match=r"on a read-only disk.*Copy the store to a writable place"):
        ask(QUESTION, settings=small.model_copy(update={"store": target}))
    shutil.copytree(target, Path(small.store).parent / "copy")  # what the message says to do
    answer = ask(QUESTION, settings=small.model_copy(update={"store": Path(small.store).parent / "copy"}))
    assert answer.passages[0].paragraph.exhibit == 7


def _index(store: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "index", str(SAMPLE), "--store", str(store), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(pattern: str, where: Path, proc: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not list(where.glob(pattern)):
        assert proc.poll() is None, f"the build ended before {pattern} appeared: {proc.communicate()}"
        assert time.monotonic() < deadline, f"{pattern} never appeared"
        time.sleep(0.01)


@pytest.mark.parametrize(
    "stage",
    [".store.building-*", ".store.building-*/bm25/params.index.json", ".store.building-*/chroma"],
    ids=["generation-created", "bm25-written", "chroma-being-written"],
)
def test_sigkill_at_any_stage_leaves_the_previous_index_serving(
    small: Settings, sample_settings: Settings, tmp_path: Path, stage: str
) -> None:
    before = read_manifest(Path(small.store))
    proc = _index(Path(small.store), "--reuse-from", str(sample_settings.store))
    try:
        _wait_for(stage, tmp_path, proc)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert read_manifest(Path(small.store)) == before
    reset()
    assert ask(QUESTION, settings=small).passages[0].paragraph.exhibit == 7
    report = build([SAMPLE], small, reuse_from=[sample_settings.store])  # the next build succeeds
    assert report.rebuilt and report.exhibits == 10
    assert not list(tmp_path.glob(".store.building-*")) and not list(tmp_path.glob(".store.old-*"))


def test_a_second_build_of_one_store_waits_for_the_first(small: Settings, tmp_path: Path) -> None:
    import threading

    from index.atomic import build_lock

    err: list[str] = []
    rec = Path(small.store).parent / "rec"
    write(rec / "Exhibit 9.txt", "Port Report\n\nThe port handled 12 harbours of cargo.\n")
    with build_lock(Path(small.store)):  # the first build, in this process
        second = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "index", str(rec), "--store", str(small.store)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert second.stderr is not None
        reader = threading.Thread(target=lambda: err.extend(second.stderr or []), daemon=True)
        reader.start()
        deadline = time.monotonic() + 120
        while not any("waiting for it to finish" in line for line in err):
            assert second.poll() is None, "the second build did not wait"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
        assert second.poll() is None and not list(tmp_path.glob(".store.building-*"))
    # Not communicate(): it would close stderr under the thread still reading it.
    assert second.stdout is not None
    out = second.stdout.read()
    second.wait(timeout=300)
    reader.join(timeout=10)
    assert second.returncode == 0, err
    assert "Indexed 3 exhibits" in out
    manifest = read_manifest(Path(small.store))
    assert manifest is not None and manifest["counts"]["exhibits"] == 3


def _chroma_copy(sample_settings: Settings, where: Path) -> Path:
    shutil.copytree(Path(sample_settings.store) / "chroma", where)
    return where


def _segment(chroma: Path) -> Path:
    return next(p for p in chroma.iterdir() if p.is_dir())


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda c: None, None),
        (lambda c: (c / "chroma.sqlite3").unlink(), "chroma/chroma.sqlite3 is missing"),
        (lambda c: _garbage(c / "chroma.sqlite3"), "chroma/ is unreadable (chroma.sqlite3"),
        (lambda c: (_segment(c) / "header.bin").unlink(), "/ is missing header.bin"),
        (lambda c: (_segment(c) / "link_lists.bin").unlink(), "/ is missing link_lists.bin"),
    ],
    ids=["intact", "sqlite-deleted", "sqlite-garbage", "hnsw-header-deleted", "hnsw-links-deleted"],
)
def test_chroma_damage_is_read_from_the_files_on_disk(
    sample_settings: Settings, tmp_path: Path, damage: Callable[[Path], None], said: str | None
) -> None:
    from index.vectors import LOCAL_COLLECTION, chroma_damage

    chroma = _chroma_copy(sample_settings, tmp_path / "chroma")
    damage(chroma)
    found = chroma_damage(chroma, LOCAL_COLLECTION)
    assert (found is None) if said is None else (found is not None and said in found), found


def test_a_wrong_collection_name_is_damage(sample_settings: Settings, tmp_path: Path) -> None:
    from index.vectors import chroma_damage

    chroma = _chroma_copy(sample_settings, tmp_path / "chroma")
    assert "has no collection 'exhibitqa-elsewhere'" in (chroma_damage(chroma, "exhibitqa-elsewhere") or "")


def test_a_chroma_failure_on_intact_files_is_not_called_damage_or_a_lost_server(small: Settings) -> None:
    from qa.errors import IndexDamagedError, IndexReadError
    from qa.retrieve import Retriever

    retriever = Retriever(small)
    retriever._client.close()  # a real Chroma failure: its System is stopped, the files are fine
    with pytest.raises(IndexReadError) as err:
        retriever.search(QUESTION)
    message = str(err.value)
    assert not isinstance(err.value, IndexDamagedError)
    assert "files on disk are intact" in message and str(small.store) in message
    assert "Lost the Chroma server" not in message and "damaged" not in message
