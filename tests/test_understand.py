"""``understand``: the plan a question is searched and answered by, read from its wording alone
(a small record of four titled exhibits stands in for the index)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from qa.questions import reference_terms
from qa.settings import Settings
from qa.types import Answer, Citation, FollowUp, Paragraph, Part, Passage, Scope
from qa.understand import scope, understand

TITLES = {
    61: ("2022 Report to Congress on China's WTO Compliance", "United States Trade Representative, 2022"),
    62: (
        "Opinions of the State Council on Resolving Overcapacity in the Steel Industry",
        "Guofa [2016] No. 6",
    ),
    63: ("Notice of the Ministry of Industry and Information Technology on the Steel Plan", "2016"),
    64: ("Guidance on Promoting High-Quality Development of the Steel Industry", "2022"),
}
SETTINGS = Settings()
EARLIER = "What did the 2016 State Council opinions require of steel producers?"


@dataclass
class Record:
    """Four exhibits by title; a search finds paragraphs of ``found``'s exhibits, in order."""

    found: tuple[int, ...] = ()
    searches: list[str] = field(default_factory=list)

    @property
    def exhibits(self) -> list[int]:
        return sorted(TITLES)

    @property
    def references(self) -> dict[int, set[str]]:
        return {n: reference_terms(title, opening) for n, (title, opening) in TITLES.items()}

    def search(self, question: str, *, k: int | None = None) -> list[Passage]:
        self.searches.append(question)
        return [Passage(Paragraph(e, i, "text", "en", 0, 4), 1.0) for i, e in enumerate(self.found, 1)]


@pytest.mark.parametrize(
    ("question", "kind", "reason"),
    [
        ("When did China become a member of the WTO?", "date", False),
        ("How many tons of capacity were cut?", "numeric", False),
        ("Who chaired the meeting on steel capacity?", "name", False),
        ("Why did the steel mills merge with each other?", "other", True),
    ],
)
def test_a_plain_question_is_one_part_over_the_whole_record(question: str, kind: str, reason: bool) -> None:
    plan = understand(f"  {question}\x00 ", Record(), SETTINGS)
    assert plan.question == plan.searched == question
    assert plan.followup is None and plan.scope == Scope(None, "", question)
    assert plan.parts == (Part(question),)
    assert (plan.kind, plan.reason, plan.notes, plan.declined) == (kind, reason, (), "")


@pytest.mark.parametrize(
    ("question", "exhibits", "why", "search"),
    [
        ("In Exhibit 64, what is the target for emissions?", (64,), "named", ""),
        ("What do Ex. 61 and 63 say about capacity?", (61, 63), "named", ""),
        (
            "What did the 2016 State Council opinions say about mergers?",
            (62,),
            "referred",
            "What did the document say about mergers?",
        ),
        ("In Exhibit 99, what is the target for emissions?", None, "", ""),  # not in the record
        ("What did the 2019 steel report say about mergers?", None, "", ""),  # fits no exhibit
    ],
)
def test_a_question_is_scoped_to_the_exhibits_it_names_or_refers_to(
    question: str, exhibits: tuple[int, ...] | None, why: str, search: str
) -> None:
    plan = understand(question, Record(), SETTINGS)
    assert (plan.scope.exhibits, plan.scope.why, plan.scope.search) == (exhibits, why, search or question)
    assert plan.parts == (Part(question, exhibits, search),)
    because = {"named": "which the question names", "referred": "the document the question refers to"}
    listed = ", ".join(map(str, exhibits or ()))
    assert plan.notes == ((f"searched only Exhibit {listed}, {because[why]}",) if exhibits else ())


def test_given_exhibits_are_the_scope_and_need_no_note() -> None:
    plan = understand("In Exhibit 64, what is the target?", Record(), SETTINGS, exhibits=[61])
    assert plan.scope == Scope((61,), "given", "In Exhibit 64, what is the target?")
    assert plan.notes == ()


def test_a_followup_is_searched_with_the_earlier_terms_in_the_earlier_exhibits() -> None:
    plan = understand("Who issued it?", Record(), SETTINGS, history=[EARLIER])
    assert plan.followup is not None and plan.followup.inherited == (62,)
    assert (
        plan.searched.startswith("Who issued it \u2014 ") and "2016 State Council opinions" in plan.searched
    )
    assert plan.answer_text == "Who issued it?" and plan.kind == "name"
    assert plan.scope == Scope((62,), "earlier", plan.searched)
    assert plan.notes == (
        f"searched for: {plan.searched}",
        "searched only Exhibit 62, as the earlier question did",
    )


def test_a_followup_naming_an_exhibit_is_searched_there() -> None:
    plan = understand("And in Exhibit 64?", Record(), SETTINGS, history=[EARLIER])
    assert plan.followup == FollowUp(f"{EARLIER.rstrip('?')}: in Exhibit 64?")
    assert (plan.scope.exhibits, plan.scope.why) == ((64,), "named")
    assert plan.answer_text == ""


def test_a_followup_after_an_answer_inherits_what_it_cited() -> None:
    earlier = Answer(
        "Who wrote it?", "\u2026", (Citation(63, 2, "q"), Citation(61, 1, "q")), (), False, "x", "h"
    )
    plan = understand("When was that?", Record(), SETTINGS, history=[earlier])
    assert plan.followup is not None and plan.scope == Scope((63, 61), "earlier", plan.searched)


def test_a_model_rewrite_replaces_the_offline_followup() -> None:
    def rewrite(question: str, earlier: list[str]) -> tuple[str | None, list[str]]:
        assert (question, earlier) == ("Who issued it?", [EARLIER])
        return "Who issued the 2016 State Council opinions?", ["rewritten by the model"]

    plan = understand("Who issued it?", Record(), SETTINGS, history=[EARLIER], rewrite=rewrite)
    assert plan.followup == FollowUp("Who issued the 2016 State Council opinions?", "", (62,))
    assert plan.notes[:2] == (
        "rewritten by the model",
        "searched for: Who issued the 2016 State Council opinions?",
    )


def test_a_new_topic_after_a_conversation_inherits_nothing() -> None:
    q = "How many ships did Chinese yards deliver to foreign owners in 2021?"
    assert understand(q, Record(), SETTINGS, history=[EARLIER]) == understand(q, Record(), SETTINGS)


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            # Each part is scoped by its own words, else by the whole question's.
            "When was the steel plan issued and which body issued it?",
            [
                Part("When was the steel plan issued?", (63,), "When was the document issued?"),
                Part("Which body issued it \u2014 steel plan?", (63,)),
            ],
        ),
        (
            "How did the capacity target differ between Exhibit 62 and Exhibit 63?",
            [
                Part("How did the capacity target differ between Exhibit 62 and Exhibit 63?", (62,)),
                Part("How did the capacity target differ between Exhibit 62 and Exhibit 63?", (63,)),
            ],
        ),
        (
            "What does Exhibit 61 say about subsidies, and what does Exhibit 64 say about emissions?",
            [
                Part("What does Exhibit 61 say about subsidies?", (61,)),
                Part("What does Exhibit 64 say about emissions \u2014 61 subsidies?", (64,)),
            ],
        ),
    ],
)
def test_a_question_in_parts_has_each_part_scoped(question: str, parts: list[Part]) -> None:
    plan = understand(question, Record(), SETTINGS)
    assert list(plan.parts) == parts
    assert plan.notes[-1] == f"answered in {len(parts)} parts, each searched on its own"
    alone = understand(question, Record(), SETTINGS.model_copy(update={"split_parts": False}))
    assert len(alone.parts) == 1 and alone.parts[0].text == question


def test_a_question_across_the_documents_is_one_part_per_exhibit_found() -> None:
    record = Record(found=(63, 61, 63, 64, 62))
    q = "What do the documents say about steel mergers?"
    plan = understand(q, record, SETTINGS)
    assert record.searches == [q]
    assert plan.parts == (Part(q, (63,)), Part(q, (61,)), Part(q, (64,)))
    assert "asked across documents: Exhibit 63, 61, 64 answered each on its own" in plan.notes
    assert understand(q, Record(found=(63, 63)), SETTINGS).parts == (Part(q),)


@pytest.mark.parametrize(
    ("question", "why"),
    [("", "Ask a question about the exhibits."), ("\x1b[31m \u200b ", "Ask a question about the exhibits.")],
)
def test_an_empty_question_is_declined(question: str, why: str) -> None:
    plan = understand(question, Record(), SETTINGS)
    assert plan.declined == why and plan.notes == (why,)


def test_a_question_over_the_limit_is_declined_unread() -> None:
    record = Record(found=(61, 62))
    plan = understand(
        "What do the documents say? " * 40, record, SETTINGS.model_copy(update={"max_question_chars": 100})
    )
    assert plan.declined.startswith("The question is 1,079 characters long; the limit is 100")
    assert record.searches == []


def test_scope_names_every_exhibit_but_keeps_those_in_the_record() -> None:
    assert scope("Compare Exhibits 61 and 99.", [61, 62]) == Scope(
        (61,), "named", "Compare Exhibits 61 and 99.", (61, 99)
    )
