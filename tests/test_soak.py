"""The app keeps answering while the record is rebuilt 20 times from the command line and 5
exhibits are uploaded through it: 4 clients, 3 minutes, every answer checked against the
generation it came from (eval/soak.py). ``EXHIBITQA_SOAK_SECONDS`` shortens it for local
iteration; CI runs the full soak. Figures go to ``build/test-artifacts/soak.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eval.soak import SoakConfig, run_soak
from qa.settings import Settings
from tests.conftest import ROOT, SAMPLE

SECONDS = float(os.environ.get("EXHIBITQA_SOAK_SECONDS", "180"))


def test_the_app_answers_through_20_rebuilds_and_5_uploads(sample_settings: Settings, tmp_path: Path) -> None:
    config = SoakConfig(seconds=SECONDS, clients=4, rebuilds=20, uploads=5)
    figures = run_soak(SAMPLE, tmp_path, config, seed_store=Path(sample_settings.store))
    out = ROOT / "build" / "test-artifacts"
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(figures, indent=2))
    assert figures["errors"] == [], figures["errors"][:5]
    assert figures["rebuilds"] == 20 and figures["uploads"] == 5, figures
    checked = figures["checked"]
    # Enough answers of each kind that every generation was asked about, most of them twice.
    assert checked["fact_answers"] >= 40 and checked["upload_answers"] >= 10, checked
    # Each rebuild changes a fact and makes a generation, unless an upload's build waiting on the
    # same lock read the changed file first; likewise an upload whose file a concurrent rebuild
    # took from the uploads folder makes none. Every change still reaches the index (checked by
    # run_soak: the last fact and every upload are in the final generation).
    assert figures["rebuilds_indexed"] + figures["rebuilds_absorbed"] == 20
    assert figures["rebuilds_absorbed"] <= figures["uploads"]
    assert figures["generations_seen"] >= 1 + figures["rebuilds_indexed"]
    assert figures["exhibits_at_end"][-5:] == [81, 82, 83, 84, 85]  # uploads outlive later rebuilds
    assert figures["generations_on_disk_after"] <= 3  # replaced generations do not pile up ...
    assert figures["generations_on_disk_when_idle"] == 1  # ... and go once nobody reads them
    rss = figures["rss_mb"]
    assert rss["late"] <= rss["early"] * 1.15 + 50, rss  # memory levels off across 26 generations
