"""CI gate: the extractive eval on each of the project's gold sets must not fall below
eval/thresholds.toml (one table per gold set)."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pytest

from eval.gold import load_gold, locate
from eval.run import run_eval
from index.store import load_paragraphs
from qa.settings import Settings
from tests.conftest import ROOT

GOLD = ROOT / "eval" / "gold" / "exhibits_61_70.jsonl"
RECORD2_GOLD = ROOT / "eval" / "gold" / "record2.jsonl"
THRESHOLDS = ROOT / "eval" / "thresholds.toml"
# gold set name -> (gold file, the fixture giving settings whose store holds its record)
GOLD_SETS = {"exhibits_61_70": (GOLD, "sample_settings"), "record2": (RECORD2_GOLD, "record2_settings")}


def _get(report: dict[str, Any], dotted: str) -> float:
    section, metric = dotted.split(".", 1)
    node = report[section]
    if metric in node:
        return float(node[metric])
    sub, rest = metric.split(".", 1)  # "by_type.why.accuracy"
    return float(node[sub][rest])


def test_gold_set_shape() -> None:
    items = load_gold(GOLD)
    assert len(items) >= 100
    types = {i.type for i in items}
    assert types == {
        "factoid", "numeric", "date", "list", "why", "paraphrase",
        "exhibit_scoped", "cross_exhibit", "multi_part", "bilingual", "unanswerable",
    }  # fmt: skip
    assert sum(i.type == "unanswerable" for i in items) >= 30
    assert sum(i.near_miss for i in items if i.type == "unanswerable") * 2 >= sum(
        i.type == "unanswerable" for i in items
    )
    assert sum(i.type == "paraphrase" for i in items) >= 10
    assert {e.exhibit for i in items for e in i.evidence} == set(range(61, 71))
    assert all(not i.answers and not i.evidence for i in items if i.type == "unanswerable")


@pytest.mark.parametrize("gold", [GOLD, RECORD2_GOLD])
def test_each_gold_set_has_answers_that_take_more_than_one_sentence(gold: Any) -> None:
    items = load_gold(gold)
    parts = [i for i in items if i.type in ("cross_exhibit", "multi_part")]
    assert len(parts) >= 15 and sum(i.all_required and len(i.evidence) >= 2 for i in parts) >= 9
    assert sum(i.type == "why" for i in items) >= 15
    followups = [i for i in items if i.history]
    assert len(followups) >= 5 and sum(i.new_topic for i in followups) >= 2


def test_record2_gold_set_shape() -> None:
    items = load_gold(RECORD2_GOLD)
    unanswerable = [i for i in items if i.type == "unanswerable"]
    assert len(items) >= 60 and len(unanswerable) >= 30
    assert sum(i.near_miss for i in unanswerable) * 2 >= len(unanswerable)
    assert {e.exhibit for i in items for e in i.evidence} == set(range(1, 11))
    assert all(not i.answers and not i.evidence for i in unanswerable)
    assert all(i.answers and i.evidence for i in items if i.type != "unanswerable")


@pytest.mark.parametrize("name", GOLD_SETS)
def test_every_gold_quote_is_located_in_the_index(name: str, request: pytest.FixtureRequest) -> None:
    gold, fixture = GOLD_SETS[name]
    settings: Settings = request.getfixturevalue(fixture)
    items = load_gold(gold)
    located = locate(items, load_paragraphs(settings.store))
    missing = [f"{i.id}: {e.quote[:50]!r}" for i in items for e in located[i.id].missing]
    assert not missing, "gold-set errors (quotes not found within one paragraph):\n" + "\n".join(missing)


@pytest.fixture(scope="module", params=list(GOLD_SETS))
def report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from eval import report as report_mod

    gold, fixture = GOLD_SETS[request.param]
    result = run_eval(gold, request.getfixturevalue(fixture), mode="extractive")
    result["name"] = request.param
    out = tmp_path_factory.mktemp("eval")
    files = report_mod.write(result, out)
    assert {f.name for f in files} >= {"refusal_curve.png", "calibration.png"}
    print("\n" + report_mod.summary_table(result))
    return result


def test_the_trade_off_curve_spans_every_threshold(report: dict[str, Any]) -> None:
    curve = report["trade_off"]["curve"]
    assert [p["threshold"] for p in curve][0] == 0.0 and curve[-1]["threshold"] == 1.0
    refused = [p["refusal_recall"] for p in curve]
    assert refused == sorted(refused)  # refusing below a higher threshold refuses more
    assert curve[-1]["false_refusal_rate"] == 1.0
    chosen = report["trade_off"]["chosen"]
    # The eval's own run at the shipped threshold and the curve's point for it agree.
    assert chosen["refusal_recall"] == pytest.approx(report["answer"]["refusal_recall"])
    assert chosen["false_refusal_rate"] == pytest.approx(report["answer"]["false_refusal_rate"])


def test_citations_are_all_verified(report: dict[str, Any]) -> None:
    assert report["citations"]["n"] > 0
    assert report["citations"]["verified_rate"] == 1.0


def test_metrics_meet_thresholds(report: dict[str, Any]) -> None:
    limits = tomllib.loads(THRESHOLDS.read_text(encoding="utf-8"))[report["name"]]
    failures = [
        f"{name} = {_get(report, name):.3f} < {floor}"
        for name, floor in limits["min"].items()
        if _get(report, name) < floor
    ] + [
        f"{name} = {_get(report, name):.3f} > {ceiling}"
        for name, ceiling in limits["max"].items()
        if _get(report, name) > ceiling
    ]
    assert not failures, (
        "eval regressed:\n"
        + "\n".join(failures)
        + "\n"
        + json.dumps({k: report[k] for k in ("retrieval", "answer", "citations")}, indent=1)
    )
