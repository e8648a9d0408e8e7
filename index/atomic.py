"""Swapping a finished index generation in place of the old one, safely.

A build writes ``.<store>.building-<id>/`` beside the store and, holding ``.<store>.lock``,
renames the old store to ``.<store>.old-<id>`` and the new one into place. A crash between
those two renames leaves the old generation under its ``old`` name; ``recover`` (run under the
lock at the start of every build, and by readers that find no store) puts it back.
"""

from __future__ import annotations

import fcntl
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from qa.errors import ConfigError


def _siblings(store: Path, kind: str) -> list[Path]:
    return sorted(store.parent.glob(f".{store.name}.{kind}-*"), key=lambda p: p.stat().st_mtime)


@contextmanager
def build_lock(store: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Held for a whole build: one builder per store at a time (others wait their turn).

    ``on_wait`` is called once if another build holds the lock, before waiting for it.
    """
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        lock = open(store.parent / f".{store.name}.lock", "w")  # noqa: SIM115 - closed below
    except OSError as e:
        raise ConfigError(
            f"Cannot write the index at {store} ({e.strerror or e}). Choose a writable place with "
            "--store or EXHIBITQA_STORE."
        ) from e
    with lock as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def recover(store: Path) -> None:
    """Undo what an interrupted build left behind (call while holding ``build_lock``)."""
    olds = [p for p in _siblings(store, "old") if (p / "manifest.json").exists()]
    if not store.exists() and olds:
        olds[-1].rename(store)  # killed between the two renames: the old generation returns
    for leftover in _siblings(store, "building") + _siblings(store, "old"):
        shutil.rmtree(leftover, ignore_errors=True)


def new_generation(store: Path) -> Path:
    path = store.parent / f".{store.name}.building-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


def swap_in(new: Path, store: Path) -> None:
    """Put the finished generation ``new`` in place of ``store``; then drop the old one."""
    old = store.parent / f".{store.name}.old-{uuid.uuid4().hex[:8]}"
    if store.exists():
        store.rename(old)
    new.rename(store)
    shutil.rmtree(old, ignore_errors=True)


def wait_for_store(store: Path, seconds: float = 3.0) -> bool:
    """True once ``store`` exists; readers arriving mid-swap wait out the two renames."""
    deadline = time.monotonic() + seconds
    while not store.exists():
        if not _siblings(store, "old") or time.monotonic() > deadline:
            return store.exists()
        time.sleep(0.05)
    return True
