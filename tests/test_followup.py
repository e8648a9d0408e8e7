"""Follow-ups, question parts and reason questions: the pure logic, one case a line."""

from __future__ import annotations

import pytest

from qa.answering.base import REFUSAL, Draft
from qa.followup import Turn, condense, dropped_words, is_followup, key_terms, leans_on
from qa.parts import across_documents, combine, compared, coordinated, fill_in, split
from qa.types import Citation, Part

EARLIER = Turn("What did the 2016 State Council opinions require of steel producers?", (62,))


@pytest.mark.parametrize(
    "question",
    [
        "Who issued it?",
        "Over what period?",
        "And in Exhibit 64?",
        "What about aluminum?",
        "When did that take effect?",
        "What was the figure the year before?",
        "And the deadline?",
        "Who chaired it?",
        "How much did they pay for those?",
    ],
)
def test_followups_are_recognised(question: str) -> None:
    assert is_followup(question)


@pytest.mark.parametrize(
    "question",
    [
        "Which company was the first foreign supplier of electronic payment services licensed in China?",
        "Why does USTR say it did not make major changes to the Section 301 tariffs?",
        "How many shipyards did China Shipbuilding Industry Corporation operate in 2019?",
        "What tariff rate applies to copper imports under Section 232?",
        "When did the Supreme Court decide the IEEPA case?",
    ],
)
def test_standalone_questions_are_not_followups(question: str) -> None:
    assert not is_followup(question)


def test_a_pronoun_followup_carries_the_earlier_terms_and_exhibits() -> None:
    c = condense("Who issued it?", [EARLIER])
    assert c.carried and c.exhibits == (62,)
    assert c.text.startswith("Who issued it")
    for word in ("2016", "State", "Council", "opinions", "steel"):
        assert word in c.text


def test_and_in_exhibit_asks_the_same_question_of_the_exhibit_named() -> None:
    c = condense("And in Exhibit 64?", [EARLIER])
    assert "require of steel producers" in c.text and c.text.endswith(": in Exhibit 64?")
    # The earlier turn's exhibits come with it; the question is scoped to the one it names by
    # ``understand`` (tests/test_understand.py).
    assert c.exhibits == (62,)


def test_what_about_asks_the_same_question_about_something_else() -> None:
    c = condense("What about aluminum?", [Turn("What tariff applies to steel derivatives?", (3,))])
    assert c.text == "What tariff applies to steel derivatives: aluminum?"
    assert c.exhibits == (3,)


def test_a_new_topic_inherits_nothing() -> None:
    q = "How many ships did Chinese yards deliver to foreign owners in 2021?"
    c = condense(q, [EARLIER])
    assert c == type(c)(q)
    assert c.exhibits is None and not c.carried


def test_without_history_nothing_is_carried() -> None:
    assert not condense("Who issued it?", []).carried


def test_an_earlier_turn_with_no_exhibits_leaves_the_search_open() -> None:
    assert condense("Who issued it?", [Turn("What did the notice require?")]).exhibits is None


@pytest.mark.parametrize(
    ("question", "terms"),
    [
        ("What did the MIIT plan say about mergers?", "MIIT plan mergers"),
        ("How many ships were delivered in 2021?", "ships delivered 2021"),
        ("When was Guofa No. 6 issued?", "Guofa 6 issued"),
    ],
)
def test_key_terms(question: str, terms: str) -> None:
    assert key_terms(question) == terms


@pytest.mark.parametrize(
    ("question", "n"),
    [
        ("When was the plan issued and which body issued it?", 2),
        ("When was the plan issued? Who issued it?", 2),
        ("What tariff applies to copper, and when did it take effect?", 2),
        ("What is the target for steel and how will it be met?", 2),
        ("Which company and which agency signed it?", 1),  # a fragment is not a question
        ("What did the State Council and MIIT say about capacity?", 1),
        ("How did output change between 2016 and 2020?", 1),
        ("According to USTR, how many websites does China block?", 1),  # a phrase, then its question
        ("What capacity target, in tons, was assigned to Hebei?", 1),
        ("When did it apply; when was the panel set up?", 2),
        ("How much was spent in 2020, and since what year has it fallen?", 2),  # preposition first
        ("When was the list set up, and by when must importers register?", 2),
        ("How many firms were audited, and about how many failed?", 2),  # degree adverb first
        ("Which ships and about how many crew were lost?", 1),  # still a fragment
        ("How much did output rise and by how much did prices fall?", 2),
        ("What did the plan say about the mills and about the mines?", 1),  # no question word
    ],
)
def test_coordinated_questions_split_into_parts(question: str, n: int) -> None:
    assert len(coordinated(question)) == n


def test_a_later_part_is_made_standalone_against_the_first() -> None:
    first, second = coordinated("When was the steel capacity plan issued and which body issued it?")
    assert first == "When was the steel capacity plan issued?"
    assert second.startswith("Which body issued it") and "steel capacity plan" in second


def test_a_comparison_across_named_exhibits_is_one_part_per_exhibit() -> None:
    q = "How did the capacity target differ between Exhibit 62 and Exhibit 63?"
    assert split(q, [62, 63]) == [Part(q, (62,)), Part(q, (63,))]


def test_a_question_naming_two_exhibits_without_comparing_is_one_part() -> None:
    q = "What do Exhibits 62 and 63 say about capacity?"
    assert split(q, [62, 63]) == [Part(q, (62, 63))]


def _draft(quote: str, ex: int, support: float) -> Draft:
    return Draft(f"\u201c{quote}\u201d", (Citation(ex, 1, quote),), refused=False, support=support)


def test_combine_labels_each_part_and_takes_the_best_support() -> None:
    parts = [Part("When was it issued?"), Part("Who issued it?")]
    d = combine(parts, [_draft("Issued in 2016.", 62, 0.9), _draft("The State Council issued it.", 62, 0.4)])
    # Refused exactly when every part is: the best part's support is the answer's.
    assert not d.refused and d.support == 0.9
    assert "part 2: support 0.40" in d.notes
    assert d.text.splitlines()[0].startswith("(1) When was it issued? \u2014 \u201cIssued in 2016.\u201d")
    assert d.text.splitlines()[1].startswith("(2) Who issued it?")
    assert len(d.citations) == 2


def test_combine_reports_an_unanswered_part_and_answers_the_rest() -> None:
    parts = [Part("When was it issued?"), Part("What did it cost?")]
    refused = Draft(REFUSAL, (), refused=True, notes=("support 0.01 is below 0.04",), support=0.01)
    d = combine(parts, [_draft("Issued in 2016.", 62, 0.9), refused])
    assert not d.refused
    assert "(2) What did it cost? \u2014 not answered" in d.text
    assert "part 2: support 0.01 is below 0.04" in d.notes


def test_combine_refuses_when_no_part_is_answered() -> None:
    refused = Draft(REFUSAL, (), refused=True)
    d = combine([Part("a b c?"), Part("d e f?")], [refused, refused])
    assert d.refused and d.text == REFUSAL and not d.citations


def test_a_sentence_answering_two_parts_is_quoted_once() -> None:
    parts = [Part("Q one here?", (62,)), Part("Q one here?", (63,))]
    d = combine(parts, [_draft("Same.", 62, 0.5), _draft("Same.", 62, 0.5)])
    assert len(d.citations) == 1 and "see (1)" in d.text
    assert d.text.startswith("(1) Exhibit 62")


def test_a_followup_that_borrows_terms_is_answered_by_its_own_words() -> None:
    c = condense("How often is it updated?", [Turn("When did the agency set up the importers list?", (10,))])
    assert c.carried and "importers list" in c.text
    assert c.asked == "How often is it updated?"


def test_a_followup_that_asks_the_last_question_again_is_answered_as_asked() -> None:
    c = condense("And in Exhibit 64?", [Turn("What capacity cut does the plan set?", (63,))])
    assert c.asked == "" and c.text.startswith("What capacity cut does the plan set")


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "How did the output the 2016 plan forecast compare with the output USTR reports for 2020?",
            ["What was the output the 2016 plan forecast?", "What was the output USTR reports for 2020?"],
        ),
        (
            "How does the tariff on copper wire differ from the tariff on copper cathodes?",
            ["What is the tariff on copper wire?", "What is the tariff on copper cathodes?"],
        ),
        (
            "What was the difference between the 2016 capacity target and the 2022 output goal?",
            ["What was the 2016 capacity target?", "What was the 2022 output goal?"],
        ),
        ("How did output compare with 2019?", []),  # one fact at two times
        ("How did exports compare?", []),
        ("What did the plan compare output with?", []),
    ],
)
def test_comparisons_of_two_things_named_in_full(question: str, parts: list[str]) -> None:
    assert compared(question) == parts


def test_a_comparison_of_two_things_is_two_parts() -> None:
    q = "How did the steel output the plan forecast compare with the steel output USTR reports?"
    assert [p.text for p in split(q, None)] == compared(q)


@pytest.mark.parametrize(
    ("question", "followup"),
    [
        ("How many in 2010?", True),
        ("Roughly how many according to the SGEPT note?", True),
        ("And how much under the 2022 guidance?", True),
        ("How much did they pay?", True),
        ("How many products did the SGEPT note count?", False),
        ("How much steel did China export in 2021?", False),
    ],
)
def test_a_bare_quantity_leans_on_what_was_counted_before(question: str, followup: bool) -> None:
    assert is_followup(question) is followup


@pytest.mark.parametrize(
    ("question", "leans"),
    [
        ("Are goods covered by Section 232 tariffs subject to that surcharge?", True),
        ("When did it take effect?", True),
        ("Which of these firms signed the Nantong agreements?", True),
        ("What rate does Section 232 impose on British steel?", False),
    ],
)
def test_a_joined_question_leans_on_the_first_when_it_points_back(question: str, leans: bool) -> None:
    assert leans_on(question) is leans


def test_a_joined_part_pointing_back_carries_the_first_parts_terms() -> None:
    first, second = coordinated(
        "What temporary import surcharge did the President announce under Section 122, and are goods "
        "covered by Section 232 tariffs subject to that surcharge?"
    )
    assert second.startswith("Are goods covered by Section 232 tariffs subject to that surcharge")
    assert "temporary import" in second and "122" in second
    # The same question asked alone in a chat is not a follow-up: it has names of its own.
    assert not is_followup("Are goods covered by Section 232 tariffs subject to that surcharge?")


def test_a_joined_part_that_stands_alone_carries_nothing() -> None:
    _, second = coordinated(
        "What share of the world's aluminum does the Persian Gulf produce, and what duty does the "
        "Section 232 regime impose on aluminum products?"
    )
    assert second == "What duty does the Section 232 regime impose on aluminum products?"


@pytest.mark.parametrize(
    ("question", "across"),
    [
        ("Do the exhibits agree on how many agreements were signed in 2021?", True),
        ("What do the documents say about capacity cuts?", True),
        ("Do both reports give the same figure for output?", True),
        ("What does the 2016 opinion say about capacity cuts?", False),
        ("Which exhibit reports the 2021 output?", False),
    ],
)
def test_questions_across_documents(question: str, across: bool) -> None:
    assert across_documents(question) is across


def _cited(quote: str, ex: int, para: int) -> Draft:
    return Draft(
        f"{quote} [Ex. {ex} \u00b6 {para}]", (Citation(ex, para, quote),), refused=False, support=0.5
    )


def test_fill_in_adds_the_quoted_answer_of_a_part_the_model_left_out() -> None:
    parts = [Part("When was it issued?"), Part("Who issued it?")]
    written = Draft("It was issued in 2016 [Ex. 62 \u00b6 1].", (Citation(62, 1, "in 2016"),), refused=False)
    quoted = [_cited("Issued in 2016.", 62, 1), _cited("The State Council issued it.", 62, 4)]
    d = fill_in(parts, written, quoted)
    assert d.text.splitlines()[0] == written.text  # the model's answer first, as written
    assert (
        d.text.splitlines()[1]
        == "(2) Who issued it? \u2014 \u201cThe State Council issued it.\u201d [Ex. 62 \u00b6 4]"
    )
    assert [(c.exhibit, c.paragraph) for c in d.citations] == [(62, 1), (62, 4)]
    assert "part 2 is not in the written answer: its quoted answer is added" in d.notes


@pytest.mark.parametrize(
    "quoted",
    [
        # The model cites each part's paragraph: nothing to add.
        [_cited("Issued in 2016.", 62, 1), _cited("The State Council issued it.", 62, 1)],
        # The part it left out has no quoted answer either.
        [_cited("Issued in 2016.", 62, 1), Draft(REFUSAL, (), refused=True)],
    ],
)
def test_fill_in_keeps_a_complete_answer_as_written(quoted: list[Draft]) -> None:
    parts = [Part("When was it issued?"), Part("Who issued it?")]
    written = Draft("It was issued in 2016 [Ex. 62 \u00b6 1].", (Citation(62, 1, "in 2016"),), refused=False)
    assert fill_in(parts, written, quoted) == written


def test_fill_in_leaves_a_refusal_alone() -> None:
    refused = Draft(REFUSAL, (), refused=True)
    parts = [Part("When was it issued?"), Part("Who issued it?")]
    assert (
        fill_in(parts, refused, [_cited("Issued in 2016.", 62, 1), _cited("By the State Council.", 62, 4)])
        == refused
    )


@pytest.mark.parametrize(
    "question, rewrite, expected",
    [
        # The earlier question given back instead of a rewrite.
        (
            "How often is it updated?",
            "When did NMFS establish the SIMP-Compliant Importers List?",
            ["often", "updated"],
        ),
        ("How often is it updated?", "How often is the SIMP-Compliant Importers List updated?", []),
        ("And in 2010?", "What was the utilization rate in 2010 under the plan?", []),
        ("And in 2010?", "What was the utilization rate in 2015 under the plan?", ["2010"]),
        ("Who chaired it?", "Who chaired the 2022 meeting in Nantong?", []),
        ("What is its document number?", "What is the document number of the opinion?", []),
        ("And when was that?", "When did China accede to the WTO?", []),  # nothing but function words
        ("What about aluminium?", "What tariff applies to aluminum?", ["aluminium"]),
        ("Updates?", "How often is the list updated?", []),  # compared by stem
    ],
)
def test_dropped_words(question: str, rewrite: str, expected: list[str]) -> None:
    assert dropped_words(question, rewrite) == expected
