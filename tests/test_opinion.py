"""extractive+check: a model's second opinion on the extractive answer, over real HTTP."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import SecretStr

from qa.answering.opinion import check_messages, read_reply
from qa.api import ask
from qa.cites import quote_in
from qa.settings import Settings
from qa.types import Answer
from tests.fake_openai import FakeOpenAI, Reply

QUESTION = "By how much did China plan to reduce crude steel production capacity starting in 2016?"
SHOWN_RE = re.compile(r"^\[(\d+)\] (.+)$", re.MULTILINE)
SENTENCES = [
    "The mill opened in 2016.",
    "It sold 640 tonnes of \u201cship plate\u201d in 2021.",
    "Exports fell.",
]


@pytest.mark.parametrize(
    ("raw", "pick", "said"),
    [
        ('{"answer": "NONE"}', None, "NONE"),
        ('{"answer": "none of them"}', None, "NONE"),
        ("NONE", None, "NONE"),
        ('{"answer": ""}', None, "NONE"),
        ('{"answer": "640 tonnes"}', 1, "640 tonnes"),
        ('```json\n{"answer": "opened in 2016."}\n```', 0, "opened in 2016."),
        ('{"answer": "640  tonnes of \\"ship plate\\""}', 1, '640  tonnes of "ship plate"'),
        ('{"answer": "It Sold 640 Tonnes"}', 1, "It Sold 640 Tonnes"),
        ('{"answer": "720 tonnes"}', None, "720 tonnes"),
        ("the passages do not say", None, "the passages do not say"),
    ],
)
def test_read_reply(raw: str, pick: int | None, said: str) -> None:
    assert read_reply(raw, SENTENCES) == (pick, said)


def test_the_messages_number_the_candidates_and_allow_none() -> None:
    user = check_messages("When did the mill open?", SENTENCES)[-1]["content"]
    assert "Question: When did the mill open?" in user
    assert SHOWN_RE.findall(user) == [(str(i), s) for i, s in enumerate(SENTENCES, 1)]
    assert "NONE" in user


def _settings(base: Settings, fake: FakeOpenAI) -> Settings:
    return base.model_copy(
        update={
            "mode": "extractive+check",
            "second_opinion_from": "openai",
            "llm_base_url": fake.base_url,
            "llm_api_key": SecretStr("sk-test"),
            "llm_model": "checker",
            "llm_retries": 0,
            "llm_timeout": 10.0,
            "refuse_below": 0.0,  # the scorer answers; what happens next is the model's call
        }
    )


def _shown(body: dict[str, Any]) -> list[str]:
    return [s for _, s in SHOWN_RE.findall(body["messages"][-1]["content"])]


def _ask(sample_settings: Settings, reply: Any) -> tuple[Answer, FakeOpenAI]:
    with FakeOpenAI(default=reply) as fake:
        return ask(QUESTION, settings=_settings(sample_settings, fake)), fake


def test_none_from_the_model_is_a_refusal(sample_settings: Settings) -> None:
    answer, fake = _ask(sample_settings, Reply(json.dumps({"answer": "NONE"})))
    assert answer.refused and not answer.citations
    assert any("checking model found no candidate" in n for n in answer.notes)
    body = fake.requests[0]
    assert body["temperature"] == 0 and body["model"] == "checker"
    assert QUESTION in body["messages"][-1]["content"]
    assert 1 <= len(_shown(body)) <= 3


def test_words_copied_from_a_runner_up_make_it_the_quoted_sentence(sample_settings: Settings) -> None:
    def copy_last(body: dict[str, Any]) -> Reply:
        words = _shown(body)[-1].split()
        return Reply(json.dumps({"answer": " ".join(words[1:7])}))

    answer, fake = _ask(sample_settings, copy_last)
    last = _shown(fake.requests[0])[-1]
    assert not answer.refused
    assert [c.quote for c in answer.citations] == [last]
    assert all(c.verified for c in answer.citations)
    assert any("checked by checker" in n for n in answer.notes)


def test_words_that_are_in_no_candidate_are_a_refusal(sample_settings: Settings) -> None:
    answer, _ = _ask(sample_settings, Reply(json.dumps({"answer": "exactly 123,456,789 tonnes"})))
    assert answer.refused
    assert any("in no candidate" in n for n in answer.notes)


def test_a_failing_model_leaves_the_scorers_answer_with_a_note(sample_settings: Settings) -> None:
    answer, _ = _ask(sample_settings, Reply("overloaded", status=503))
    assert not answer.refused and answer.citations
    assert any("second opinion unavailable" in n for n in answer.notes)
    plain = ask(QUESTION, settings=sample_settings.model_copy(update={"refuse_below": 0.0}))
    assert [c.quote for c in answer.citations] == [c.quote for c in plain.citations]


def test_an_accepted_answer_quotes_verbatim(sample_settings: Settings) -> None:
    def copy_first(body: dict[str, Any]) -> Reply:
        return Reply(json.dumps({"answer": _shown(body)[0]}))

    answer, _ = _ask(sample_settings, copy_first)
    assert not answer.refused
    from qa.api import get_retriever

    paragraphs = get_retriever(sample_settings).paragraphs
    assert all(quote_in(c.quote, paragraphs[(c.exhibit, c.paragraph)].text) for c in answer.citations)
