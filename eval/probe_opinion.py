"""Probe the local model as a judge of extractive answers, on the scorer's training data.

    python -m eval.probe_opinion --data ../shared/training --n 300

For a seeded sample of the training and validation questions of ``eval.train_scorer`` (never
the gold sets), the extractive answerer's best sentence is shown to the judging model, and
the model's probability of answering rather than saying NONE is recorded beside the scorer's support and whether the
sentence really holds the answer. ``eval.train_scorer --opinion`` fits the combination on the
training rows and sets its threshold on the validation rows.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from eval.train_scorer import Item, make_splits, write_record
from qa.answering.extractive import ExtractiveAnswerer
from qa.answering.opinion import judge_messages, p_answers
from qa.cites import normalize
from qa.settings import Settings


def right(item: Item, paragraph: str, sentence: str) -> bool:
    """Whether ``sentence`` (of ``paragraph``) holds one of the item's answers."""
    answers = [normalize(a) for a in item.answers]
    return (
        bool(answers)
        and normalize(paragraph) in normalize(item.context)
        and any(a and a in normalize(sentence) for a in answers)
    )


def probe(
    split_name: str, items: list[Item], store: Path, settings: Settings, client: Any, model: str, out: Path
) -> None:
    from qa.retrieve import Retriever

    s = settings.model_copy(update={"store": store})
    retriever = Retriever(s)
    answerer = ExtractiveAnswerer(
        s.model_copy(update={"judge": "scorer"})
    )  # the opinion is fitted on its support
    done = set()
    if out.exists():
        done = {json.loads(line)["qid"] for line in out.read_text(encoding="utf-8").splitlines() if line}
    with out.open("a", encoding="utf-8") as fh:
        for n, it in enumerate(items):
            if it.qid in done:
                continue
            passages = retriever.search(it.question, k=settings.k)
            judged = answerer.judge(it.question, passages, retriever)
            if not judged.ranked:
                continue  # refused by rule: the model is never asked
            best = judged.ranked[0].candidate
            t0 = time.perf_counter()
            prob = p_answers(client, model, judge_messages(it.question, best))
            row = {
                "qid": it.qid,
                "split": split_name,
                "answerable": bool(it.answers),
                "synthetic": it.synthetic,
                "support": judged.support,
                "right": right(it, best.passage.paragraph.text, best.sentence),
                "judge": prob,
                "seconds": round(time.perf_counter() - t0, 3),
            }
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            if n % 20 == 0:
                print(
                    f"{split_name}: {n}/{len(items)} judge={prob:.3f} right={row['right']}", file=sys.stderr
                )
            retriever.clear_caches()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/training"))
    p.add_argument("--cache", type=Path, default=Settings().local_model_dir / "scorer-training")
    p.add_argument("--n", type=int, default=160, help="training questions")
    p.add_argument("--n-validation", type=int, default=300, help="validation questions")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument(
        "--fresh",
        action="store_true",
        help="discard earlier rows (needed after changing the judge's prompt; otherwise a run resumes)",
    )
    args = p.parse_args(argv)
    if args.fresh:
        for name in ("train", "validation"):
            (args.cache / f"opinion-{name}.jsonl").unlink(missing_ok=True)
    import openai

    from index.store import build
    from qa.answering.local import ensure_server

    settings = Settings()
    server = ensure_server(settings)
    client = openai.OpenAI(base_url=server.base_url, api_key="local", timeout=120, max_retries=1)
    rng = random.Random(args.seed)
    work = []
    for split in make_splits(args.data, args.seed):
        record = write_record(split, args.cache)
        store = args.cache / f"{split.name}.store"
        build([record], settings.model_copy(update={"store": store}))
        n = args.n if split.name == "train" else args.n_validation
        work.append((split.name, rng.sample(split.items, min(n, len(split.items))), store))
    # The splits take turns, a batch at a time, so that a probe cut short still has both.
    for start in range(0, max(args.n, args.n_validation), 40):
        for name, items, store in work:
            out = args.cache / f"opinion-{name}.jsonl"
            probe(name, items[start : start + 40], store, settings, client, server.model, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
