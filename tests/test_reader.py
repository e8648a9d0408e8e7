"""The shipped reader (qa/answering/reader/): it loads, fits the size budget, and orders real
question-sentence pairs as a reader must."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import pytest

from qa.answering.reader import FOLDER, Reader, load, reader_text
from qa.errors import ExhibitQAError
from qa.settings import Settings
from qa.types import Paragraph, Passage
from tests.test_scorer import Record

ANSWER = "China became a member of the World Trade Organization on 11 December 2001."


def test_the_shipped_reader_loads_with_its_stack_and_fits_the_budget() -> None:
    from qa.answering.stack import PICK_FEATURES

    r = load()
    assert (FOLDER / "reader.onnx").stat().st_size <= 30 * 1024 * 1024
    assert r.stack is not None and 0.0 < r.threshold < 1.0
    assert r.threshold == json.loads((FOLDER / "reader.json").read_text())["stack"]["threshold"]
    # A higher reader score makes a candidate likelier to be picked, and a surer pick likelier right.
    assert r.stack.pick.coef[PICK_FEATURES.index("reader score")] > 0
    assert r.stack.calibration[0] > 0
    card = (FOLDER / "reader.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in card and "CC BY 4.0" in card and "all-MiniLM-L6-v2" in card


@pytest.mark.parametrize(
    ("question", "answer", "other"),
    [
        # The sentence that states the fact above one on the same topic that does not.
        pytest.param(
            "When did China join the WTO?",
            ANSWER,
            "The WTO was founded in 1995 to replace the GATT.",
            marks=pytest.mark.xfail(
                strict=True, reason="the reader misses 'join' = 'became a member of' (reader.md)"
            ),
        ),
        (
            "How much higher was the price of ship plates in China than in South Korea?",
            "The price of ship plates in China was nearly 800 yuan per ton higher than in South Korea.",
            "Ship plates are a major input for the shipbuilding industry in China and South Korea.",
        ),
        (
            "Which agency issued the notice on steel overcapacity?",
            "The notice on steel overcapacity was issued by the National Development and Reform Commission.",
            "Steel overcapacity has weighed on prices for several years.",
        ),
        (
            "Why did exports fall in 2015?",
            "Exports fell in 2015 because the currency appreciated sharply against the dollar.",
            "Exports fell in 2015.",
        ),
    ],
)
def test_the_answer_sentence_scores_above_an_on_topic_one(question: str, answer: str, other: str) -> None:
    scores = load().scores(question, [reader_text(answer), reader_text(other)])
    assert scores[0] > scores[1]


@pytest.mark.parametrize(
    ("question", "near_miss"),
    [
        # A swapped name, a swapped year: the same sentence no longer answers.
        ("When did China join the WTO?", "When did Vietnam join the WTO?"),
        (
            "What did the State Council order in 2016?",
            "What did the State Council order in 2019?",
        ),
    ],
)
def test_a_near_miss_question_scores_below_the_question_the_sentence_answers(
    question: str, near_miss: str
) -> None:
    sentence = {
        "When did China join the WTO?": ANSWER,
        "What did the State Council order in 2016?": "In 2016 the State Council ordered steel capacity cut by 100 million tonnes.",
    }[question]
    r = load()
    right = r.scores(question, [reader_text(sentence)])[0]
    wrong = r.scores(near_miss, [reader_text(sentence)])[0]
    assert right > wrong


def test_scores_barely_depend_on_batching_or_order() -> None:
    # int8 with dynamic quantisation scales activations per batch, so a pair's score moves a
    # little with its batch-mates; the same candidates always give the same scores.
    r = load()
    texts = [reader_text(ANSWER), "Exports fell.", reader_text("The WTO was founded in 1995.", "Trade")]
    together = r.scores("When did China join the WTO?", texts)
    alone = [r.scores("When did China join the WTO?", [t])[0] for t in texts]
    reversed_ = r.scores("When did China join the WTO?", texts[::-1])[::-1]
    assert together == pytest.approx(alone, abs=0.25)  # measured up to 0.21
    assert together == pytest.approx(reversed_, abs=1e-6)
    assert r.scores("When did China join the WTO?", texts) == pytest.approx(together, abs=1e-6)
    assert len(r.scores("anything", [])) == 0


def test_a_missing_reader_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ExhibitQAError, match="train-reader"):
        Reader(tmp_path)


def test_a_reader_without_its_stack_says_how_to_fit_one(tmp_path: Path) -> None:
    from qa.answering.extractive import ExtractiveAnswerer

    for f in FOLDER.iterdir():
        shutil.copy(f, tmp_path / f.name)
    meta = json.loads((tmp_path / "reader.json").read_text())
    meta.pop("stack", None)
    (tmp_path / "reader.json").write_text(json.dumps(meta))
    with pytest.raises(ExhibitQAError, match="eval.fit_stack"):
        ExtractiveAnswerer(Settings(judge="reader"), reader=Reader(tmp_path))


def test_the_threshold_comes_from_the_stack_in_reader_json(tmp_path: Path) -> None:
    for f in FOLDER.iterdir():
        shutil.copy(f, tmp_path / f.name)
    meta = json.loads((tmp_path / "reader.json").read_text())
    meta["stack"]["threshold"] = 0.5
    (tmp_path / "reader.json").write_text(json.dumps(meta))
    assert Reader(tmp_path).threshold == 0.5


class Embedded(Record):
    """The toy record with the product's packaged embedder: the stack weighs the scorer's view,
    and the scorer compares the question's vector with its sentences'."""

    def embed_query(self, text: str) -> list[float]:
        return list(_embedder().get_query_embedding(text))

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        return [list(v) for v in _embedder().get_text_embedding_batch(texts)]


@lru_cache(maxsize=1)
def _embedder():  # type: ignore[no-untyped-def]
    from index.embed import get_embedder

    settings = Settings()
    return get_embedder(settings.embedding_model, settings)


def _judge(question: str, record: Record):  # type: ignore[no-untyped-def]
    from qa.answering.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer(Settings(judge="reader")).judge(question, record.passages(), record)


def test_the_stack_quotes_the_answer_sentence_the_reader_alone_misses() -> None:
    # The reader alone rates "Prices rose later." above the answer: it reads the sentence before
    # as context (reader.md); the scorer's view of each candidate, stacked, sets that right.
    record = Embedded(
        [
            "The mill was opened in 2016 by Acme Steel. It makes plate for ships.",
            "Shipyards bought 640 tonnes of plate from the mill in 2021. Prices rose later.",
        ]
    )
    judged = _judge("How much plate did shipyards buy from the mill in 2021?", record)
    assert 0.0 < judged.support < 1.0
    assert judged.ranked[0].candidate.sentence.startswith("Shipyards bought 640 tonnes")
    assert [s.probability for s in judged.ranked] == sorted(
        (s.probability for s in judged.ranked), reverse=True
    )


def test_a_chinese_sentence_is_read_through_its_aligned_translation() -> None:
    english = "The State Council ordered steel capacity cut by 100 million tonnes in 2016."
    chinese = "国务院于2016年要求压减钢铁产能1亿吨。"
    record = Record([english, "Unrelated text about shipping rates in the region."])
    record._paragraphs[(1, 3)] = Paragraph(1, 3, chinese, "zh", 0, len(chinese), aligned=(1,))
    record._paragraphs[(1, 1)] = replace(record._paragraphs[(1, 1)], aligned=(3,))
    from qa.answering.extractive import _reader_view
    from qa.answering.features import Candidate

    c = Candidate(Passage(record._paragraphs[(1, 3)], 1.0), 0, 0, chinese, True)
    assert _reader_view(c, record).startswith(english)


@pytest.mark.parametrize(
    ("views", "n", "expected"),
    [
        (["steel tariffs rose", "weather was mild", "steel output"], 5, [0, 1, 2]),  # few: all read
        (["weather was mild", "steel tariffs rose sharply", "steel output"], 1, [1]),
        (["weather was mild", "steel output", "steel tariffs rose sharply"], 2, [1, 2]),  # kept in order
        (["steel output", "weather", "steel output again"], 1, [0]),  # a tie keeps the higher-ranked
    ],
)
def test_the_reading_order_puts_the_candidates_covering_most_of_the_question_first(
    views: list[str], n: int, expected: list[int]
) -> None:
    from qa.answering.extractive import reading_order
    from qa.answering.features import read_question

    record = Record(views)
    q = read_question("Why did steel tariffs rise?", record)
    assert sorted(reading_order(q.weights, views)[:n]) == expected


def test_the_reader_reads_unless_the_scorer_judges_alone() -> None:
    from qa.answering.extractive import ExtractiveAnswerer

    assert ExtractiveAnswerer(Settings(judge="scorer")).reader is None
    assert ExtractiveAnswerer(Settings()).reader is not None  # the default judge, "pick", reads
    reader = ExtractiveAnswerer(Settings(judge="reader"))
    assert reader.reader is not None and reader.threshold == reader.reader.threshold
    record = Embedded(["The mill was opened in 2016 by Acme Steel.", "Shipyards bought 640 tonnes of plate."])
    judged = reader.judge("Who opened the mill?", record.passages(), record)
    assert {s.candidate.sentence for s in judged.ranked} == {
        "The mill was opened in 2016 by Acme Steel.",
        "Shipyards bought 640 tonnes of plate.",
    }
    assert 0.0 <= judged.support <= 1.0


def test_the_pick_judge_quotes_the_stacks_sentence_and_refuses_as_the_scorer_does() -> None:
    """judge="pick": the sentence is the stack's (as with judge="reader"), the support and the
    threshold are the feature scorer's, so refusals are exactly the scorer's."""
    from qa.answering.extractive import ExtractiveAnswerer

    record = Embedded(
        [
            "The mill was opened in 2016 by Acme Steel. It makes plate for ships.",
            "Shipyards bought 640 tonnes of plate from the mill in 2021. Prices rose later.",
        ]
    )
    judges = {j: ExtractiveAnswerer(Settings(judge=j)) for j in ("scorer", "reader", "pick")}
    assert judges["pick"].reader is not None
    assert judges["pick"].threshold == judges["scorer"].threshold != judges["reader"].threshold
    for question in (
        "How much plate did shipyards buy from the mill in 2021?",
        "Who opened the mill?",
        "What did the mill pay its workers in 2019?",
    ):
        got = {j: a.judge(question, record.passages(), record) for j, a in judges.items()}
        assert got["pick"].support == got["scorer"].support
        assert got["pick"].ranked == got["reader"].ranked
