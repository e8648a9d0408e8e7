"""The app keeps answering while the record is rebuilt from the command line and exhibits are
uploaded through it, every answer checked against the generation it came from (eval/soak.py).
CI runs 4 clients for 60 s through 6 rebuilds and 3 uploads; ``make soak``
(``EXHIBITQA_SOAK=full``) runs 3 minutes through 20 rebuilds and 5 uploads.
``EXHIBITQA_SOAK_SECONDS`` sets the length alone. Figures go to ``build/test-artifacts/soak.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eval.soak import UPLOAD_FIRST, SoakConfig, run_soak
from qa.settings import Settings
from tests.conftest import ROOT, SAMPLE

FULL = os.environ.get("EXHIBITQA_SOAK") == "full"
CONFIG = SoakConfig(
    seconds=float(os.environ.get("EXHIBITQA_SOAK_SECONDS", "180" if FULL else "60")),
    clients=4,
    rebuilds=20 if FULL else 6,
    uploads=5 if FULL else 3,
)


def test_the_app_answers_through_rebuilds_and_uploads(sample_settings: Settings, tmp_path: Path) -> None:
    config = CONFIG
    figures = run_soak(SAMPLE, tmp_path, config, seed_store=Path(sample_settings.store))
    out = ROOT / "build" / "test-artifacts"
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(figures, indent=2))
    assert figures["errors"] == [], figures["errors"][:5]
    assert figures["rebuilds"] == config.rebuilds and figures["uploads"] == config.uploads, figures
    checked = figures["checked"]
    # Enough answers of each kind that every generation was asked about, most of them twice.
    assert checked["fact_answers"] >= 2 * config.rebuilds, checked
    assert checked["upload_answers"] >= 2 * config.uploads, checked
    # Each rebuild changes a fact and makes a generation, unless an upload's build waiting on the
    # same lock read the changed file first; likewise an upload whose file a concurrent rebuild
    # took from the uploads folder makes none. Every change still reaches the index (checked by
    # run_soak: the last fact and every upload are in the final generation).
    assert figures["rebuilds_indexed"] + figures["rebuilds_absorbed"] == config.rebuilds
    assert figures["rebuilds_absorbed"] <= figures["uploads"]
    assert figures["generations_seen"] >= 1 + figures["rebuilds_indexed"]
    uploaded = list(range(UPLOAD_FIRST, UPLOAD_FIRST + config.uploads))
    assert figures["exhibits_at_end"][-config.uploads :] == uploaded  # uploads outlive later rebuilds
    assert figures["generations_on_disk_after"] <= 3  # replaced generations do not pile up ...
    assert figures["generations_on_disk_when_idle"] == 1  # ... and go once nobody reads them
    rss = figures["rss_mb"]
    assert rss["late"] <= rss["early"] * 1.15 + 50, rss  # memory levels off across the generations
