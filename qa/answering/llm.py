"""The LLM answerer: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp) through
the ``openai`` client, streaming at temperature 0; its answer is verified sentence by sentence.

Whatever goes wrong with the model (endpoint down, timeout, 429/5xx after retries, malformed or
truncated output) the user still gets the extractive answer, with a note saying why.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace
from typing import Any

from qa.answering import assist, compose, endpoint
from qa.answering.base import REFUSAL, Answerer, Draft, Toolkit, evidence
from qa.answering.checks import (
    MalformedOutput,
    OutputSentence,
    check_sentence,
    complete_sentences,
    parse_output,
)
from qa.answering.endpoint import LLMFailure, redact
from qa.answering.extractive import ExtractiveAnswerer
from qa.answering.features import Candidate
from qa.answering.prompt import build_prompt, estimate_tokens, output_schema
from qa.settings import Settings
from qa.types import Citation, Dropped, Passage, Usage

log = logging.getLogger(__name__)


class LLMAnswerer:
    """Answers through an OpenAI-compatible chat endpoint, keeping only verified sentences."""

    def __init__(
        self,
        settings: Settings,
        *,
        name: str,
        base_url: str | None,
        api_key: str,
        model: str,
        json_mode: bool = True,
        schema: bool = False,
        gate: Answerer | None = None,
    ):
        import openai  # imported here so extractive mode never pays for it

        self.settings = settings
        self.name = name
        self.model = model
        self.json_mode = json_mode
        self.schema = schema
        # Retries are ours (``_generate_retrying``), not the client's: the client would honour a
        # Retry-After of up to 60 s per attempt, past any time limit the user set.
        self.client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key,
            timeout=min(settings.llm_timeout, settings.llm_total_timeout),
            max_retries=0,
        )
        # The writing modes' evidence and fallback come from the feature scorer, the judge
        # their gates and prompts were fitted with.
        self.fallback = ExtractiveAnswerer(settings.model_copy(update={"judge": "scorer"}))
        # The second opinion (qa.answering.opinion), asked before the model writes: a question
        # it refuses is refused in seconds instead of after a long composition.
        self.gate = gate

    @classmethod
    def for_endpoint(cls, settings: Settings, gate: Answerer | None = None) -> LLMAnswerer:
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        if not key and not settings.llm_base_url:
            from qa.errors import ConfigError

            raise ConfigError(
                "openai mode needs an endpoint: set OPENAI_API_KEY for api.openai.com, or "
                "OPENAI_BASE_URL (or EXHIBITQA_LLM_BASE_URL) for a vLLM/Ollama/llama.cpp server, "
                "and EXHIBITQA_LLM_MODEL for the model name."
            )
        # Local servers accept any key; the client insists on one.
        return cls(
            settings,
            name="openai",
            base_url=settings.llm_base_url,
            api_key=key or "not-needed",
            model=settings.llm_model,
            gate=gate,
        )

    @classmethod
    def for_local(cls, settings: Settings, server: Any, gate: Answerer | None = None) -> LLMAnswerer:
        # llama.cpp takes a JSON Schema inside json_object mode (OpenAI itself would reject it).
        return cls(
            settings,
            name="local",
            base_url=server.base_url,
            api_key="local",
            model=server.model,
            schema=True,
            gate=gate,
        )

    def answer(self, question: str, passages: Sequence[Passage], tools: Toolkit) -> Draft:
        draft = Draft("", (), True)
        for item in self.stream(question, passages, tools):
            if isinstance(item, Draft):
                draft = item
        return draft

    def stream(self, question: str, passages: Sequence[Passage], tools: Toolkit) -> Iterator[str | Draft]:
        """The verified answer text so far (first the gate's checked extract, when a gate
        checked one; then the model's answer, each time a sentence of it passes verification),
        then the final ``Draft`` (always last)."""
        if not passages:
            yield Draft(REFUSAL, (), True, notes=("nothing was retrieved",))
            return
        notes: list[str] = []
        checked: Draft | None = None
        if self.gate is not None:
            checked = self.gate.answer(question, passages, tools)
            if checked.refused:
                yield replace(checked, answered_by=self.gate.name)
                return
            notes.extend(checked.notes)
            # The checked extract is verified already: it is on screen in seconds, while a
            # small local model still reads its prompt, and the model's first verified
            # sentence replaces it.
            yield checked.text
        messages, sources, evidence_used = self._prompt(question, passages, tools, notes)
        kept_text: list[str] = []
        citations: list[Citation] = []
        dropped: list[Dropped] = []
        limit = self.settings.max_answer_sentences + 2
        done = 0  # sentences of the reply checked so far

        def check(sentences: Sequence[OutputSentence]) -> bool:
            """Verify ``sentences``; True when one was kept (the visible answer grew)."""
            grew = False
            for sentence in sentences:
                if evidence_used is not None:
                    sentence = compose.resolve(
                        compose.with_figure_cites(sentence, evidence_used, question), evidence_used
                    )
                checked = check_sentence(sentence, sources, question)
                for key, why in checked.dropped_cites:
                    notes.append(
                        f"cite {key!r} {why}"
                        if why.startswith("re-pointed")
                        else f"dropped cite {key!r}: {why}"
                    )
                if checked.dropped is not None:
                    dropped.append(checked.dropped)
                    continue
                kept_text.append(_with_cites(checked.text, checked.citations))
                citations.extend(c for c in checked.citations if c not in citations)
                grew = True
            return grew

        chunks: list[str] = []
        generation = self._generate_retrying(
            messages, chunks.append, sentences_schema=evidence_used is not None
        )
        try:
            while True:
                try:
                    next(generation)
                except StopIteration as stop:
                    usage = stop.value
                    break
                # Stream verified sentences only: each is checked the moment it is complete.
                ready = complete_sentences("".join(chunks))[:limit]
                if len(ready) > done:
                    grew = check(ready[done:])
                    done = len(ready)
                    if grew:
                        yield " ".join(kept_text)
            output = parse_output("".join(chunks))
        except (LLMFailure, MalformedOutput) as e:
            yield self._fall_back(question, passages, tools, f"{self.name} answer unavailable: {e}", checked)
            return
        if usage is None:
            usage = Usage(
                sum(estimate_tokens(m["content"]) for m in messages),
                estimate_tokens("".join(chunks)),
                self.model,
                estimated=True,
            )
        check(output.sentences[done:limit])
        if not kept_text and not output.sentences:
            why = "the model found no answer in the sources"
            yield Draft(REFUSAL, (), True, notes=(*notes, why), dropped=tuple(dropped), usage=usage)
            return
        if not kept_text:
            # The model answered but cited nothing checkable: the verified extractive answer is
            # worth more than a refusal, and the note says what was wrong with the model's.
            reasons = sorted({d.reason for d in dropped})
            fallback = self._fall_back(
                question,
                passages,
                tools,
                f"no sentence of the {self.name} answer survived verification ({'; '.join(reasons)})",
                checked,
            )
            merged = tuple(dict.fromkeys((*notes, *fallback.notes)))  # the gate's note is in both
            yield replace(fallback, notes=merged, dropped=tuple(dropped), usage=usage)
            return
        if dropped:
            notes.append(f"{len(dropped)} unsupported sentence(s) removed")
        yield Draft(
            " ".join(kept_text),
            tuple(citations),
            False,
            notes=tuple(notes),
            support=checked.support if checked is not None else None,
            dropped=tuple(dropped),
            usage=usage,
        )

    def _prompt(
        self, question: str, passages: Sequence[Passage], tools: Toolkit, notes: list[str]
    ) -> tuple[tuple[dict[str, str], ...], dict[tuple[int, int], Any], list[Candidate] | None]:
        """The messages, the sources a sentence is checked against, and the numbered evidence
        sentences (None when the model reads whole paragraphs)."""
        if self.settings.llm_evidence == "sentences":
            chosen = self.fallback.evidence_sentences(
                question, passages, tools, self.settings.evidence_sentences
            )
            if chosen:
                messages = compose.evidence_messages(question, chosen, self.settings.max_answer_sentences)
                return messages, compose.evidence_sources(chosen), chosen
        prompt = build_prompt(
            question,
            passages,
            tools.paragraphs,
            context_tokens=self.settings.llm_context_tokens,
            answer_tokens=self.settings.llm_max_tokens,
            max_sentences=self.settings.max_answer_sentences,
        )
        if prompt.trimmed:
            notes.append(f"{prompt.trimmed} retrieved passage(s) left out to fit the model's context")
        sources = evidence(passages, tools.paragraphs)
        shown = {(p.exhibit, p.number) for p in prompt.shown}
        return prompt.messages, {k: v for k, v in sources.items() if k in shown}, None

    def _generate_retrying(
        self,
        messages: Sequence[dict[str, str]],
        sink: Callable[[str], None],
        sentences_schema: bool = False,
    ) -> Generator[str, None, Usage | None]:
        """``_generate``, asked again (at most ``llm_retries`` times) on 429, 5xx and lost
        connections before any text arrived, all within ``llm_total_timeout``."""
        deadline = time.monotonic() + self.settings.llm_total_timeout
        received: list[str] = []

        def both(text: str) -> None:
            received.append(text)
            sink(text)

        for attempt in range(self.settings.llm_retries + 1):
            try:
                return (yield from self._generate(messages, both, deadline, sentences_schema))
            except LLMFailure as e:
                if received or not e.retryable or attempt == self.settings.llm_retries:
                    raise
                wait = e.retry_after if e.retry_after is not None else 0.5 * 2**attempt
                if time.monotonic() + wait > deadline:
                    raise LLMFailure(
                        f"{e}; waiting {wait:g} s to retry would pass the "
                        f"{self.settings.llm_total_timeout:g} s limit (EXHIBITQA_LLM_TOTAL_TIMEOUT)"
                    ) from e
                log.info("%s; retrying in %.1f s", e, wait)
                time.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _generate(
        self,
        messages: Sequence[dict[str, str]],
        sink: Callable[[str], None],
        deadline: float,
        sentences_schema: bool = False,
    ) -> Generator[str, None, Usage | None]:
        """Stream one completion into ``sink``; returns the usage if the endpoint reported it."""
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "temperature": 0,
            "max_tokens": self.settings.llm_max_tokens,
        }
        if self.settings.llm_stream:
            kwargs.update(stream=True, stream_options={"include_usage": True})
        if self.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
            if self.schema:
                n = self.settings.max_answer_sentences
                schema = compose.evidence_schema(n) if sentences_schema else output_schema(n)
                kwargs["response_format"]["schema"] = schema
        return (
            yield from endpoint.complete(
                self.client,
                kwargs,
                sink,
                deadline,
                total_timeout=self.settings.llm_total_timeout,
                max_tokens=self.settings.llm_max_tokens,
            )
        )

    def rerank(
        self, question: str, passages: Sequence[Passage], k: int
    ) -> tuple[list[Passage] | None, list[str]]:
        """``passages`` reordered by the model and cut to ``k`` (None on failure, with a note)."""
        out, notes = assist.rerank(
            self.client, self.model, question, passages, k, json_mode=self.json_mode, schema=self.schema
        )
        return out, [f"{n} by {self.name}" if n.startswith("reranked") else n for n in notes]

    def condense(self, question: str, earlier: Sequence[str]) -> tuple[str | None, list[str]]:
        """A follow-up rewritten by the model as a standalone question (None on failure)."""
        return assist.condense(self.client, self.model, question, earlier)

    def _fall_back(
        self,
        question: str,
        passages: Sequence[Passage],
        tools: Toolkit,
        why: str,
        checked: Draft | None = None,
    ) -> Draft:
        """The extractive answer (the gate's, when it already checked one), noting ``why``."""
        why = redact(why, self.client.api_key)
        log.warning("%s; falling back to the extractive answer", why)
        d = checked or self.fallback.answer(question, passages, tools)
        return Draft(
            d.text,
            d.citations,
            d.refused,
            notes=(f"{why}; showing the extractive answer", *d.notes),
            support=d.support,
            answered_by="extractive+check" if checked is not None else "extractive",
        )


_INLINE_KEY_RE = re.compile(r"\s*\[\s*\d{1,5}\s*\.\s*\d{1,5}\s*(?:[,;]\s*\d{1,5}\s*\.\s*\d{1,5}\s*)*\]")


def _with_cites(text: str, citations: Sequence[Citation]) -> str:
    # Models often echo the source keys inline as well; the rendered pin cites replace them.
    body = _INLINE_KEY_RE.sub("", text).rstrip()
    end = ""
    if body and body[-1] in ".!?":
        body, end = body[:-1], body[-1]
    return f"{body} {' '.join(c.render() for c in citations)}{end}"
