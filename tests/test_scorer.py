"""The answer scorer: its features (pure), its model file, its training and calibration code."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from eval.calibrate import curve, fit_models, reliability, supports_of, threshold_for
from eval.curves import Open, point, trade_off
from qa.answering.features import (
    FEATURES,
    INDEX,
    candidates,
    negated,
    read_question,
    rows,
    with_sentence_cosines,
)
from qa.answering.scorer import MODEL_PATH, Linear, load, parse, support_inputs
from qa.errors import ConfigError
from qa.text import terms
from qa.types import Paragraph, Passage, support_label


class Record:
    """A Toolkit over a few paragraphs: term counts from their text, no embeddings."""

    def __init__(self, texts: Sequence[str]):
        self._paragraphs = {(1, i): Paragraph(1, i, t, "en", 0, len(t)) for i, t in enumerate(texts, 1)}
        self._df: dict[str, int] = {}
        for t in texts:
            for term in set(terms(t)):
                self._df[term] = self._df.get(term, 0) + 1

    @property
    def paragraphs(self) -> Mapping[tuple[int, int], Paragraph]:
        return self._paragraphs

    def passages(self) -> list[Passage]:
        return [Passage(p, 1.0) for p in self._paragraphs.values()]

    def embed_query(self, text: str) -> list[float]:
        raise AssertionError("features must not embed")

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        raise AssertionError("features must not embed")

    def closeness(self, question: str, keys: Sequence[tuple[int, int]]) -> list[float]:
        return [0.8] * len(keys)

    def df(self, term: str) -> int:
        return self._df.get(term, 0)

    def idf(self, term: str) -> float:
        return math.log(1 + len(self._paragraphs) / (self.df(term) + 0.5))


RECORD = Record(
    [
        "The mill was opened in 2016 by Acme Steel. It makes plate for ships.",
        "In 2019 the plant did not export any plate. Exports resumed later.",
        "Shipyards bought 640 tonnes of plate from the mill in 2021.",
    ]
)


def _rows(question: str) -> tuple[list[str], np.ndarray]:
    q = read_question(question, RECORD)
    cands = candidates(RECORD.passages(), q)
    return [c.sentence for c in cands], rows(q, cands, [0.8, 0.8, 0.8])


def _feature(question: str, sentence_start: str, name: str) -> float:
    sentences, x = _rows(question)
    j = next(i for i, s in enumerate(sentences) if s.startswith(sentence_start))
    return float(x[j, INDEX[name]])


def test_one_row_per_sentence_and_one_column_per_feature() -> None:
    sentences, x = _rows("When was the mill opened?")
    assert x.shape == (len(sentences), len(FEATURES)) == (5, len(FEATURES))
    assert np.isfinite(x).all()


@pytest.mark.parametrize(
    ("question", "sentence", "name", "value"),
    [
        ("When was the mill opened by Acme Steel?", "The mill was opened", "cov_s", 1.0),
        ("When was the mill opened by Acme Steel?", "It makes plate", "cov_s", 0.0),
        ("When was the mill opened by Acme Steel?", "It makes plate", "names_p", 1.0),
        ("When was the mill opened by Acme Steel?", "It makes plate", "names_s", 0.0),
        ("How many tonnes did shipyards buy in 2021?", "Shipyards bought", "nums_s", 1.0),
        ("How many tonnes did shipyards buy in 2021?", "Shipyards bought", "year_conflict", 0.0),
        ("How many tonnes did shipyards buy in 2018?", "Shipyards bought", "year_conflict", 1.0),
        ("How many tonnes did shipyards buy in 2021?", "Shipyards bought", "type_match", 1.0),
        ("How many tonnes did shipyards buy in 2021?", "Exports resumed", "type_match", 0.0),
        ("How many tonnes did shipyards buy in 2021?", "Shipyards bought", "kind_numeric", 1.0),
        ("Did the plant export plate in 2019?", "In 2019 the plant", "neg_mismatch", 1.0),
        ("Did the plant not export plate in 2019?", "In 2019 the plant", "neg_mismatch", 0.0),
        ("When did Globex open the mill?", "The mill was opened", "absent_record", 0.5),
        ("When did Acme open the mill?", "The mill was opened", "absent_record", 0.0),
        ("When was the mill opened?", "The mill was opened", "first", 1.0),
        ("When was the mill opened?", "It makes plate", "position", 1.0),
        ("When was the mill opened?", "In 2019", "rank_inv", 0.5),
    ],
)
def test_feature_values(question: str, sentence: str, name: str, value: float) -> None:
    assert _feature(question, sentence, name) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The plant did not export plate.", True),
        ("There is no limit on output.", True),
        ("No, the mill never reopened.", True),
        ("Exports stopped without notice.", True),
        ("The mill wasn't reopened.", True),
        ("None of the plants closed.", True),
        ("The plant exported plate.", False),
        # A document or item number is not a negation.
        ("| Text number: | Guofa [2016] No. 6 |", False),
        ("Announcement No.12 of 2021", False),
        ("Decree no 7 took effect.", False),
        ("Nobody objected.", False),
        ("Notice of the State Council", False),
    ],
)
def test_negated(text: str, expected: bool) -> None:
    assert negated(text) is expected


def test_a_missing_rare_term_shows_in_miss_features() -> None:
    # "furnace" is in no paragraph: the sentence lacks the question's rarest term.
    assert _feature("When was the furnace of the mill opened?", "The mill was opened", "miss_s") == 1.0
    assert _feature("When was the mill opened?", "The mill was opened", "miss_s") == 0.0


def test_sentence_cosines_replace_the_paragraphs_and_relative_columns_follow() -> None:
    _, x = _rows("When was the mill opened?")
    y = with_sentence_cosines(x, {0: 0.95})
    assert y[0, INDEX["scos"]] == pytest.approx(0.95)
    assert y[0, INDEX["scos_rel"]] == 0.0
    assert y[1, INDEX["scos_rel"]] == pytest.approx(0.8 - 0.95)
    assert x[0, INDEX["scos"]] == pytest.approx(0.8)  # the input is left alone


def test_the_packaged_model_loads_and_names_this_versions_features() -> None:
    scorer = load()
    assert json.loads(MODEL_PATH.read_text())["features"] == list(FEATURES)
    assert 0.0 < scorer.threshold < 1.0
    assert scorer.embed_top >= 1
    assert MODEL_PATH.stat().st_size < 64_000  # coefficients, not data
    assert "SQuAD" in scorer.card["licence"] and "CC BY-SA 4.0" in scorer.card["licence"]


def test_a_model_trained_on_other_features_is_refused(tmp_path: Path) -> None:
    data = json.loads(MODEL_PATH.read_text())
    data["features"] = data["features"][:-1]
    with pytest.raises(ConfigError, match="train_scorer"):
        parse(data, "old.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="Cannot read"):
        load(tmp_path / "bad.json")


def test_support_is_a_probability_that_follows_the_evidence() -> None:
    scorer = load()
    _, x = _rows("When was the mill opened by Acme Steel?")
    two = x[:2]
    support = scorer.support(np.array([2.0, -3.0]), two)
    assert 0.0 <= support <= 1.0
    assert scorer.support(np.array([]), x[:0]) == 0.0
    inputs = support_inputs(np.array([1.0, 3.0, 2.0]), x[:3])
    assert inputs[0] == 1.0  # the best's lead over the second
    assert np.allclose(inputs[1:], x[1])  # the best candidate's own features
    # The sentence that answers is better supported than one that does not touch the question.
    answering, unrelated = x[0:1], x[1:2]
    assert scorer.support(np.array([0.0]), answering) > scorer.support(np.array([0.0]), unrelated)


def test_linear_round_trips_through_json() -> None:
    m = Linear(np.array([1.0, 2.0]), np.array([0.5, 1.0]), np.array([2.0, -1.0]), 0.25)
    again = Linear.from_json(json.loads(json.dumps(m.to_json())))
    x = np.array([[1.0, 2.0], [3.0, 0.0]])
    assert np.allclose(m.logits(x), again.logits(x))
    assert m.logits(x)[0] == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("support", "refused", "label"),
    [(None, False, None), (0.9, False, "well supported"), (0.7, False, "well supported"),
     (0.5, False, "uncertain"), (0.2, True, "not supported")],
)  # fmt: skip
def test_support_label(support: float | None, refused: bool, label: str | None) -> None:
    assert support_label(support, refused) == label


def test_threshold_for_a_false_refusal_rate() -> None:
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert threshold_for(s, 0.0) == 0.1  # nothing below the lowest: nothing refused
    t = threshold_for(s, 0.2)
    assert (s < t).mean() == pytest.approx(0.2)


def test_curve_and_reliability() -> None:
    pts = curve([0.1, 0.9, 0.2, 0.8], [False, True, False, True], steps=3)
    assert [p["threshold"] for p in pts] == [0.0, 0.5, 1.0]
    assert pts[1]["refusal_recall"] == 1.0 and pts[1]["false_refusal_rate"] == 0.0
    assert pts[2]["false_refusal_rate"] == 1.0
    r = reliability([0.05, 0.95], [False, True], bins=10)
    assert r["brier"] == pytest.approx(0.0025)
    assert r["ece"] == pytest.approx(0.05)


def test_trade_off_points_count_each_side() -> None:
    items = [
        Open(True, 0.9, True),
        Open(True, 0.6, False),
        Open(True, 0.2, True),
        Open(False, 0.3, False, near_miss=True),
        Open(False, 0.7, False),
    ]
    p = point(items, 0.5)
    assert p["refusal_recall"] == 0.5
    assert p["near_miss_refusal_recall"] == 1.0
    assert p["false_refusal_rate"] == pytest.approx(1 / 3)
    assert p["answered_wrongly"] == pytest.approx(1 / 3)
    assert p["answerable_accuracy"] == pytest.approx(1 / 3)
    assert math.isnan(p["citation_precision"])  # no answer gave a cite
    t = trade_off(items, 0.5, steps=11)
    assert len(t["curve"]) == 11 and t["chosen"].keys() == p.keys()
    assert all(t["chosen"][key] == v for key, v in p.items() if key != "citation_precision")


def test_trade_off_points_give_the_citation_precision_of_the_answers_given() -> None:
    items = [
        Open(True, 0.9, True, cites=2, good_cites=2),
        Open(True, 0.6, False, cites=1, good_cites=0),
        Open(False, 0.4, False, cites=2, good_cites=0),  # every cite of an unanswerable is wrong
        Open(False, 0.1, False),
    ]
    assert point(items, 0.0)["citation_precision"] == pytest.approx(2 / 5)
    # Refusing more removes the unanswerable item's cites, then the wrong answer's.
    assert point(items, 0.5)["citation_precision"] == pytest.approx(2 / 3)
    assert point(items, 0.7)["citation_precision"] == 1.0
    assert math.isnan(point(items, 0.95)["citation_precision"])


def test_training_learns_a_separable_signal_and_sets_the_threshold() -> None:
    rng = np.random.default_rng(0)

    def question(answerable: bool) -> dict[str, object]:
        n = 6
        x = rng.normal(0, 1, (n, len(FEATURES))).astype(np.float32)
        x[:, INDEX["type_match"]], x[:, INDEX["absent_record"]] = 1.0, 0.0  # all eligible
        y = np.zeros(n, dtype=bool)
        if answerable:
            j = int(rng.integers(n))
            x[j, INDEX["cov_s"]] += 4.0
            y[j] = True
        return {
            "x": x,
            "scos": x[:, INDEX["scos"]].copy(),
            "y": y,
            "answerable": answerable,
            "synthetic": False,
        }

    train = [question(i % 2 == 0) for i in range(200)]
    val = [question(i % 2 == 0) for i in range(100)]
    scorer, choice = fit_models(train, val, 0.1, seed=0)
    assert scorer.rank.coef[INDEX["cov_s"]] == max(scorer.rank.coef)
    assert max(choice["top1_by_C"].values()) > 0.9
    supports, answerable = supports_of(scorer, val)
    assert supports[answerable].mean() > supports[~answerable].mean() + 0.3
    assert (supports[answerable] < scorer.threshold).mean() <= 0.1
