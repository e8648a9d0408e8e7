"""One completion from an OpenAI-compatible endpoint, streamed, with every way it can fail
turned into an ``LLMFailure`` whose message is fit for the user's note."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator
from typing import Any

from qa.text import shorten
from qa.types import Usage


class LLMFailure(RuntimeError):
    """The endpoint gave no usable reply; the message says why, for the user's note."""

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


# Statuses worth asking again (as the openai client would); 401/403/404/400 never are.
_RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}


def complete(
    client: Any,
    kwargs: dict[str, Any],
    sink: Callable[[str], None],
    deadline: float,
    *,
    total_timeout: float,
    max_tokens: int,
) -> Generator[str, None, Usage | None]:
    """Stream the completion ``kwargs`` asks for into ``sink`` (yielding each piece too);
    returns the usage if the endpoint reported it."""
    import httpx
    import openai

    stream_reply = bool(kwargs.get("stream"))
    model = str(kwargs["model"])
    usage: Usage | None = None
    finish: str | None = None
    received = False
    try:
        if not stream_reply:
            done = client.chat.completions.create(**kwargs)
            text = (done.choices[0].message.content or "") if done.choices else ""
            sink(text)
            yield text
            finish = done.choices[0].finish_reason if done.choices else None
            if done.usage is not None:
                usage = Usage(done.usage.prompt_tokens, done.usage.completion_tokens, model)
            stream: Any = ()
        else:
            stream = client.chat.completions.create(**kwargs)
        for chunk in stream:
            if time.monotonic() > deadline:
                stream.close()
                raise LLMFailure(
                    f"no complete reply within {total_timeout:g} s (EXHIBITQA_LLM_TOTAL_TIMEOUT)"
                )
            if chunk.usage is not None:
                usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens, model)
            for choice in chunk.choices:
                if choice.delta and choice.delta.content:
                    received = True
                    sink(choice.delta.content)
                    yield choice.delta.content
                if choice.finish_reason:
                    finish = choice.finish_reason
    except openai.APITimeoutError as e:
        raise LLMFailure(f"no reply within {client.timeout:g} s", retryable=not received) from e
    except openai.APIConnectionError as e:
        if received:
            raise LLMFailure(f"the reply broke off ({shorten(str(e.__cause__ or e))})") from e
        raise LLMFailure(
            f"cannot reach {client.base_url} ({shorten(str(e.__cause__ or e))})", retryable=True
        ) from e
    except openai.APIStatusError as e:
        hint = (
            ": the key was refused; check OPENAI_API_KEY (or EXHIBITQA_LLM_API_KEY)"
            if e.status_code in (401, 403)
            else ""
        )
        raise LLMFailure(
            f"the endpoint answered HTTP {e.status_code}{hint}: {shorten(e.message)}",
            retryable=e.status_code in _RETRY_STATUSES,
            retry_after=_retry_after(e.response),
        ) from e
    except (openai.APIError, httpx.HTTPError) as e:
        raise LLMFailure(f"the reply broke off ({shorten(str(e))})") from e
    if finish == "length":
        raise LLMFailure(f"the reply was cut off at {max_tokens} tokens")
    if finish is None:
        raise LLMFailure("the reply stream ended before the model finished")
    return usage


# Servers echo keys back in their errors ("Incorrect API key provided: sk-abc...xyz").
_KEYLIKE_RE = re.compile(r"\b(?:sk|pk|rk|key|api[-_]?key)[-_][A-Za-z0-9_\-*.]{4,}", re.IGNORECASE)


def redact(text: str, key: str | None) -> str:
    """``text`` with the API key (whole or in a long piece) and key-like tokens masked."""
    if key and len(key) >= 8:
        for size in range(len(key), 7, -1):  # longest pieces first: a masked echo keeps the ends
            for i in range(len(key) - size + 1):
                piece = key[i : i + size]
                if piece in text:
                    text = text.replace(piece, "***")
    return _KEYLIKE_RE.sub("***", text)


def _retry_after(response: Any) -> float | None:
    """Seconds a 429/503 asks us to wait (``Retry-After`` in seconds), if it says."""
    try:
        value = float(response.headers.get("retry-after", ""))
    except (AttributeError, ValueError):
        return None
    return value if value >= 0 else None
