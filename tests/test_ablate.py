"""eval.ablate: leaving a part out, and deciding whether it earns its place."""

from __future__ import annotations

import numpy as np
import pytest

from eval.ablate import zeroed
from eval.ablate_card import card_section
from eval.calibrate import eligible
from eval.earning import EARNS, SQUAD, earns, eliminate, means, scorer_earns
from eval.fit_stack import _linear_without
from eval.reader_card import markers, section_of, with_section
from qa.answering.features import FEATURES, INDEX


def _item(rng: np.random.Generator, n: int = 5) -> dict[str, object]:
    x = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
    return {"x": x, "xf": x + 1, "scos": rng.normal(size=n).astype(np.float32), "y": np.zeros(n, bool)}


@pytest.mark.parametrize(
    "columns", [("cov_s",), ("names_s", "names_p", "nums_s", "nums_p"), ("scos", "scos_rel"), ()]
)
def test_zeroed_leaves_out_exactly_the_named_columns(columns: tuple[str, ...]) -> None:
    rng = np.random.default_rng(0)
    item = _item(rng)
    (out,) = zeroed([item], columns)
    cols = [INDEX[c] for c in columns]
    rest = [i for i in range(len(FEATURES)) if i not in cols]
    assert not out["x"][:, cols].any() and not out["xf"][:, cols].any()
    assert np.array_equal(out["x"][:, rest], item["x"][:, rest])  # type: ignore[index]
    assert np.array_equal(out["xf"][:, rest], item["xf"][:, rest])  # type: ignore[index]
    # the sentence cosines fill the scos columns later: left out, they must be zero too
    assert (not out["scos"].any()) == ("scos" in columns)
    assert item["x"][:, cols].any() or not cols  # type: ignore[index]  # the input is untouched


@pytest.mark.parametrize(
    "rules, kept",
    [(("kind", "absent"), [0]), (("kind",), [0, 2]), (("absent",), [0, 1]), ((), [0, 1, 2])],
)
def test_eligible_applies_only_the_rules_named(rules: tuple[str, ...], kept: list[int]) -> None:
    x = np.zeros((3, len(FEATURES)), dtype=np.float32)
    x[:, INDEX["type_match"]] = [1, 0, 1]
    x[:, INDEX["absent_record"]] = [0, 0, 1]
    item = {"x": x, "xf": x, "scos": np.arange(3.0), "y": np.asarray([True, False, False])}
    (out,) = eligible([item], rules)
    assert out["scos"].tolist() == [float(i) for i in kept]


@pytest.mark.parametrize(
    "without, expected",
    [
        ({"top1": 0.70, "refused_mean": 0.50, "auc": 0.80}, False),  # costs nothing
        ({"top1": 0.70 - EARNS / 2, "refused_mean": 0.50, "auc": 0.80}, False),  # within the margin
        ({"top1": 0.70 - EARNS, "refused_mean": 0.50, "auc": 0.80}, True),
        ({"top1": 0.75, "refused_mean": 0.50 - 2 * EARNS, "auc": 0.85}, True),  # one loss is enough
        ({"top1": 0.70, "refused_mean": 0.50, "auc": 0.79}, True),
    ],
)
def test_a_part_earns_its_place_when_leaving_it_out_costs_the_margin(
    without: dict[str, float], expected: bool
) -> None:
    assert earns({"top1": 0.70, "refused_mean": 0.50, "auc": 0.80}, without) is expected


def test_means_average_each_figure_over_the_sets() -> None:
    by_set = {
        "a": {"top1": 0.6, "refused_mean": 0.2, "auc": 0.7, "other": 9.0},
        "b": {"top1": 0.8, "refused_mean": 0.4, "auc": 0.9, "other": 1.0},
    }
    assert means(by_set) == {"top1": 0.7, "refused_mean": 0.3, "auc": 0.8}


def test_elimination_leaves_out_the_free_parts_and_cannot_drift() -> None:
    base = {"top1": 0.70, "refused_mean": 0.50, "auc": 0.80}
    cost = {"useless": 0.0, "helps": 0.02, "tiny": 0.003}

    def trial(out: tuple[str, ...]) -> dict[str, float]:
        # each part left out costs its amount on every figure; "useless" even gains a little
        lost = sum(cost[p] for p in out) - (0.001 if "useless" in out else 0.0)
        return {k: v - lost for k, v in base.items()}

    steps = eliminate(base, trial, list(cost))
    assert [s["left_out"] for s in steps] == ["useless", "tiny"]
    assert steps[-1]["top1"] == pytest.approx(0.70 - 0.002)
    # two parts that each cost 0.003 cannot both go: together they cost more than the margin
    cost2 = {"a": 0.003, "b": 0.003}
    steps2 = eliminate(
        base, lambda out: {k: v - sum(cost2[p] for p in out) for k, v in base.items()}, list(cost2)
    )
    assert [s["left_out"] for s in steps2] == ["a"]


def test_a_left_out_input_weighs_nothing_whatever_it_holds() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] + x[:, 2] > 0).astype(int)
    m = _linear_without(x, y, ("a", "b", "c"), ("c",))
    assert m.coef[2] == 0.0 and m.coef[0] > 0
    far = x.copy()
    far[:, 2] = 1e9  # at inference the column holds anything
    assert np.allclose(m.logits(far), m.logits(x))


@pytest.mark.parametrize("name", ["stack", "ablate"])
def test_named_card_sections_are_replaced_independently(name: str) -> None:
    other = "ablate" if name == "stack" else "stack"
    card = "# The reader\n\n## Data and licences\n\nSQuAD.\n"
    card = with_section(with_section(card, "theirs", other), "first", name)
    twice = with_section(card, "second", name)
    begin, _ = markers(name)
    assert twice.count(begin) == 1 and twice.count("## Data and licences") == 1
    assert (section_of(twice, name) or "").strip() == "second"
    assert (section_of(twice, other) or "").strip() == "theirs"
    assert section_of("no sections", name) is None


def test_a_scorer_part_is_judged_on_the_means_over_its_validation_sets() -> None:
    f = {"top1": 0.6, "refused_mean": 0.3, "auc": 0.6, "near_miss_mean": 0.2}
    squad = f | {"top1_document_named": 0.5}
    table = {
        "shipped parts (refitted)": {SQUAD: squad, "Analyst questions": f},
        # the analyst set alone loses 0.01: the mean loses the margin, so the part earns its place
        "without a": {SQUAD: squad, "Analyst questions": f | {"top1": 0.59}},
        "without b": {SQUAD: squad | {"top1": 0.61}, "Analyst questions": f | {"top1": 0.595}},
        "elimination": [{"left_out": "b", "top1": 0.6025, "refused_mean": 0.3, "auc": 0.6}],
    }
    lines = card_section({"scorer": table}).splitlines()
    row = {line.split(" | ")[0].strip("| "): line for line in lines if line.startswith("| without")}
    assert row["without a"].endswith("| yes |") and "| 0.595 |" in row["without a"]
    assert row["without b"].endswith("| **no** |")
    assert f"{SQUAD}: first" in card_section({"scorer": table})
    assert "1. b: 0.603 / 0.300 / 0.600" in lines


@pytest.mark.parametrize(
    "squad, analyst, expected",
    [
        ({}, {}, False),  # costs nothing
        ({"near_miss_mean": 0.19}, {}, True),  # near-misses on the scorer's own split
        ({}, {"near_miss_mean": 0.19}, True),  # the mean over the sets with near-misses falls 0.005
        ({}, {"near_miss_mean": 0.196}, False),
        ({"top1": 0.594}, {}, True),  # answer first on its own split
        ({"top1": 0.61}, {"refused_mean": 0.28}, True),  # refusal on the means (0.01) despite a gain
    ],
)
def test_a_scorer_part_earns_its_place_on_any_figure_it_is_judged_on(
    squad: dict[str, float], analyst: dict[str, float], expected: bool
) -> None:
    f = {"top1": 0.6, "refused_mean": 0.3, "auc": 0.6, "near_miss_mean": 0.2}
    cuad = f | {"near_miss_mean": float("nan")}  # no near-misses: left out of their mean
    base = {SQUAD: f, "CUAD contracts": cuad, "Analyst questions": f}
    without = {SQUAD: f | squad, "CUAD contracts": cuad, "Analyst questions": f | analyst}
    assert scorer_earns(base, without) is expected
