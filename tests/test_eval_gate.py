"""CI gate: the extractive eval on the project's gold set must not fall below eval/thresholds.toml."""

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
THRESHOLDS = ROOT / "eval" / "thresholds.toml"


def _get(report: dict[str, Any], dotted: str) -> float:
    section, metric = dotted.split(".", 1)
    return float(report[section][metric])


def test_gold_set_shape() -> None:
    items = load_gold(GOLD)
    assert len(items) >= 100
    types = {i.type for i in items}
    assert types == {
        "factoid", "numeric", "date", "list", "why", "paraphrase",
        "exhibit_scoped", "cross_exhibit", "bilingual", "unanswerable",
    }  # fmt: skip
    assert sum(i.type == "unanswerable" for i in items) >= 10
    assert sum(i.type == "paraphrase" for i in items) >= 10
    assert {e.exhibit for i in items for e in i.evidence} == set(range(61, 71))
    assert all(not i.answers and not i.evidence for i in items if i.type == "unanswerable")


def test_every_gold_quote_is_located_in_the_index(sample_settings: Settings) -> None:
    items = load_gold(GOLD)
    located = locate(items, load_paragraphs(sample_settings.store))
    missing = [f"{i.id}: {e.quote[:50]!r}" for i in items for e in located[i.id].missing]
    assert not missing, "gold-set errors (quotes not found within one paragraph):\n" + "\n".join(missing)


@pytest.fixture(scope="module")
def report(sample_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from eval import report as report_mod

    result = run_eval(GOLD, sample_settings, mode="extractive")
    out = tmp_path_factory.mktemp("eval")
    report_mod.write(result, out)
    print("\n" + report_mod.summary_table(result))
    return result


def test_citations_are_all_verified(report: dict[str, Any]) -> None:
    assert report["citations"]["n"] > 0
    assert report["citations"]["verified_rate"] == 1.0


def test_metrics_meet_thresholds(report: dict[str, Any]) -> None:
    limits = tomllib.loads(THRESHOLDS.read_text(encoding="utf-8"))
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
