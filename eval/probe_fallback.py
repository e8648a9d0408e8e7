"""Probe the whole local answer path on the scorer's validation questions (never the gold sets).

    python -m eval.probe_fallback --data ../shared/training --n 240

Each seeded validation question of ``eval.train_scorer`` is asked in local mode, as a user
would ask it, and one row records whether the answer was refused, whether it came from the
extractive fallback after the verifier dropped every sentence the model wrote (and why it
dropped them), and whether the answer is right: it cites the question's own paragraph and
holds one of its answers. An unanswerable question answered is wrong. The rows decide what
the LLM path does when the model's sentences fail verification (``qa.answering.llm``):
``--report`` compares falling back (as shipped) with refusing, along the refusal threshold.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eval.train_scorer import Item, make_splits, write_record
from qa.cites import normalize
from qa.settings import Settings

FELL_BACK = "survived verification"  # the LLM path's note when it showed the extractive answer


def right(item: Item, answer: Any) -> bool:
    """Whether ``answer`` cites the item's paragraph and states one of its answers."""
    if answer.refused or not item.answers:
        return False
    context = normalize(item.context)
    cited = [c for c in answer.citations if normalize(c.quote) in context]
    said = normalize(" ".join([answer.text, *(c.quote for c in cited)]))
    return bool(cited) and any(normalize(a) in said for a in item.answers if a)


def row(item: Item, answer: Any, seconds: float) -> dict[str, Any]:
    fell_back = any(FELL_BACK in n for n in answer.notes)
    return {
        "qid": item.qid,
        "answerable": bool(item.answers),
        "synthetic": item.synthetic,
        "refused": answer.refused,
        "fell_back": fell_back,
        "dropped": [d.reason for d in answer.dropped],
        "support": answer.support,
        "right": right(item, answer),
        "seconds": round(seconds, 2),
    }


_DROPPED_RE = re.compile(r"(names|states) (.*), which no cited")


def dropped_terms(reason: str, question: str) -> tuple[str, bool] | None:
    """For a name or figure drop: its kind and whether the question itself gives the term."""
    m = _DROPPED_RE.match(reason)
    if m is None:
        return None
    q = normalize(question)
    return m.group(1), any(normalize(t) in q for t in m.group(2).split(", ") if t.strip())


Policy = Callable[[list[tuple[str, bool]]], bool]
# Each says, from the drops of a fallen-back answer, whether to refuse instead of falling back.
POLICIES: dict[str, Policy] = {
    "fall back (shipped)": lambda drops: False,
    "refuse after any name or figure drop": lambda drops: bool(drops),
    "refuse when a dropped term is the question's": lambda drops: any(q for _, q in drops),
    "refuse when a dropped name is the question's": lambda drops: any(k == "names" and q for k, q in drops),
}


def outcome(row: dict[str, Any], question: str, threshold: float, policy: Policy) -> str:
    """'right', 'wrong' or 'refused' for one probed answer under a threshold and a policy."""
    drops = [d for r in row["dropped"] if (d := dropped_terms(r, question))] if row["fell_back"] else []
    if row["refused"] or (row["support"] or 0.0) < threshold or (row["fell_back"] and policy(drops)):
        return "refused"
    return "right" if row["right"] else "wrong"


def report(rows: list[dict[str, Any]], questions: dict[str, str]) -> str:
    """Right / wrong answers and refusals per policy and threshold, human-written questions
    apart from the near-misses made by swapping a name or year (caught by construction)."""
    lines = []
    for label, synthetic in (("human-written", False), ("name- or year-swapped near-misses", True)):
        sel = [r for r in rows if r["synthetic"] == synthetic]
        lines.append(f"{label}: {len(sel)} questions, {sum(r['answerable'] for r in sel)} answerable")
        for name, policy in POLICIES.items():
            lines.append(f"  {name}")
            for t in (0.0, 0.047, 0.1, 0.1256, 0.2, 0.3):
                got = [(outcome(r, questions[r["qid"]], t, policy), r["answerable"]) for r in sel]
                lines.append(
                    f"    threshold {t:.3f}: right {sum(o == 'right' for o, _ in got)}, "
                    f"wrong {sum(o == 'wrong' for o, _ in got)}, answerable refused "
                    f"{sum(o == 'refused' and a for o, a in got)}, unanswerable refused "
                    f"{sum(o == 'refused' and not a for o, a in got)}"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/training"))
    p.add_argument("--cache", type=Path, default=Settings().local_model_dir / "scorer-training")
    p.add_argument("--n", type=int, default=240, help="validation questions")
    p.add_argument("--k", type=int, default=4, help="passages retrieved, as in the local eval sample")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--out", type=Path, help="rows file (default: CACHE/fallback-validation.jsonl)")
    p.add_argument("--report", action="store_true", help="only print the comparison of the rows so far")
    args = p.parse_args(argv)
    from index.store import build
    from qa.api import ask

    split = next(s for s in make_splits(args.data, args.seed) if s.name == "validation")
    out = args.out or args.cache / "fallback-validation.jsonl"
    questions = {it.qid: it.question for it in split.items}
    if args.report:
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]
        print(report(rows, questions))
        return 0
    record = write_record(split, args.cache)
    store = args.cache / f"{split.name}.store"
    settings = Settings().model_copy(update={"store": store})
    build([record], settings)
    done = set()
    if out.exists():
        done = {json.loads(line)["qid"] for line in out.read_text(encoding="utf-8").splitlines() if line}
    items = random.Random(args.seed).sample(split.items, min(args.n, len(split.items)))
    with out.open("a", encoding="utf-8") as fh:
        for n, it in enumerate(items):
            if it.qid in done:
                continue
            t0 = time.perf_counter()
            answer = ask(it.question, k=args.k, mode="local", settings=settings)
            r = row(it, answer, time.perf_counter() - t0)
            fh.write(json.dumps(r) + "\n")
            fh.flush()
            print(f"{n + 1}/{len(items)} {r}", file=sys.stderr)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]
    print(report(rows, questions))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
