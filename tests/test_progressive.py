"""Progressive builds: BM25 answers while the vectors are made, then the full index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.atomic import current
from index.manifest import BuildReport
from index.progressive import PROGRESS, dense_note
from index.sources import find_sources
from index.store import build, read_manifest, stale_reason
from qa import ask
from qa.settings import Settings
from tests.conftest import write

RECORD = {
    "Exhibit 7.txt": "Steel Report\n\nThe plant made 5 million tons of steel in 2020.\n\nIt exported half of it.\n",
    "Exhibit 8.txt": "Shipping Note\n\nShips carried 300 cargoes through Ningbo in 2021.\n",
}


@pytest.fixture()
def record(tmp_path: Path) -> Path:
    for name, text in RECORD.items():
        write(tmp_path / "record" / name, text)
    return tmp_path / "record"


def test_answers_come_from_bm25_while_embedding_and_from_all_channels_after(
    record: Path, tmp_path: Path
) -> None:
    settings = Settings(store=tmp_path / "store", progressive_min_texts=0)
    during: list = []
    seen: list[BuildReport] = []

    def lexical(report: BuildReport) -> None:
        seen.append(report)
        manifest = read_manifest(settings.store)
        assert manifest is not None and manifest["dense"] == "pending"
        during.append(ask("How many cargoes did ships carry through Ningbo?", settings=settings))

    report = build([record], settings, on_lexical=lexical)
    assert seen and seen[0].lexical_s is not None and seen[0].embedded == report.embedded > 0
    first = during[0]
    assert not first.refused and "300 cargoes" in first.text
    assert [(c.exhibit, c.paragraph) for c in first.citations] == [(8, 2)]
    assert first.channels == ("bm25", "bm25_zh")
    assert any(n.startswith("lexical search only (BM25): dense search 0% built") for n in first.notes)

    assert read_manifest(settings.store)["dense"] == "complete"  # type: ignore[index]
    after = ask("How many cargoes did ships carry through Ningbo?", settings=settings)
    assert "dense" in after.channels and not any("lexical search only" in n for n in after.notes)
    assert [(c.exhibit, c.paragraph) for c in after.citations] == [(8, 2)]
    gen = current(settings.store)
    assert gen is not None and not (gen / PROGRESS).exists()


def test_a_small_build_publishes_once(record: Path, tmp_path: Path) -> None:
    settings = Settings(store=tmp_path / "store")  # default: only builds with 200+ texts to embed
    called: list[BuildReport] = []
    report = build([record], settings, on_lexical=called.append)
    assert not called and report.lexical_s is None and 0 < report.embedded < 200
    assert read_manifest(settings.store)["dense"] == "complete"  # type: ignore[index]


def test_a_build_stopped_while_embedding_leaves_bm25_serving_and_the_next_build_finishes_it(
    record: Path, tmp_path: Path
) -> None:
    settings = Settings(store=tmp_path / "store", progressive_min_texts=0)

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build([record], settings, progress=stop)
    assert read_manifest(settings.store)["dense"] == "pending"  # type: ignore[index]
    answer = ask("How many tons of steel did the plant make?", settings=settings)
    assert "5 million tons" in answer.text and answer.channels == ("bm25", "bm25_zh")
    sources, _ = find_sources([record])
    assert stale_reason(settings.store, sources, settings) == (
        "dense vectors not built yet (the build that started them was stopped)"
    )
    assert not list(tmp_path.glob(".store.building-*"))  # the half-made full generation is gone

    report = build([record], settings)
    assert report.rebuilt and report.reason.startswith("dense vectors not built yet")
    # What was embedded before the stop was kept in the lexical generation: nothing is embedded twice.
    assert report.embedded == 0 and report.reused_vectors == report.vectors > 0
    assert read_manifest(settings.store)["dense"] == "complete"  # type: ignore[index]
    assert "dense" in ask("How many tons of steel did the plant make?", settings=settings).channels


@pytest.mark.parametrize(
    ("manifest", "progress", "expected"),
    [
        ({"dense": "complete"}, None, None),
        ({}, None, None),  # stores built before progressive builds
        ({"dense": "pending"}, {"done": 40, "total": 100}, "dense search 40% built"),
        ({"dense": "pending"}, {"done": 0, "total": 7}, "dense search 0% built"),
        ({"dense": "pending"}, None, "dense search not built"),
        ({"dense": "pending"}, "garbage", "dense search not built"),
    ],
)
def test_dense_note(manifest: dict, progress: object, expected: str | None, tmp_path: Path) -> None:
    if progress == "garbage":
        (tmp_path / PROGRESS).write_text("{half", encoding="utf-8")
    elif progress is not None:
        (tmp_path / PROGRESS).write_text(json.dumps(progress), encoding="utf-8")
    note = dense_note(manifest, tmp_path)
    assert note == expected if expected is None else expected in (note or "")


def test_sigkill_after_the_lexical_generation_leaves_it_serving(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT, SAMPLE

    settings = Settings(store=tmp_path / "store")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "index", str(SAMPLE), "--store", str(settings.store)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "EXHIBITQA_PROGRESSIVE_MIN_TEXTS"},
    )
    try:
        deadline = time.monotonic() + 120  # the sample's 1,400 texts to embed make it progressive
        while not settings.store.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert settings.store.exists(), "no lexical generation was published"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert read_manifest(settings.store)["dense"] == "pending"  # type: ignore[index]
    answer = ask("When did China become a member of the WTO?", settings=settings)
    assert answer.channels == ("bm25", "bm25_zh") and answer.citations
    assert all(c.verified for c in answer.citations) and "WTO" in answer.text
    sources, _ = find_sources([SAMPLE])
    assert stale_reason(settings.store, sources, settings) is not None


def test_build_status_says_what_the_app_shows(record: Path, tmp_path: Path) -> None:
    from index.progressive import build_status

    settings = Settings(store=tmp_path / "store", progressive_min_texts=0)
    assert build_status(settings.store) == ""  # no index yet

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build([record], settings, progress=stop)
    gen = current(settings.store)
    assert gen is not None
    total = json.loads((gen / PROGRESS).read_text(encoding="utf-8"))["total"]
    assert "while dense search is built: " in build_status(settings.store)
    assert f"/{total} texts). Answers use it when the build finishes." in build_status(settings.store)
    (gen / PROGRESS).write_text(json.dumps({"done": 1, "total": 4}), encoding="utf-8")
    assert "25% (1/4 texts)" in build_status(settings.store)
    (gen / PROGRESS).unlink()
    assert build_status(settings.store).endswith("built: starting. Answers use it when the build finishes.")
    build([record], settings)
    assert total > 0 and build_status(settings.store) == ""
