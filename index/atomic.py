"""Index generations: how a finished one replaces the current one, and when an old one may go.

The store path (``.exhibitqa``) is a symbolic link to its current generation, a sibling
directory ``.<store>.gen-<id>/`` that keeps its path for as long as it exists. A build writes
``.<store>.building-<id>/``, renames it to its ``gen`` name once complete (no reader can have
opened it yet), and points the link at it with one atomic ``rename(2)``.

Why a link, and not renaming directories into the store path as before: Chroma keeps one
``System`` per *realpath* of a persist directory (``SharedSystemClient._get_identifier_from_settings``)
and every client looks its System up by that path on each call (the ``_system`` property).
A generation renamed into the same path is therefore read through the System its predecessor
opened: ``NotFoundError`` and "Missing metadata segment" in a process that outlives a rebuild.
With a path unique to each generation that cannot happen. Clearing Chroma's cache instead
(``clear_system_cache``) would pull the System from under a question still running on the
old generation, because its client finds the System by path only.

A reader holds a shared ``flock`` on its generation's directory (``hold``); builds delete a
generation (``collect``) only when the link no longer points at it and no reader holds it, so a
question that started on the old generation finishes on it. A store that is a real directory
(made by an older version, or copied with ``cp -r``/``copytree``) is read in place; the next
build turns it into a link.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from qa.errors import ConfigError


def _siblings(store: Path, kind: str) -> list[Path]:
    def mtime(p: Path) -> float:
        try:
            return p.lstat().st_mtime
        except OSError:  # removed while listing
            return 0.0

    return sorted(store.parent.glob(f".{store.name}.{kind}-*"), key=mtime)


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


def current(store: Path) -> Path | None:
    """The directory of the store's current generation (the store itself if it is a real
    directory), or None if there is none."""
    if store.is_symlink():
        target = store.parent / os.readlink(store)
        return target if target.is_dir() else None
    return store if store.is_dir() else None


def generation_id(store: Path) -> str | None:
    """A name for the current generation that changes with every build (for reload checks)."""
    gen = current(store)
    if gen is None:
        return None
    if gen != store:
        return gen.name
    try:  # a real directory: it changes by being replaced, so its manifest's inode changes
        st = (store / "manifest.json").stat()
    except OSError:
        return None
    return f"dir-{st.st_ino}-{st.st_mtime_ns}"


class Hold:
    """A reader's shared lock on one generation: while it is held, no build deletes it."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with suppress(OSError):
                os.close(fd)  # closing the descriptor drops the flock

    def __del__(self) -> None:
        self.release()


def hold(store: Path) -> Hold | None:
    """Lock the current generation for reading; None if the store has no complete generation."""
    for _ in range(10):
        gen = current(store)
        if gen is None:
            if not wait_for_store(store):
                return None
            continue
        try:
            fd = os.open(gen, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:  # collected between the readlink and the open: look again
            continue
        fcntl.flock(fd, fcntl.LOCK_SH)
        # A collector removes manifest.json first, while holding the exclusive lock; seeing it
        # now, under the shared lock, means the generation is whole and stays so.
        if (gen / "manifest.json").exists():
            return Hold(gen, fd)
        os.close(fd)
        if gen == store:  # a real directory without a manifest: nothing to wait for
            return None
    return None


def recover(store: Path) -> None:
    """Undo what an interrupted build left behind (call while holding ``build_lock``)."""
    # Stores of the earlier layout were renamed aside during a swap; a crash between the two
    # renames left the old generation under its ``old`` name.
    olds = [p for p in _siblings(store, "old") if (p / "manifest.json").exists()]
    if not store.exists() and not store.is_symlink() and olds:
        olds[-1].rename(store)
    for leftover in _siblings(store, "building") + _siblings(store, "old"):
        shutil.rmtree(leftover, ignore_errors=True)
    for link in _siblings(store, "link"):
        with suppress(OSError):
            link.unlink()


def collect(store: Path, on_remove: Callable[[Path], None] | None = None) -> list[Path]:
    """Delete every generation the store no longer points at and no reader holds (call while
    holding ``build_lock``); ``on_remove`` is told of each first. Returns those kept for readers."""
    keep = current(store)
    held = []
    for gen in _siblings(store, "gen"):
        if keep is not None and gen.resolve() == keep.resolve():
            continue
        try:
            fd = os.open(gen, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held.append(gen)  # a reader is still answering from it; a later build removes it
                continue
            if on_remove is not None:
                with suppress(Exception):  # best effort: a failed drop must not fail the build
                    on_remove(gen)
            with suppress(FileNotFoundError):
                (gen / "manifest.json").unlink()
            shutil.rmtree(gen, ignore_errors=True)
        finally:
            os.close(fd)
    return held


def new_generation(store: Path) -> Path:
    path = store.parent / f".{store.name}.building-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


def swap_in(new: Path, store: Path) -> Path:
    """Make the finished generation ``new`` the store's current one; returns its final path."""
    gen = store.parent / f".{store.name}.gen-{new.name.rsplit('-', 1)[-1]}"
    new.rename(gen)  # nobody reads a building directory, so it may still move
    link = store.parent / f".{store.name}.link-{uuid.uuid4().hex[:8]}"
    os.symlink(gen.name, link)  # relative: the store's folder can be moved as a whole
    if store.exists() and not store.is_symlink():
        # A store of the earlier layout (a real directory) becomes a link. rename(2) cannot put a
        # link in place of a directory, so for this one swap readers wait out two renames.
        old = store.parent / f".{store.name}.old-{uuid.uuid4().hex[:8]}"
        store.rename(old)
        os.replace(link, store)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(link, store)
    return gen


def wait_for_store(store: Path, seconds: float = 3.0) -> bool:
    """True once ``store`` exists; readers arriving mid-swap wait out the two renames."""
    deadline = time.monotonic() + seconds
    while not store.exists():
        if not _siblings(store, "old") or time.monotonic() > deadline:
            return store.exists()
        time.sleep(0.05)
    return True
