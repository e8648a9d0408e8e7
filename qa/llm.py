"""The LLM answerer: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp) through
the ``openai`` client, streaming at temperature 0; its answer is verified sentence by sentence.

Whatever goes wrong with the model (endpoint down, timeout, 429/5xx after retries, malformed or
truncated output) the user still gets the extractive answer, with a note saying why.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

from qa.answerers import REFUSAL, Draft, Toolkit, evidence
from qa.checks import (
    MalformedOutput,
    OutputSentence,
    check_sentence,
    complete_sentences,
    parse_output,
    parse_ranking,
)
from qa.extractive import ExtractiveAnswerer
from qa.prompt import RANKING_SCHEMA, build_prompt, estimate_tokens, output_schema, rerank_messages
from qa.settings import Settings
from qa.types import Citation, Dropped, Passage, Usage

log = logging.getLogger(__name__)


class LLMFailure(RuntimeError):
    """The endpoint gave no usable reply; the message says why, for the user's note."""


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
    ):
        import openai  # imported here so extractive mode never pays for it

        self.settings = settings
        self.name = name
        self.model = model
        self.json_mode = json_mode
        self.schema = schema
        # The client retries 408/409/429/5xx and connection errors with exponential backoff.
        self.client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_retries,
        )
        self.fallback = ExtractiveAnswerer(settings)

    @classmethod
    def for_endpoint(cls, settings: Settings) -> LLMAnswerer:
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
        )

    @classmethod
    def for_local(cls, settings: Settings, server: Any) -> LLMAnswerer:
        # llama.cpp takes a JSON Schema inside json_object mode (OpenAI itself would reject it).
        return cls(
            settings, name="local", base_url=server.base_url, api_key="local", model=server.model, schema=True
        )

    def answer(self, question: str, passages: Sequence[Passage], tools: Toolkit) -> Draft:
        draft = Draft("", (), True)
        for item in self.stream(question, passages, tools):
            if isinstance(item, Draft):
                draft = item
        return draft

    def stream(self, question: str, passages: Sequence[Passage], tools: Toolkit) -> Iterator[str | Draft]:
        """The verified answer text so far, each time a sentence passes verification while the
        model writes, then the final ``Draft`` (always last)."""
        if not passages:
            yield Draft(REFUSAL, (), True, notes=("nothing was retrieved",))
            return
        prompt = build_prompt(
            question,
            passages,
            tools.paragraphs,
            context_tokens=self.settings.llm_context_tokens,
            answer_tokens=self.settings.llm_max_tokens,
            max_sentences=self.settings.max_answer_sentences,
        )
        notes: list[str] = []
        if prompt.trimmed:
            notes.append(f"{prompt.trimmed} retrieved passage(s) left out to fit the model's context")
        sources = evidence(passages, tools.paragraphs)
        shown = {(p.exhibit, p.number) for p in prompt.shown}
        sources = {k: v for k, v in sources.items() if k in shown}
        kept_text: list[str] = []
        citations: list[Citation] = []
        dropped: list[Dropped] = []
        limit = self.settings.max_answer_sentences + 2
        done = 0  # sentences of the reply checked so far

        def check(sentences: Sequence[OutputSentence]) -> bool:
            """Verify ``sentences``; True when one was kept (the visible answer grew)."""
            grew = False
            for sentence in sentences:
                checked = check_sentence(sentence, sources)
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
        generation = self._generate(prompt.messages, chunks.append)
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
            yield self._fall_back(question, passages, tools, f"{self.name} answer unavailable: {e}")
            return
        if usage is None:
            usage = Usage(
                sum(estimate_tokens(m["content"]) for m in prompt.messages),
                estimate_tokens("".join(chunks)),
                self.model,
                estimated=True,
            )
        check(output.sentences[done:limit])
        if not kept_text:
            why = (
                "the model found no answer in the sources"
                if not output.sentences
                else "no sentence survived verification"
            )
            yield Draft(REFUSAL, (), True, notes=(*notes, why), dropped=tuple(dropped), usage=usage)
            return
        if dropped:
            notes.append(f"{len(dropped)} unsupported sentence(s) removed")
        yield Draft(
            " ".join(kept_text),
            tuple(citations),
            False,
            notes=tuple(notes),
            dropped=tuple(dropped),
            usage=usage,
        )

    def _generate(
        self, messages: Sequence[dict[str, str]], sink: Callable[[str], None]
    ) -> Generator[str, None, Usage | None]:
        """Stream one completion into ``sink``; returns the usage if the endpoint reported it."""
        import httpx
        import openai

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
                kwargs["response_format"]["schema"] = output_schema(self.settings.max_answer_sentences)
        usage: Usage | None = None
        finish: str | None = None
        received = False
        try:
            if not self.settings.llm_stream:
                done = self.client.chat.completions.create(**kwargs)
                text = (done.choices[0].message.content or "") if done.choices else ""
                sink(text)
                yield text
                finish = done.choices[0].finish_reason if done.choices else None
                if done.usage is not None:
                    usage = Usage(done.usage.prompt_tokens, done.usage.completion_tokens, self.model)
                stream: Any = ()
            else:
                stream = self.client.chat.completions.create(**kwargs)
            for chunk in stream:
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens, self.model)
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        received = True
                        sink(choice.delta.content)
                        yield choice.delta.content
                    if choice.finish_reason:
                        finish = choice.finish_reason
        except openai.APITimeoutError as e:
            raise LLMFailure(f"no reply within {self.settings.llm_timeout:g} s") from e
        except openai.APIConnectionError as e:
            if received:
                raise LLMFailure(f"the reply broke off ({_short(str(e.__cause__ or e))})") from e
            raise LLMFailure(f"cannot reach {self.client.base_url} ({e.__cause__ or e})") from e
        except openai.APIStatusError as e:
            raise LLMFailure(f"the endpoint answered HTTP {e.status_code}: {_short(e.message)}") from e
        except (openai.APIError, httpx.HTTPError) as e:
            raise LLMFailure(f"the reply broke off ({_short(str(e))})") from e
        if finish == "length":
            raise LLMFailure(f"the reply was cut off at {self.settings.llm_max_tokens} tokens")
        if finish is None:
            raise LLMFailure("the reply stream ended before the model finished")
        return usage

    def rerank(
        self, question: str, passages: Sequence[Passage], k: int
    ) -> tuple[list[Passage] | None, list[str]]:
        """``passages`` reordered by the model (those it ranks first, then the rest in fused
        order), cut to ``k``; on any failure None, with a note saying why."""
        import openai

        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": list(rerank_messages(question, passages)),
            "temperature": 0,
            "max_tokens": 24 + 10 * len(passages),
        }
        if self.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
            if self.schema:
                kwargs["response_format"]["schema"] = RANKING_SCHEMA
        try:
            done = self.client.chat.completions.create(**kwargs)
            raw = (done.choices[0].message.content or "") if done.choices else ""
            order = parse_ranking(raw)
        except (openai.APIError, MalformedOutput) as e:
            return None, [f"rerank skipped: {_short(str(e))}"]
        by_key = {(p.paragraph.exhibit, p.paragraph.number): p for p in passages}
        first = [by_key[key] for key in dict.fromkeys(order) if key in by_key]
        rest = [p for p in passages if p not in first]
        return (first + rest)[:k], [f"reranked {len(passages)} candidates by {self.name}"]

    def _fall_back(self, question: str, passages: Sequence[Passage], tools: Toolkit, why: str) -> Draft:
        log.warning("%s; falling back to the extractive answer", why)
        d = self.fallback.answer(question, passages, tools)
        return Draft(
            d.text,
            d.citations,
            d.refused,
            notes=(f"{why}; showing the extractive answer", *d.notes),
            support=d.support,
            answered_by="extractive",
        )


_INLINE_KEY_RE = re.compile(r"\s*\[\s*\d{1,5}\s*\.\s*\d{1,5}\s*(?:[,;]\s*\d{1,5}\s*\.\s*\d{1,5}\s*)*\]")


def _with_cites(text: str, citations: Sequence[Citation]) -> str:
    # Models often echo the source keys inline as well; the rendered pin cites replace them.
    body = _INLINE_KEY_RE.sub("", text).rstrip()
    end = ""
    if body and body[-1] in ".!?":
        body, end = body[:-1], body[-1]
    return f"{body} {' '.join(c.render() for c in citations)}{end}"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
