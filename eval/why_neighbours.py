"""Where a why question's answer lies relative to the sentence that best matches it, on SQuAD
2.0 (training data, never the gold sets): ``python -m eval.why_neighbours --data ../shared/training``.

It chose which neighbour the extractive answerer adds to a why answer whose sentences state no
reason (qa/answering/extractive.py): the sentence after the best, not the one before. The best
sentence here is the one sharing most content terms with the question, a stand-in for the
scorer that needs no index.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
from pathlib import Path

from qa.questions import CAUSAL_RE, asks_reason
from qa.text import split_sentences, terms

FILES = ("squad2-dev-6/dev-v2.0.6articles.json", "squad2-train/train-v2.0.first10articles.json")


def where(context: str, question: str, answers: list[str]) -> tuple[bool, str]:
    """Whether the best-matching sentence states a reason, and where the answer is from it:
    "best", "next", "previous" or "other"."""
    sentences = split_sentences(context)
    asked = set(terms(question))
    best = max(range(len(sentences)), key=lambda i: len(asked & set(terms(sentences[i]))))
    holding = {i for i, s in enumerate(sentences) if any(a in s for a in answers)}
    causal = bool(CAUSAL_RE.search(sentences[best]))
    for name, i in (("best", best), ("next", best + 1), ("previous", best - 1)):
        if i in holding:
            return causal, name
    return causal, "other"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/training"))
    args = ap.parse_args(argv)
    counts: collections.Counter[tuple[bool, str]] = collections.Counter()
    for name in FILES:
        for article in json.loads((args.data / name).read_text(encoding="utf-8"))["data"]:
            for p in article["paragraphs"]:
                for q in p["qas"]:
                    if q.get("is_impossible") or not asks_reason(q["question"]):
                        continue
                    answers = [a["text"] for a in q["answers"] if re.search(r"\w", a["text"])]
                    counts[where(p["context"], q["question"], answers)] += 1
    for causal in (False, True):
        row = {k: counts[(causal, k)] for k in ("best", "next", "previous", "other")}
        label = "states a reason" if causal else "states no reason"
        print(f"best sentence {label}: {sum(row.values())} questions, answer in {row}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
