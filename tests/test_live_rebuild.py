"""A long-lived process keeps answering, correctly, while other processes rebuild its index.

These reproduce what a lawyer does all day: a notebook or the app stays open while a terminal
re-indexes the record. Before generations had paths of their own (index.atomic), the second
rebuild made by another process broke every later question in the open process.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from index.atomic import current
from index.store import build, load_paragraphs
from qa.api import ask, get_retriever
from qa.settings import Settings
from tests.conftest import ROOT, write

QUESTION = "How many ships did the port of Tianjin handle in 2019?"


def _fact(n: int) -> str:
    return f"EXHIBIT 1\n\nPort Notice\n\nThe port of Tianjin handled {n} ships in 2019.\n"


def _index_in_another_process(src: Path, store: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qa.cli", "index", str(src), "--store", str(store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Indexed 2 exhibits" in done.stdout, done.stdout


def test_an_open_process_answers_every_round_while_another_process_rebuilds(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "Exhibit 1.txt", _fact(100))
    write(
        src / "Exhibit 2.txt", "EXHIBIT 2\n\nRail Notice\n\nThe Harbin rail yard loaded 70 trains in 2020.\n"
    )
    settings = Settings(store=tmp_path / "store")
    build([src], settings)
    assert "100 ships" in ask(QUESTION, settings=settings).text
    generations = set()
    for round_ in range(1, 11):
        ships = 100 + 17 * round_
        write(src / "Exhibit 1.txt", _fact(ships))
        _index_in_another_process(src, settings.store)
        answer = ask(QUESTION, settings=settings)  # the same process, its caches warm
        assert not answer.refused, (round_, answer.text, answer.notes)
        assert f"{ships} ships" in answer.text, (round_, answer.text)
        # Every cite exists in the generation that answered, and quotes what it says now.
        now = {(p.exhibit, p.number): p.text for p in load_paragraphs(settings.store)}
        assert answer.citations
        for c in answer.citations:
            assert c.quote in now[(c.exhibit, c.paragraph)], (round_, c)
        generations.add(get_retriever(settings).generation.name)
    assert len(generations) == 10  # each round was answered from the generation it wrote
    # Replaced generations are deleted once nobody reads them: at most the one just replaced,
    # which this process held until its last question, is left beside the current one.
    left = sorted(tmp_path.glob(".store.gen-*"))
    assert current(settings.store) in left and len(left) <= 2, left


def test_a_retriever_held_across_rebuilds_keeps_answering_from_its_generation(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "Exhibit 1.txt", _fact(500))
    settings = Settings(store=tmp_path / "store")
    build([src], settings)
    held = get_retriever(settings)
    assert "500 ships" in held.search("ships in Tianjin", k=1)[0].paragraph.text
    for ships in (300, 200):  # two rebuilds: the second is the one that used to break it
        write(src / "Exhibit 1.txt", _fact(ships))
        build([src], settings)
        fresh = get_retriever(settings)
        assert fresh is not held
        assert f"{ships} ships" in fresh.search("ships in Tianjin", k=1)[0].paragraph.text
    # The held retriever still reads its own generation, whole: paragraphs, BM25 and Chroma.
    hits = held.search("ships in Tianjin", k=1)
    assert "500 ships" in hits[0].paragraph.text
    assert held.closeness("ships in Tianjin", [(1, 2)])[0] > 0.5
    kept = held.generation
    assert kept.exists() and kept != current(settings.store)
    held.close()
    write(src / "Exhibit 1.txt", _fact(250))
    build([src], settings)  # the next build deletes the generation nobody holds any more
    assert not kept.exists()


def test_the_evidence_shown_with_an_answer_comes_from_the_answers_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild that lands between the answer and the evidence panel must not put the new text
    of the cited paragraph under the old quote."""
    import qa.events
    from qa.events import CitedParagraph, Done, ask_events

    src = tmp_path / "src"
    write(src / "Exhibit 1.txt", _fact(640))
    settings = Settings(store=tmp_path / "store")
    build([src], settings)
    real = qa.events.ask_stream

    def rebuilt_right_after_answering(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from real(*args, **kwargs)
        write(src / "Exhibit 1.txt", _fact(720))
        build([src], settings)  # lands before the evidence panel is filled

    monkeypatch.setattr(qa.events, "ask_stream", rebuilt_right_after_answering)
    events = list(ask_events(QUESTION, settings=settings))
    done = next(e for e in events if isinstance(e, Done))
    shown = [e for e in events if isinstance(e, CitedParagraph)]
    assert "640 ships" in done.answer.text and shown
    for e in shown:
        assert e.citation.quote in e.paragraph.text and "640 ships" in e.paragraph.text
    assert "720 ships" in ask(QUESTION, settings=settings).text  # the next question sees the rebuild
