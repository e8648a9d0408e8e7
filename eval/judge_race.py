"""The judges side by side in one process: ``python -m eval.judge_race``.

Each gold question is asked in turn, extractive mode, by each judge: the feature scorer alone
(``judge="scorer"``), the default (``"pick"``: the reader's stack picks, the scorer's support
refuses) and ``"reader"``, so all see the same machine load, caches and index (each question's
embeddings forgotten before each run); reports each one's answer latency (p50 / p95) and its
ratio to the scorer's. Answers are not scored here
(that is ``exhibitqa eval``); this measures time only. Writes ``judge_race.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval.gold import load_gold
from qa.api import ask, get_retriever
from qa.settings import Settings


def race(questions: list[str], settings: Settings) -> dict[str, Any]:
    judges = {
        j: settings.model_copy(update={"judge": j, "mode": "extractive"})
        for j in ("scorer", "pick", "reader")
    }
    for s in judges.values():
        ask(questions[0], settings=s)  # load models and the index before timing
    ms: dict[str, list[float]] = {j: [] for j in judges}
    for q in questions:
        for j, s in judges.items():
            # Every judge embeds the question and sentences: a later one would find them cached,
            # so each starts from scratch.
            get_retriever(s).clear_caches()
            t0 = time.perf_counter()
            ask(q, settings=s)
            ms[j].append((time.perf_counter() - t0) * 1000)
    out: dict[str, Any] = {"questions": len(questions)}
    for j, xs in ms.items():
        out[j] = {"p50_ms": round(float(np.median(xs)), 1), "p95_ms": round(float(np.quantile(xs, 0.95)), 1)}
    out["p50_ratio"] = {j: round(out[j]["p50_ms"] / out["scorer"]["p50_ms"], 2) for j in ("pick", "reader")}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gold", default="eval/gold/exhibits_61_70.jsonl")
    p.add_argument("--out", type=Path, default=Path("eval/results"))
    args = p.parse_args(argv)
    questions = [it.question for it in load_gold(Path(args.gold)) if not it.history]
    report = race(questions, Settings())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "judge_race.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
