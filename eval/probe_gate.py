"""Which gate should decide whether to answer: the feature scorer's support, the reader's stack,
or the packaged 1.5B model as judge? ``python -m eval.probe_gate --data ../shared/training``

Each question of a validation set (the analyst-style questions written here by default; never a
gold set) is asked of its indexed record; the default judge's sentence (the stack's pick) is
what a gate lets through or refuses. Per question it records the scorer's support, the stack's
own support (``judge="reader"``), the local model's probability that the sentence answers (its
first token against NONE, as ``extractive+check`` asks it) and the shipped second opinion's
combination of scorer and model. Rows are kept in ``~/.cache/exhibitqa/gate`` (a run resumes);
the report gives each gate's refusal at 8% false refusals and its AUC. Nothing is fitted here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval.fit_reader import figures
from eval.probe_stack import WORK
from eval.record_groups import analyst_split, index_split, is_right, validation_sample
from qa.settings import Settings

GATES = ("scorer", "stack", "model", "scorer+model")
OUT = Path.home() / ".cache" / "exhibitqa" / "gate"


def collect(data: Path, which: str, n: int, seed: int, out: Path) -> list[dict[str, Any]]:
    """One row per question, appended to ``out`` as it is judged (a cut-off run resumes)."""
    import openai

    from qa.answering.extractive import ExtractiveAnswerer
    from qa.answering.local import ensure_server
    from qa.answering.opinion import judge_messages, load_opinion, p_answers

    split = analyst_split(data, seed) if which == "analyst" else validation_sample(data, seed, n)
    settings = Settings()
    retriever = index_split(split, WORK, settings)
    s = settings.model_copy(update={"store": retriever.settings.store})
    judges = {j: ExtractiveAnswerer(s.model_copy(update={"judge": j})) for j in ("scorer", "reader")}
    server = ensure_server(settings)
    client = openai.OpenAI(base_url=server.base_url, api_key="local", timeout=120, max_retries=1)
    opinion = load_opinion()
    done = [json.loads(line) for line in out.read_text("utf-8").splitlines()] if out.exists() else []
    seen = {r["qid"] for r in done}
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as fh:
        for i, it in enumerate(split.items):
            if it.qid in seen:
                continue
            passages = retriever.search(it.question, k=settings.k)
            scored = judges["scorer"].judge(it.question, passages, retriever)
            stacked = judges["reader"].judge(it.question, passages, retriever)
            row: dict[str, Any] = {"qid": it.qid, "answerable": bool(it.answers), "synthetic": it.synthetic}
            if not scored.ranked or not stacked.ranked:  # refused by rule, before any gate
                row |= {"right": False, "scorer": 0.0, "stack": 0.0, "model": 0.0, "scorer+model": 0.0}
            else:
                pick = stacked.ranked[0].candidate
                t0 = time.perf_counter()
                p = p_answers(client, server.model, judge_messages(it.question, pick))
                row |= {
                    "right": is_right(it, pick),
                    "scorer": scored.support,
                    "stack": stacked.support,
                    "model": p,
                    "scorer+model": opinion.support(scored.support, p),
                    "model_seconds": round(time.perf_counter() - t0, 2),
                }
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            done.append(row)
            if i % 25 == 0:
                print(f"{which}: {i}/{len(split.items)}", file=sys.stderr, flush=True)
    return done


def report(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Each gate's figures over the same questions and sentences."""
    right = np.asarray([r["right"] for r in rows])
    return {g: figures(np.asarray([r[g] for r in rows]), right, rows) for g in GATES}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/training"))
    p.add_argument("--set", choices=("analyst", "squad"), default="analyst")
    p.add_argument("--n", type=int, default=300, help="SQuAD validation questions sampled")
    p.add_argument("--seed", type=int, default=13)
    args = p.parse_args(argv)
    rows = collect(args.data, args.set, args.n, args.seed, OUT / f"{args.set}-{args.n}-{args.seed}.jsonl")
    for gate, f in report(rows).items():
        print(f"{gate:14s} " + " ".join(f"{k}={v:.3f}" for k, v in f.items() if k != "threshold_score"))
    seconds = [r["model_seconds"] for r in rows if "model_seconds" in r]
    print(json.dumps({"questions": len(rows), "model_seconds_p50": float(np.median(seconds or [0.0]))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
