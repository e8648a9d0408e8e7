"""A second opinion from a language model on an extractive answer (``extractive+check``).

The scorer is fast but reads words, not meaning: a question that swaps a year or a name for
one the record uses elsewhere can still look answered. So the best few candidate sentences
go to the model with one instruction: copy the exact words that answer the question, or say
NONE. Its reply is trusted only where it can be checked: a copy that is verbatim in one of
the candidates makes that sentence the answer; NONE, or words found in none of them, make
a refusal. The model never writes the answer, so it cannot put words in the record's mouth.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from qa.answering.base import REFUSAL, Draft, Toolkit
from qa.answering.checks import MalformedOutput, json_object
from qa.answering.extractive import ExtractiveAnswerer, Judgement
from qa.cites import normalize
from qa.settings import Settings
from qa.text import shorten
from qa.types import Citation, Passage

log = logging.getLogger(__name__)

CHECK_CANDIDATES = 3  # sentences shown to the model: the scorer's best few
_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}


def check_messages(question: str, sentences: Sequence[str]) -> list[dict[str, str]]:
    """The chat messages asking the model to copy the answering words or say NONE."""
    listed = "\n".join(f"[{i}] {s}" for i, s in enumerate(sentences, 1))
    return [
        {
            "role": "system",
            "content": "You check whether passages answer a question. You reply with JSON only.",
        },
        {
            "role": "user",
            "content": (
                f"Question: {question}\n\nPassages:\n{listed}\n\n"
                "If one passage states the answer, copy the words of that passage that answer the "
                "question, exactly as written. If none states it (for example, the passages are "
                "about a different year, person, place, thing or event than the question asks "
                'about), the answer is NONE.\nReply as JSON: {"answer": "<copied words or NONE>"}'
            ),
        },
    ]


def read_reply(raw: str, sentences: Sequence[str]) -> tuple[int | None, str]:
    """Which sentence the reply's copied words come from (None: refused), and what it said."""
    try:
        data = json_object(raw, "reply")
    except MalformedOutput:
        data = {"answer": raw}
    said = str(data.get("answer", "")).strip() if isinstance(data, dict) else str(data)
    copied = normalize(said).strip(" .\"'\u201c\u201d")
    if not copied or copied.upper().startswith("NONE"):
        return None, "NONE"
    for i, s in enumerate(sentences):
        if copied.lower() in normalize(s).lower():
            return i, said
    return None, said


class CheckedAnswerer:
    """The extractive answer, kept only when the model can point to the words that answer."""

    name = "extractive+check"

    def __init__(self, settings: Settings, client: Any, model: str, *, schema: bool = True):
        self.settings = settings
        self.extractive = ExtractiveAnswerer(settings)
        self.client = client
        self.model = model
        self.schema = schema

    def answer(self, question: str, passages: Sequence[Passage], tools: Toolkit) -> Draft:
        judged = self.extractive.judge(question, passages, tools)
        draft = self.extractive.answer(question, passages, tools, judged=judged)
        if draft.refused:
            return draft  # the scorer already refuses: no need to ask
        return self.second_opinion(question, judged, draft)

    def second_opinion(self, question: str, judged: Judgement, draft: Draft) -> Draft:
        shown = [s.candidate for s in judged.ranked[:CHECK_CANDIDATES]]
        try:
            raw = self._ask(check_messages(question, [c.sentence for c in shown]))
        except Exception as e:  # noqa: BLE001 - any failure of the model leaves the scorer's answer
            log.warning("second opinion failed: %s", e)
            return Draft(
                draft.text,
                draft.citations,
                draft.refused,
                notes=(
                    *draft.notes,
                    f"second opinion unavailable ({shorten(str(e))}); scorer's answer shown",
                ),
                support=draft.support,
            )
        pick, said = read_reply(raw, [c.sentence for c in shown])
        if pick is None:
            why = (
                "the checking model found no candidate that answers"
                if said == "NONE"
                else f"the checking model's words are in no candidate: {shorten(said, 80)!r}"
            )
            return Draft(REFUSAL, (), True, notes=(why,), support=draft.support)
        c = shown[pick]
        para = c.passage.paragraph
        cite = Citation(para.exhibit, para.number, c.sentence, original=para.lang == "zh")
        note = f"checked by {self.model}: the answer is in {cite.render()}"
        if any(d.quote == c.sentence for d in draft.citations):
            return Draft(
                draft.text, draft.citations, False, notes=(*draft.notes, note), support=draft.support
            )
        # The model found the answer in a runner-up: that sentence is quoted instead.
        return Draft(
            f"\u201c{cite.quote}\u201d {cite.render()}", (cite,), False, notes=(note,), support=draft.support
        )

    def _ask(self, messages: list[dict[str, str]]) -> str:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": 120,
            "response_format": {"type": "json_object", **({"schema": _SCHEMA} if self.schema else {})},
        }
        done = self.client.chat.completions.create(**kwargs)
        return (done.choices[0].message.content or "") if done.choices else ""


def for_settings(settings: Settings) -> CheckedAnswerer:
    """The second opinion from the model ``settings.second_opinion_from`` names: the packaged
    local model (started on demand) or the configured OpenAI-compatible endpoint."""
    import openai

    if settings.second_opinion_from == "openai":
        from qa.answering.llm import LLMAnswerer

        endpoint = LLMAnswerer.for_endpoint(settings)  # says what to set when nothing is
        return CheckedAnswerer(settings, endpoint.client, endpoint.model, schema=False)
    from qa.answering.local import ensure_server

    server = ensure_server(settings)
    client = openai.OpenAI(
        base_url=server.base_url, api_key="local", timeout=settings.llm_timeout, max_retries=1
    )
    return CheckedAnswerer(settings, client, server.model)
