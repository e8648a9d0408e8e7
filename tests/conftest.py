"""Shared fixtures: the sample record indexed once per test session."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "exhibits"
RECORD2 = ROOT / "data" / "record2"

# The longest test files, started first: on two workers (`make test`) a long file collected
# last would run alone at the end while the other worker idles.
LONGEST_FIRST = (
    "test_soak.py",
    "test_lint.py",
    "test_live_rebuild.py",
    "test_eval_gate.py",
    "test_load.py",
    "test_local.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: files keep their own order within a rank


@pytest.fixture(scope="session", autouse=True)
def contained_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The process's temp directory, moved inside pytest's own (which pytest prunes).

    gradio_client downloads each file into a fresh ``<temp>/<40 hex>`` directory, moves it out
    and never removes that directory: the chat tests left ~1,500 empty ones in /tmp a run.
    """
    old = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("systemp"))
    try:
        yield Path(tempfile.tempdir)
    finally:
        tempfile.tempdir = old


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose store holds the whole sample record, built once for the session.

    ``EXHIBITQA_SEED_STORE`` (set by ``make test`` to the app's store) lends vectors of unchanged
    text, so the session does not embed the record a second time; the build itself is real.
    """
    from index.store import build

    settings = Settings(store=tmp_path_factory.mktemp("sample") / "store")
    seed = os.environ.get("EXHIBITQA_SEED_STORE")
    build([SAMPLE], settings, reuse_from=[Path(seed)] if seed else [])
    return settings


@pytest.fixture(scope="session")
def record2_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose store holds the second record (data/record2), built once for the session.

    ``EXHIBITQA_RECORD2_SEED_STORE`` lends vectors as ``EXHIBITQA_SEED_STORE`` does for the sample.
    """
    from index.store import build

    settings = Settings(store=tmp_path_factory.mktemp("record2") / "store")
    seed = os.environ.get("EXHIBITQA_RECORD2_SEED_STORE")
    build([RECORD2], settings, reuse_from=[Path(seed)] if seed else [])
    return settings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
