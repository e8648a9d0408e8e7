"""Notebook and async use: ``aask`` for callers inside an event loop, ``ask_many`` for tables.

``ask`` itself is synchronous all the way down (LlamaIndex retrievers with ``use_async=False``,
the synchronous openai client), so it never calls ``asyncio.run`` and works inside Jupyter's
running loop as is. ``aask`` runs it in a worker thread so that an async caller's loop keeps
serving while a question is answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from qa.api import ask
from qa.settings import Settings
from qa.types import Answer

COLUMNS = ["question", "answer", "refused", "cites", "quotes", "mode", "ms"]


async def aask(
    question: str,
    *,
    exhibits: list[int] | None = None,
    k: int | None = None,
    mode: str | None = None,
    settings: Settings | None = None,
) -> Answer:
    """``ask`` for async code: awaits the answer without blocking the event loop."""
    return await asyncio.to_thread(ask, question, exhibits=exhibits, k=k, mode=mode, settings=settings)


def ask_many(
    questions: Iterable[str],
    *,
    exhibits: list[int] | None = None,
    k: int | None = None,
    mode: str | None = None,
    settings: Settings | None = None,
    progress: bool = True,
) -> Any:
    """Answer each question (models and index loaded once) into a pandas DataFrame with one row
    per question: question, answer, refused, cites ("[Ex. 61 ¶ 145]; …"), quotes, mode, ms."""
    import pandas as pd
    from tqdm.auto import tqdm

    questions = list(questions)
    rows = []
    for q in tqdm(questions, desc="asking", unit="question", disable=not progress):
        a = ask(q, exhibits=exhibits, k=k, mode=mode, settings=settings)
        rows.append(
            {
                "question": a.question,
                "answer": a.text,
                "refused": a.refused,
                "cites": "; ".join(dict.fromkeys(c.render() for c in a.citations)),
                "quotes": " | ".join(c.quote for c in a.citations),
                "mode": a.mode,
                "ms": round(a.timings_ms.get("total", 0.0)),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
