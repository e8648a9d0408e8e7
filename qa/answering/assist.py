"""Short model calls that help retrieval rather than write the answer: reordering the fused
candidates, and rewriting a follow-up as a standalone question. Each returns None with a note
on any failure, and the caller goes on without it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from qa.answering.checks import MalformedOutput, parse_ranking
from qa.answering.prompt import RANKING_SCHEMA, rerank_messages
from qa.followup import dropped_words
from qa.text import shorten
from qa.types import Passage

CONDENSE_PROMPT = """\
Rewrite the user's last question so that it can be understood without the conversation: \
replace pronouns and ellipsis with what they refer to in the earlier questions. Keep the \
user's words otherwise, keep any exhibit number, and add nothing the user did not ask. \
Reply with the rewritten question only, on one line."""


def condense_messages(question: str, earlier: Sequence[str]) -> list[dict[str, str]]:
    """Chat messages asking for ``question`` as a standalone question after ``earlier``."""
    turns = "\n".join(f"Earlier question: {q}" for q in earlier[-3:])
    return [
        {"role": "system", "content": CONDENSE_PROMPT},
        {"role": "user", "content": f"{turns}\nLast question: {question}\n\nStandalone question:"},
    ]


def condense(client: Any, model: str, question: str, earlier: Sequence[str]) -> tuple[str | None, list[str]]:
    """``question`` rewritten by the model to stand alone, or None (with a note) on failure or
    on a reply that is not one question."""
    import openai

    try:
        done = client.chat.completions.create(
            model=model,
            messages=condense_messages(question, earlier),
            temperature=0,
            max_tokens=80,
        )
        raw = (done.choices[0].message.content or "") if done.choices else ""
    except openai.APIError as e:
        return None, [f"follow-up not rewritten by the model: {shorten(str(e))}"]
    line = re.sub(
        r"^(?:standalone question|question)\s*:\s*",
        "",
        raw.strip().splitlines()[0] if raw.strip() else "",
        flags=re.I,
    )
    line = line.strip().strip('"\u201c\u201d')
    # A rewrite far longer than the conversation it comes from is not a rewrite.
    if not line or len(line) > 2 * (len(question) + sum(map(len, earlier[-1:]))) + 40:
        return None, ["follow-up not rewritten by the model: its reply was not a question"]
    if lost := dropped_words(question, line):
        return None, [
            f"follow-up not rewritten by the model: its rewrite ({shorten(line)}) left out "
            + ", ".join(f"“{w}”" for w in lost)
        ]
    return line, []


def rerank(
    client: Any,
    model: str,
    question: str,
    passages: Sequence[Passage],
    k: int,
    *,
    json_mode: bool,
    schema: bool,
) -> tuple[list[Passage] | None, list[str]]:
    """``passages`` reordered by the model (those it ranks first, then the rest in fused
    order), cut to ``k``; on any failure None, with a note saying why."""
    import openai

    kwargs: dict[str, Any] = {
        "model": model,
        "messages": list(rerank_messages(question, passages)),
        "temperature": 0,
        "max_tokens": 24 + 10 * len(passages),
    }
    if json_mode:
        kwargs["response_format"] = {"type": "json_object"}
        if schema:
            kwargs["response_format"]["schema"] = RANKING_SCHEMA
    try:
        done = client.chat.completions.create(**kwargs)
        raw = (done.choices[0].message.content or "") if done.choices else ""
        order = parse_ranking(raw)
    except (openai.APIError, MalformedOutput) as e:
        return None, [f"rerank skipped: {shorten(str(e))}"]
    by_key = {(p.paragraph.exhibit, p.paragraph.number): p for p in passages}
    first = [by_key[key] for key in dict.fromkeys(order) if key in by_key]
    rest = [p for p in passages if p not in first]
    return (first + rest)[:k], [f"reranked {len(passages)} candidates"]
