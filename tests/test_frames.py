"""Which sentence is picked: question focus (terms the other paragraphs lack weigh more) and the
document's frame (the words of a title or heading the question repeats weigh nothing)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.answering.features import FEATURES, INDEX, candidates, read_question, rows
from qa.answering.scorer import Linear, Scorer, load
from qa.text import terms
from qa.types import Paragraph, Passage
from tests.test_scorer import Record


def _cands(texts: Sequence[str]) -> list:
    from qa.answering.features import Candidate

    return [
        Candidate(Passage(Paragraph(1, i, t, "en", 0, len(t)), 1.0), i, 0, t, True)
        for i, t in enumerate(texts)
    ]


@pytest.mark.parametrize(
    ("paragraphs", "expected"),
    [
        # "council" is in every paragraph: it found them and weighs nothing; "insurance" is in one of two.
        (
            ["The council set credit insurance.", "The council set tariffs."],
            {"council": 0.0, "insurance": 0.5},
        ),
        (["The council met.", "A port opened.", "Ships sailed."], {"council": 2 / 3, "insurance": 1.0}),
        (["Insurance and council.", "Council insurance rules."], {"council": 0.0, "insurance": 0.0}),
    ],
)
def test_focus_weights_scale_each_term_by_the_share_of_paragraphs_lacking_it(
    paragraphs: list[str], expected: dict[str, float]
) -> None:
    from qa.answering.features import _focus_weights

    weights = {terms(w)[0]: 1.0 for w in expected}
    got = _focus_weights(weights, _cands(paragraphs))
    assert {w: round(got[terms(w)[0]], 6) for w in expected} == {w: round(v, 6) for w, v in expected.items()}


def test_focus_weights_of_no_candidates_are_empty() -> None:
    from qa.answering.features import _focus_weights

    assert _focus_weights({"council": 2.0}, []) == {}


def test_focus_features_prefer_the_sentence_with_the_distinguishing_term() -> None:
    record = Record(["The council set tariffs on steel.", "The council set credit insurance for exporters."])
    q = read_question("What did the council set for credit insurance?", record)
    cands = candidates(record.passages(), q)
    x = rows(q, cands, [0.5, 0.5])
    by_text = {c.sentence: x[j] for j, c in enumerate(cands)}
    right, wrong = (
        by_text["The council set credit insurance for exporters."],
        by_text["The council set tariffs on steel."],
    )
    assert right[INDEX["cov_focus"]] > wrong[INDEX["cov_focus"]] and wrong[INDEX["cov_focus"]] == 0.0
    assert right[INDEX["focus_rel"]] == 0.0 and wrong[INDEX["focus_rel"]] < 0.0


def _titled(texts: Sequence[str], title: str) -> list[Passage]:
    return [Passage(Paragraph(1, i, t, "en", 0, len(t), title=title), 1.0) for i, t in enumerate(texts, 1)]


def test_frame_aware_rows_leave_out_the_names_and_figures_the_documents_title_holds() -> None:
    # "the plan" is how the document's own paragraphs name it; the question names it in full.
    record = Record(
        ["China's 15th Five-Year Plan was approved.", "The plan features Shanghai as its financial center."]
    )
    passages = _titled([p.paragraph.text for p in record.passages()], "China's 15th Five-Year Plan")
    q = read_question("Which city does China's 15th Five-Year Plan feature as its financial center?", record)
    cands = candidates(passages, q)
    plain, framed = rows(q, cands, [0.5, 0.5]), rows(q, cands, [0.5, 0.5], framed=True)
    answer = next(j for j, c in enumerate(cands) if "Shanghai" in c.sentence)
    assert plain[answer, INDEX["nums_s"]] == 0.0 and plain[answer, INDEX["names_s"]] < 1.0
    assert framed[answer, INDEX["nums_s"]] == 1.0 and framed[answer, INDEX["names_s"]] == 1.0
    # Coverage counts the words that are not the document's name: the answer covers more of them.
    assert framed[answer, INDEX["cov_s"]] > plain[answer, INDEX["cov_s"]]
    assert framed[answer, INDEX["cov_s"]] == framed[:, INDEX["cov_s"]].max()
    # Columns about the sentence's place and retrieval are the same.
    same = [INDEX[f] for f in ("first", "position", "length", "rank_inv", "pcos", "type_match")]
    assert np.array_equal(plain[:, same], framed[:, same])


@pytest.mark.parametrize(
    ("titles", "expected"),
    [
        (["The steel plan"], {"output"}),
        (["Mills report", "The steel plan"], {"output"}),
        ([""], {"steel", "plan", "output"}),
        # A title holding every word of the question leaves the weights as they were.
        (["Steel plan output"], {"steel", "plan", "output"}),
    ],
)
def test_without_frames_drops_the_terms_a_candidates_document_title_holds(
    titles: list[str], expected: set[str]
) -> None:
    from qa.answering.features import Candidate, _without_frames

    weights = {t: 1.0 for t in terms("steel plan output")}
    cands = [
        Candidate(Passage(Paragraph(1, i, "Text.", "en", 0, 5, title=t), 1.0), i, 0, "Text.", True)
        for i, t in enumerate(titles)
    ]
    assert set(_without_frames(weights, cands)) == {terms(w)[0] for w in expected}


def test_frame_aware_rows_keep_a_name_the_title_does_not_hold() -> None:
    record = Record(["Acme Steel opened the mill.", "The mill makes plate."])
    passages = _titled([p.paragraph.text for p in record.passages()], "The mill report")
    q = read_question("When did Acme Steel open the mill?", record)
    cands = candidates(passages, q)
    framed = rows(q, cands, [0.5, 0.5], framed=True)
    by_text = {c.sentence: framed[j] for j, c in enumerate(cands)}
    assert by_text["The mill makes plate."][INDEX["names_s"]] == 0.0


def _scorer_with_pick(prefer: str) -> Scorer:
    """The packaged gate, with a pick pair that ranks by one feature only."""
    n = len(FEATURES)
    coef = np.zeros(n)
    coef[INDEX[prefer]] = 5.0
    chooser = Linear(np.zeros(n), np.ones(n), coef, 0.0)
    return replace(load(), pick=(chooser, chooser))


def test_a_pick_pair_chooses_the_sentence_and_the_gate_keeps_the_support() -> None:
    from qa.answering.extractive import ExtractiveAnswerer
    from qa.settings import Settings

    record = Record(["The mill was opened in 2016 by Acme Steel.", "Plate exports resumed."])
    question = "What happened to plate exports?"
    passages = record.passages()
    scorer = Settings(judge="scorer")
    plain = ExtractiveAnswerer(scorer, load()).judge(question, passages, record)
    # A pick pair that prefers the first sentence of the first paragraph whatever it says.
    picked = ExtractiveAnswerer(scorer, _scorer_with_pick("rank_inv")).judge(question, passages, record)
    assert plain.ranked[0].candidate.sentence == "Plate exports resumed."
    assert picked.ranked[0].candidate.sentence.startswith("The mill was opened")
    assert picked.support == pytest.approx(plain.support)


def test_a_scorer_with_a_pick_pair_round_trips_through_json(tmp_path: Path) -> None:
    scorer = _scorer_with_pick("cov_s")
    path = tmp_path / "scorer.json"
    path.write_text(json.dumps(scorer.to_json()))
    again = load(path)
    assert again.pick is not None and np.allclose(again.pick[0].coef, scorer.pick[0].coef)  # type: ignore[index]
    assert "pick_rank" not in replace(scorer, pick=None).to_json()


def test_fit_pick_learns_from_the_frame_aware_rows() -> None:
    from eval.calibrate import fit_pick

    rng = np.random.default_rng(1)

    def question() -> dict[str, object]:
        n = 5
        x = rng.normal(0, 1, (n, len(FEATURES))).astype(np.float32)
        x[:, INDEX["type_match"]], x[:, INDEX["absent_record"]] = 1.0, 0.0
        xf = x.copy()
        j = int(rng.integers(n))
        xf[j, INDEX["names_s"]] += 4.0  # only the frame-aware rows tell the answer apart
        y = np.zeros(n, dtype=bool)
        y[j] = True
        return {
            "x": x,
            "xf": xf,
            "scos": x[:, INDEX["scos"]].copy(),
            "y": y,
            "answerable": True,
            "synthetic": False,
        }

    (rank, _), choice = fit_pick([question() for _ in range(150)], [question() for _ in range(60)], seed=0)
    assert rank.coef[INDEX["names_s"]] == max(rank.coef)
    assert max(choice["top1_by_C"].values()) > 0.9


def test_framed_questions_name_their_article_and_keep_their_answers() -> None:
    import random

    from eval.train_scorer import Item, Split, framed

    split = Split(
        "validation",
        [("Steam_engine", ["Watt improved the engine in 1776."]), ("Normans", ["Rollo ruled Normandy."])],
        [
            Item("a", "Who improved the engine?", "Watt improved the engine in 1776.", ("Watt",)),
            Item("b", "Who ruled Normandy?", "Rollo ruled Normandy.", ("Rollo",)),
            Item("c", "Who ruled Paris?", "Rollo ruled Normandy.", (), synthetic=True),
        ],
    )
    named = framed(split, random.Random(0))
    assert named.name == split.name and named.articles == split.articles  # same record and index
    assert [it.answers for it in named.items] == [it.answers for it in split.items]
    assert [it.synthetic for it in named.items] == [False, False, True]
    assert "Steam engine" in named.items[0].question and "improved the engine" in named.items[0].question
    assert all("Normans" in it.question for it in named.items[1:])
    assert len({it.qid for it in named.items} | {it.qid for it in split.items}) == 6
