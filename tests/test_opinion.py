"""The second opinion: a judging model's "yes" combined with the scorer, over real HTTP."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from qa.answering.checks import MalformedOutput
from qa.answering.features import Candidate
from qa.answering.opinion import Opinion, judge_context, judge_messages, load_opinion, p_answers
from qa.api import ask
from qa.errors import ConfigError
from qa.settings import Settings
from qa.types import Answer, Paragraph, Passage
from tests.fake_openai import FakeOpenAI, Reply

QUESTION = "By how much did China plan to reduce crude steel production capacity starting in 2016?"
# First tokens as llama.cpp reports them for the packaged model: an answer, then a refusal.
YES = Reply(
    "Norm", top_logprobs=(("Norm", math.log(0.95)), ("NONE", math.log(0.03)), (" None", math.log(0.01)))
)
NO = Reply("NONE", top_logprobs=(("NONE", math.log(0.99)), ("The", math.log(0.005))))


def _candidate(text: str, index: int, sentence: str) -> Candidate:
    para = Paragraph(exhibit=7, number=3, text=text, lang="en", start=0, end=len(text))
    return Candidate(Passage(para, 1.0), 0, index, sentence, True)


@pytest.mark.parametrize(
    ("text", "index", "sentence", "shown"),
    [
        ("The mill opened in 2016.", 0, "The mill opened in 2016.", "The mill opened in 2016."),
        (
            "The agency reviewed steel. It set a duty of 12 percent.",
            1,
            "It set a duty of 12 percent.",
            "The agency reviewed steel. It set a duty of 12 percent.",
        ),
        (
            "Prices rose in 2015. The agency reviewed steel. It set a duty.",
            2,
            "It set a duty.",
            "The agency reviewed steel. It set a duty.",
        ),
    ],
)
def test_the_judge_sees_the_sentence_after_the_one_before_it(
    text: str, index: int, sentence: str, shown: str
) -> None:
    assert judge_context(_candidate(text, index, sentence)) == shown


def test_the_judge_is_asked_to_answer_from_the_passage_or_say_none() -> None:
    c = _candidate("The mill opened in 2016.", 0, "The mill opened in 2016.")
    user = judge_messages("When did the mill open?", c)[-1]["content"]
    assert "Question: When did the mill open?" in user
    assert "Passage: The mill opened in 2016." in user
    assert "reply NONE" in user


def _p_answers(reply: Reply) -> tuple[float, dict[str, Any]]:
    import openai

    with FakeOpenAI(default=reply) as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="k", max_retries=0)
        c = _candidate("The mill opened in 2016.", 0, "The mill opened in 2016.")
        return p_answers(client, "judge", judge_messages("When did the mill open?", c)), fake.requests[0]


def test_p_answers_is_one_minus_the_first_tokens_none() -> None:
    prob, body = _p_answers(YES)
    assert prob == pytest.approx(1 - 0.03 - 0.01)  # "Norm" (of Normandy) is not "NO"
    assert body["logprobs"] is True and body["max_tokens"] == 1 and body["temperature"] == 0
    assert _p_answers(NO)[0] == pytest.approx(0.01)


def test_a_server_that_ignores_logprobs_is_malformed_output() -> None:
    with pytest.raises(MalformedOutput):
        _p_answers(Reply("The mill"))


def test_the_combination_rises_with_either_probability() -> None:
    o = load_opinion()
    assert o.coef[0] > 0 and o.coef[1] > 0  # fitted on the training split: both must help
    assert o.support(0.3, 0.9) > o.support(0.3, 0.1)
    assert o.support(0.6, 0.5) > o.support(0.1, 0.5)
    assert 0.0 < o.threshold < 1.0


def test_an_unreadable_opinion_file_says_how_to_refit(tmp_path: Path) -> None:
    bad = tmp_path / "opinion.json"
    bad.write_text(json.dumps({"coef": [1.0]}))
    with pytest.raises(ConfigError, match="eval.fit_opinion"):
        load_opinion(bad)


def _settings(base: Settings, fake: FakeOpenAI, **extra: Any) -> Settings:
    return base.model_copy(
        update={
            "mode": "extractive+check",
            "second_opinion_from": "openai",
            "llm_base_url": fake.base_url,
            "llm_api_key": SecretStr("sk-test"),
            "llm_model": "checker",
            "llm_retries": 0,
            "llm_timeout": 10.0,
            **extra,
        }
    )


def _ask(sample_settings: Settings, reply: Reply, **extra: Any) -> tuple[Answer, FakeOpenAI]:
    with FakeOpenAI(default=reply) as fake:
        return ask(QUESTION, settings=_settings(sample_settings, fake, **extra)), fake


def test_a_confident_no_is_a_refusal_with_the_figures(sample_settings: Settings) -> None:
    answer, fake = _ask(sample_settings, NO)
    assert answer.refused and not answer.citations
    assert any("checked by checker: P(answers) 0.01" in n for n in answer.notes), answer.notes
    assert len(fake.requests) == 1 and QUESTION in fake.requests[0]["messages"][-1]["content"]
    assert answer.support is not None and answer.support < load_opinion().threshold


def test_a_confident_yes_keeps_the_scorers_sentences_with_a_higher_support(sample_settings: Settings) -> None:
    answer, _ = _ask(sample_settings, YES)
    plain = ask(QUESTION, settings=sample_settings.model_copy(update={"refuse_below": 0.0}))
    assert not answer.refused
    assert [c.quote for c in answer.citations] == [c.quote for c in plain.citations]
    assert all(c.verified for c in answer.citations)
    assert answer.support is not None and plain.support is not None
    assert answer.support > load_opinion().support(plain.support, 0.5)


def test_a_failing_model_leaves_the_scorers_answer_with_a_note(sample_settings: Settings) -> None:
    answer, _ = _ask(sample_settings, Reply("overloaded", status=503))
    plain = ask(QUESTION, settings=sample_settings)
    assert any("second opinion unavailable" in n for n in answer.notes)
    assert answer.refused == plain.refused
    assert [c.quote for c in answer.citations] == [c.quote for c in plain.citations]


def test_refuse_below_overrides_the_opinions_threshold(sample_settings: Settings) -> None:
    answer, _ = _ask(sample_settings, NO, refuse_below=0.0)
    assert not answer.refused and answer.citations


def test_an_opinion_with_no_weight_on_the_judge_is_the_scorer() -> None:
    o = Opinion((1.0, 0.0), 0.0, 0.5, {})
    assert o.support(0.3, 0.99) == pytest.approx(0.3, abs=1e-6)


def _llm_settings(base: Settings, fake: FakeOpenAI, **extra: Any) -> Settings:
    return _settings(base, fake, mode="openai", second_opinion=True, llm_stream=False, **extra)


def test_with_the_gate_on_a_refused_question_never_reaches_the_writing_model(
    sample_settings: Settings,
) -> None:
    with FakeOpenAI(default=NO) as fake:
        answer = ask(QUESTION, settings=_llm_settings(sample_settings, fake))
    assert answer.refused
    assert len(fake.requests) == 1 and fake.requests[0]["max_tokens"] == 1  # only the judge was asked
    assert answer.mode == "extractive+check"


def test_with_the_gate_on_an_accepted_question_is_written_by_the_model(sample_settings: Settings) -> None:
    def reply(body: dict[str, Any]) -> Reply:
        if body.get("logprobs"):
            return YES
        return Reply(json.dumps({"sentences": []}))  # the writer finds nothing: a refusal of its own

    with FakeOpenAI(default=reply) as fake:
        answer = ask(QUESTION, settings=_llm_settings(sample_settings, fake))
    assert [bool(b.get("logprobs")) for b in fake.requests] == [True, False]
    assert answer.refused and any("found no answer" in n for n in answer.notes)


def test_with_the_gate_on_the_checked_extract_is_on_screen_before_the_model_writes(
    sample_settings: Settings,
) -> None:
    from qa.api import ask_stream

    def reply(body: dict[str, Any]) -> Reply:
        if body.get("logprobs"):
            return YES
        return Reply(
            json.dumps({"sentences": [{"text": "Capacity was to be cut.", "cites": [{"key": "1"}]}]})
        )

    with FakeOpenAI(default=reply) as fake:
        s = _llm_settings(sample_settings, fake)
        pieces = list(ask_stream(QUESTION, settings=s))
        checked = ask(QUESTION, settings=s.model_copy(update={"mode": "extractive+check"}))
        written_after = len(fake.requests)
    shown, answer = pieces[:-1], pieces[-1]
    assert isinstance(answer, Answer) and answer.mode == "openai"
    assert shown[0] == checked.text and "\u201c" in shown[0]  # the verified extract comes first
    assert shown[-1] == answer.text and answer.text.startswith("Capacity was to be cut [Ex.")
    assert written_after == 3  # judge and writer for the stream, the judge again for `checked`
