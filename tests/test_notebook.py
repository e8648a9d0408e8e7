"""Notebooks: the example notebook run top to bottom by a real Jupyter kernel, and ``ask`` from
inside a running event loop."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from qa import aask, ask, ask_many
from qa.settings import Settings
from tests.conftest import ROOT

NOTEBOOK = ROOT / "examples" / "ask_the_record.ipynb"
WTO = "When did China become a member of the WTO?"


def _outputs(nb: Any, tag: str) -> str:
    """Every text the cell tagged ``tag`` displayed (Markdown, HTML, plain text, stdout)."""
    cell = next(c for c in nb.cells if tag in c.metadata.get("tags", []))
    parts = []
    for out in cell.outputs:
        parts.append(out.get("text", ""))
        for mime in ("text/markdown", "text/html", "text/plain"):
            parts.append(str(out.get("data", {}).get(mime, "")))
    return "\n".join(parts)


def test_the_example_notebook_runs_top_to_bottom_in_a_real_kernel(
    sample_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("EXHIBITQA_STORE", str(sample_settings.store))  # the kernel inherits it
    nb = nbformat.read(NOTEBOOK, as_version=4)
    t0 = time.monotonic()
    # Any cell that raises fails the run (CellExecutionError).
    NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    seconds = time.monotonic() - t0

    answer = _outputs(nb, "answer")
    assert "[Ex. 61 \u00b6 145]" in answer and "December 11, 2001" in answer  # rendered as Markdown
    assert "True" in _outputs(nb, "cites")
    passages = _outputs(nb, "passages")
    assert all(col in passages for col in ("exhibit", "paragraph", "score", "cited", "text"))
    assert "[Ex. 64 \u00b6" in _outputs(nb, "restricted")
    assert "do not answer" in _outputs(nb, "refusal")
    batch = _outputs(nb, "batch")
    assert all(col in batch for col in ("question", "refused", "cites")) and "[Ex. 68 \u00b6 5]" in batch
    assert "answer accuracy" in _outputs(nb, "eval")
    out = ROOT / "build" / "test-artifacts"
    out.mkdir(parents=True, exist_ok=True)
    (out / "notebook.json").write_text(json.dumps({"seconds": round(seconds, 1)}))
    nbformat.write(nb, out / "ask_the_record.executed.ipynb")


def test_ask_works_inside_a_running_event_loop(sample_settings: Settings) -> None:
    async def main() -> tuple[Any, ...]:
        asyncio.get_running_loop()  # as in Jupyter: a loop is running while we ask
        plain = ask(WTO, settings=sample_settings)
        together = await asyncio.gather(
            aask(WTO, settings=sample_settings),
            aask(
                "How much higher was the price of ship plates in China than in South Korea?",
                settings=sample_settings,
            ),
        )
        return (plain, *together)

    plain, first, second = asyncio.run(main())
    assert "December 11, 2001" in plain.text and first.citations == plain.citations
    assert second.citations and second.citations[0].exhibit == 68


def test_aask_leaves_the_loop_free_while_it_answers(sample_settings: Settings) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def main() -> None:
        beat = asyncio.create_task(ticker())
        await aask(
            "What share of total crude steel output should electric furnace steel reach by 2025?",
            settings=sample_settings,
        )
        beat.cancel()

    asyncio.run(main())
    assert ticks >= 3  # the loop ran other tasks during the answer


def test_ask_many_gives_a_table_and_passages_a_frame(sample_settings: Settings) -> None:
    table = ask_many(
        [WTO, "What was the price of gold in London in 1850?"], settings=sample_settings, progress=False
    )
    assert list(table.columns) == ["question", "answer", "refused", "cites", "quotes", "mode", "ms"]
    assert table.loc[0, "cites"] == "[Ex. 61 \u00b6 145]" and not table.loc[0, "refused"]  # once each
    assert table.loc[1, "refused"] and table.loc[1, "cites"] == ""
    frame = ask(WTO, settings=sample_settings).passages_frame()
    assert list(frame.columns) == ["exhibit", "paragraph", "page", "score", "cited", "text"]
    assert frame["cited"].any() and len(frame) == sample_settings.k


def test_a_notebook_switches_records_without_restarting(sample_settings: Settings, tmp_path: Path) -> None:
    from index.store import build
    from qa import reset
    from tests.conftest import write

    write(tmp_path / "rec" / "Exhibit 3.txt", "Harbour Notice\n\nThe harbour had 17 cranes in 2018.\n")
    other = Settings(store=tmp_path / "store")
    build([tmp_path / "rec"], other)
    assert ask(WTO, settings=sample_settings).citations[0].exhibit == 61
    assert ask("How many cranes did the harbour have?", settings=other).citations[0].exhibit == 3
    reset()  # forget both; the next questions load again
    assert ask(WTO, settings=sample_settings).citations[0].exhibit == 61
