"""Follow-ups and questions in parts, asked of the real sample index (and, for the model's
rewrite of a follow-up, a real OpenAI-compatible HTTP server)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from qa import ask
from qa.settings import Settings
from tests.conftest import ROOT
from tests.fake_openai import FakeOpenAI, Reply
from tests.test_llm import honest, llm_settings

FIRST = "When did China become a member of the WTO?"


def test_a_followup_is_searched_with_the_earlier_question_and_in_its_exhibit(
    sample_settings: Settings,
) -> None:
    first = ask(FIRST, settings=sample_settings)
    assert {c.exhibit for c in first.citations} == {61}
    follow = ask("Who wrote that report?", settings=sample_settings, history=[first])
    assert follow.searched.startswith("Who wrote that report") and "WTO" in follow.searched
    assert f"searched for: {follow.searched}" in follow.notes
    assert {p.paragraph.exhibit for p in follow.passages} == {61}
    alone = ask("Who wrote that report?", settings=sample_settings)
    assert alone.searched == "" and {p.paragraph.exhibit for p in alone.passages} != {61}


def test_a_new_topic_after_a_conversation_inherits_nothing(sample_settings: Settings) -> None:
    first = ask(FIRST, settings=sample_settings)
    question = "How many ships did Chinese shipyards deliver in 2021?"
    after = ask(question, settings=sample_settings, history=[first])
    fresh = ask(question, settings=sample_settings)
    assert after.searched == "" and not any("earlier question" in n for n in after.notes)
    assert [p.paragraph.number for p in after.passages] == [p.paragraph.number for p in fresh.passages]
    assert {p.paragraph.exhibit for p in after.passages} != {61}


def test_a_history_of_questions_works_like_a_history_of_answers(sample_settings: Settings) -> None:
    follow = ask("And in Exhibit 64?", settings=sample_settings, history=[FIRST])
    assert follow.searched.startswith("When did China become a member of the WTO")
    assert {p.paragraph.exhibit for p in follow.passages} == {64}


def test_a_coordinated_question_is_answered_in_labelled_parts(sample_settings: Settings) -> None:
    a = ask("When was the MIIT steel plan issued and which body issued it?", settings=sample_settings)
    assert len(a.parts) == 2 and a.parts[0] == "When was the MIIT steel plan issued?"
    assert "steel plan" in a.parts[1]
    lines = a.text.splitlines()
    assert lines[0].startswith("(1) When was the MIIT steel plan issued? \u2014")
    assert lines[1].startswith("(2) Which body issued it")
    assert "answered in 2 parts, each searched on its own" in a.notes


def test_a_comparison_of_two_exhibits_searches_each(sample_settings: Settings) -> None:
    q = "How did the capacity reduction targets differ between Exhibit 62 and Exhibit 63?"
    # About how parts are searched and shown, not whether the scorer's support clears its
    # threshold (both parts sit near it): refusal off.
    a = ask(q, settings=sample_settings.model_copy(update={"refuse_below": 0.0}))
    assert len(a.parts) == 2
    assert {p.paragraph.exhibit for p in a.passages} == {62, 63}
    assert a.text.startswith("(1) Exhibit 62 \u2014") and "\n(2) Exhibit 63 \u2014" in a.text
    assert {c.exhibit for c in a.citations} <= {62, 63}
    whole = ask(q, settings=sample_settings.model_copy(update={"split_parts": False, "refuse_below": 0.0}))
    assert whole.parts == () and not whole.text.startswith("(1)")


def test_a_question_across_the_documents_answers_each_that_discusses_it(sample_settings: Settings) -> None:
    q = "What do the documents say about long-term purchase agreements between shipyards and steel mills?"
    a = ask(q, settings=sample_settings.model_copy(update={"refuse_below": 0.0}))
    across = [n for n in a.notes if n.startswith("asked across documents: Exhibit ")]
    assert across and 2 <= len(a.parts) <= 3
    labels = [line.split(" \u2014 ")[0] for line in a.text.splitlines()]
    assert all(label.startswith(f"({i}) Exhibit ") for i, label in enumerate(labels, 1))
    exhibits = [int(label.rsplit(" ", 1)[1]) for label in labels]
    assert len(set(exhibits)) == len(exhibits) and {c.exhibit for c in a.citations} <= set(exhibits)
    # The same words about one named document stay one part.
    one = ask(
        "What does Exhibit 69 say about long-term purchase agreements between shipyards and steel mills?",
        settings=sample_settings.model_copy(update={"refuse_below": 0.0}),
    )
    assert one.parts == () and {p.paragraph.exhibit for p in one.passages} == {69}


def test_a_comparison_of_two_things_named_in_full_quotes_each(sample_settings: Settings) -> None:
    q = (
        "How did the crude steel capacity of China in 2015 compare with the crude steel output "
        "the MIIT plan expected in 2020?"
    )
    a = ask(q, settings=sample_settings.model_copy(update={"refuse_below": 0.0}))
    assert a.parts == (
        "What was the crude steel capacity of China in 2015?",
        "What was the crude steel output the MIIT plan expected in 2020?",
    )
    assert a.text.startswith("(1) What was the crude steel capacity") and "\n(2) What was the crude" in a.text


def test_the_model_rewrites_a_followup_in_llm_modes(sample_settings: Settings) -> None:
    rewritten = "When did China accede to the World Trade Organization, per the 2022 USTR report?"

    def script(body: dict[str, Any]) -> Reply:
        if "Rewrite the user's last question" in body["messages"][0]["content"]:
            return Reply(rewritten)
        return honest(body)

    with FakeOpenAI([], default=script) as fake:
        a = ask("And when was that?", settings=llm_settings(sample_settings, fake), history=[FIRST])
    asked = fake.requests[0]["messages"][-1]["content"]
    assert "Earlier question: " + FIRST in asked and "Last question: And when was that?" in asked
    assert a.searched == rewritten and f"searched for: {rewritten}" in a.notes
    assert rewritten in fake.requests[-1]["messages"][-1]["content"]  # the answer is written for it


def test_when_the_model_cannot_rewrite_the_offline_followup_is_used(sample_settings: Settings) -> None:
    def script(body: dict[str, Any]) -> Reply:
        if "Rewrite the user's last question" in body["messages"][0]["content"]:
            return Reply(status=500, content="overloaded")
        return honest(body)

    with FakeOpenAI([], default=script) as fake:
        a = ask("And when was that?", settings=llm_settings(sample_settings, fake), history=[FIRST])
    assert a.searched.startswith("And when was that") and "WTO" in a.searched
    assert any(n.startswith("follow-up not rewritten by the model") for n in a.notes)


def test_a_rewrite_that_drops_the_users_words_is_not_used(sample_settings: Settings) -> None:
    # A small model gave back the earlier question instead of rewriting the follow-up.
    def script(body: dict[str, Any]) -> Reply:
        if "Rewrite the user's last question" in body["messages"][0]["content"]:
            return Reply(FIRST)
        return honest(body)

    with FakeOpenAI([], default=script) as fake:
        a = ask("Who wrote that report?", settings=llm_settings(sample_settings, fake), history=[FIRST])
    assert a.searched != FIRST and a.searched.startswith("Who wrote that report")
    assert any("left out \u201cwrote\u201d, \u201creport\u201d" in n for n in a.notes), a.notes


def test_the_cli_asks_a_followup_after_its_earlier_question(sample_settings: Settings) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "qa.cli",
            "--store",
            str(sample_settings.store),
            "ask",
            "Who wrote that report?",
            "--after",
            FIRST,
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    data = json.loads(out.stdout)
    assert data["question"] == "Who wrote that report?" and "WTO" in data["searched"]
    assert {p["exhibit"] for p in data["passages"]} == {61}


def test_each_part_is_searched_in_the_document_it_refers_to(sample_settings: Settings) -> None:
    from qa.api import get_retriever, search
    from qa.understand import understand

    q = (
        "What does the MIIT 2016-2020 plan say about mergers, and what does the 2022 "
        "high-quality development guidance say about ultra-low emissions?"
    )
    retriever = get_retriever(sample_settings)
    planned = understand(q, retriever, sample_settings)
    assert [p.exhibits for p in planned.parts] == [(63,), (64,)]
    per_part = search(planned, retriever, 4)
    assert [{x.paragraph.exhibit for x in ps} for ps in per_part] == [{63}, {64}]
    a = ask(q, settings=sample_settings)
    assert "part 1 searched only Exhibit 63" in a.notes and "part 2 searched only Exhibit 64" in a.notes
    # A part that names no document of its own keeps the question's scope.
    same = understand(
        "When was the MIIT 2016-2020 plan issued, and who issued it?", retriever, sample_settings
    )
    assert [p.exhibits for p in same.parts] == [(63,), (63,)]
