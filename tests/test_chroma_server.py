"""Server mode: the index's vectors in a real `chroma run` server on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.store import build, read_manifest
from index.vectors import VectorHome
from qa.errors import ConfigError
from qa.settings import Settings
from tests.conftest import SAMPLE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("chroma server did not start")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_index_and_answer_through_a_chroma_server(
    chroma_url: str, sample_settings: Settings, tmp_path: Path
) -> None:
    from qa.api import ask, reset

    settings = Settings(store=tmp_path / "store", chroma_url=chroma_url)
    report = build([SAMPLE], settings, reuse_from=[sample_settings.store])  # vectors lent, not re-embedded
    assert report.paragraphs > 1000 and report.reused_vectors == report.vectors
    manifest = read_manifest(settings.store)
    assert manifest is not None
    home = VectorHome.of(manifest)
    assert home.url == chroma_url and home.collection.startswith("exhibitqa-")
    assert not (Path(settings.store) / "chroma").exists()  # the vectors live on the server

    answer = ask("When did China become a member of the WTO?", settings=settings)
    assert not answer.refused and "December 11, 2001" in answer.text

    client = home.client(settings.store)
    assert client.get_collection(home.collection).count() == report.vectors
    build([SAMPLE], settings, rebuild=True, reuse_from=[sample_settings.store])
    new_home = VectorHome.of(read_manifest(settings.store) or {})
    names = {c.name for c in client.list_collections()}
    # The process's open retriever still answers from the old generation, so it stays ...
    assert new_home.collection in names and home.collection in names
    reset()  # ... until nobody reads it: the next build drops it
    build([SAMPLE], settings, rebuild=True, reuse_from=[sample_settings.store])
    names = {c.name for c in client.list_collections()}
    assert VectorHome.of(read_manifest(settings.store) or {}).collection in names
    assert home.collection not in names and new_home.collection not in names


def test_server_down_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    settings = Settings(store=tmp_path / "store", chroma_url=url)
    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / "Exhibit 1.txt").write_text("Some text to index.", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"Cannot reach the Chroma server at {url}"):
        build([tmp_path / "rec"], settings)
    assert not (tmp_path / "store").exists()
    assert not list(tmp_path.glob(".store.building-*"))


def test_a_server_lost_mid_session_is_explained_and_recovered(
    sample_settings: Settings, tmp_path: Path
) -> None:
    from qa.api import ask

    port = _free_port()
    data = tmp_path / "server-data"
    chroma = Path(sys.executable).parent / "chroma"
    url = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
                return proc
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "chroma server did not start"
                time.sleep(0.3)

    settings = Settings(store=tmp_path / "store", chroma_url=url)
    server = start()
    try:
        build([SAMPLE], settings, reuse_from=[sample_settings.store])
        assert (
            "December 11, 2001" in ask("When did China become a member of the WTO?", settings=settings).text
        )
        server.terminate()
        server.wait(timeout=30)
        with pytest.raises(ConfigError, match=f"Lost the Chroma server at {url}.*next question reconnects"):
            ask("When did China become a member of the WTO?", settings=settings)
        server = start()  # the same server comes back with its data
        answer = ask("When did China become a member of the WTO?", settings=settings)
        assert "December 11, 2001" in answer.text
    finally:
        server.terminate()
        server.wait(timeout=30)
