"""What quoting a second sentence does to an answer's cites, per judge, measured on the stack's
validation sets (never the gold sets); the curve goes into the reader's card.

    python -m eval.second_sentences --data ../shared/training

A runner-up nearly as likely as the best often holds the part of the fact the best only frames
(the answerer quotes it at >= 0.8 of the best's probability, ``ExtractiveAnswerer._chosen``), but
a runner-up from another paragraph is a second cite, and a wrong cite is worse than no answer.
For each share (1: never a second sentence) it measures, on the questions a judge answers that do
not gather sentences (list and why questions keep their own rule): citation precision (a cite is
right when its paragraph is the one the question was asked of; every cite of an unanswerable
question is wrong, as the gold sets count), the answerable questions whose quote holds an answer
sentence, and how often a second sentence is quoted. The rows are ``eval.probe_stack``'s, judged
by the shipped stack.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.fit_stack import seen, validation_sets
from eval.reader_card import with_section
from qa.answering.stack import Stack

SHARES = tuple(round(0.5 + 0.05 * i, 2) for i in range(11))  # 0.5 .. 1.0
JUDGES = ("scorer", "pick", "reader")


def ranked(row: dict[str, Any], judge: str, stack: Stack) -> tuple[list[tuple[int, float]], float]:
    """The judge's candidates best first with their probabilities, and its support (the scorer's
    for "scorer" and "pick", whose refusal is the scorer's)."""
    if judge == "scorer":
        return list(zip(row["scorer_order"], row["scorer_p"], strict=True)), row["today_support"]
    s = seen(row, stack.read)
    if s is None:
        return [], 0.0
    order, support = stack.judge(s)
    return order, support if judge == "reader" else row["today_support"]


def quoted(order: Sequence[tuple[int, float]], share: float) -> list[int]:
    """The best candidate, and the runner-up when its probability is at least ``share`` of the best's."""
    if not order:
        return []
    (best, p), rest = order[0], order[1:]
    return [best] + [c for c, q in rest[:1] if q >= share * p]


def measure(
    rows: list[dict[str, Any]], judge: str, stack: Stack, threshold: float
) -> dict[str, dict[str, float]]:
    """Per share: citation precision, answerable questions quoting an answer sentence, and how
    often a second sentence is quoted, on the answered questions that do not gather."""
    use = [r for r in rows if not r["gather"] and not r["absent"]]
    judged = [ranked(r, judge, stack) for r in use]
    out = {}
    for share in SHARES:
        cites = good = answered = seconds = right = 0
        for r, (order, support) in zip(use, judged, strict=True):
            if not order or support < threshold:
                continue
            chosen = quoted(order, share)
            paras = {tuple(r["para"][i]): r["asked_of"][i] for i in chosen}
            answered += 1
            seconds += len(chosen) > 1
            cites += len(paras)
            good += sum(paras.values()) if r["answerable"] else 0
            right += r["answerable"] and any(r["y"][i] for i in chosen)
        answerable = sum(r["answerable"] for r in use)
        out[f"{share:.2f}"] = {
            "citation_precision": round(good / cites, 4) if cites else float("nan"),
            "answer_quoted": round(right / answerable, 4) if answerable else float("nan"),
            "second_sentence": round(seconds / answered, 4) if answered else float("nan"),
        }
    return out


def card_section(report: dict[str, dict[str, dict[str, dict[str, float]]]], shares: Sequence[str]) -> str:
    """The card's table: per judge and set, precision / answers quoted / second sentences at ``shares``."""
    lines = [
        "## Second sentences (`python -m eval.second_sentences`)",
        "",
        "A runner-up is quoted beside the best sentence when its probability is at least a share of the "
        "best's (0.8, every judge). Per share, on the validation questions each judge answers (list and why "
        "questions excepted): citation precision / answerable questions whose quote holds an answer "
        "sentence / answers quoting a second sentence. A cite is right when its paragraph is the one the "
        "question was asked of; every cite of an unanswerable question is wrong.",
        "",
        "| judge | set | " + " | ".join(f"share {s}" for s in shares) + " |",
        "|---|---|" + "---|" * len(shares),
    ]
    for judge, curves in report.items():
        for name, curve in curves.items():
            cells = [
                " / ".join(
                    f"{curve[s][k]:.3f}" for k in ("citation_precision", "answer_quoted", "second_sentence")
                )
                for s in shares
            ]
            lines.append(f"| {judge} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from qa.answering.reader import FOLDER
    from qa.answering.scorer import load

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/training"))
    args = p.parse_args(argv)
    meta = json.loads((FOLDER / "reader.json").read_text(encoding="utf-8"))
    stack = Stack.from_json(meta["stack"])
    thresholds = {
        "scorer": load().threshold,
        "pick": load().threshold,
        "reader": float(meta["stack"]["threshold"]),
    }
    sets = validation_sets(args.data, {"shipped": FOLDER}, 12)
    report = {
        judge: {name: measure(rows, judge, stack, thresholds[judge]) for name, rows in sets.items()}
        for judge in JUDGES
    }
    print(json.dumps(report, indent=1))
    card = FOLDER / "reader.md"
    section = card_section(report, ("0.60", "0.70", "0.80", "0.90", "1.00"))
    card.write_text(with_section(card.read_text(encoding="utf-8"), section, "second"), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
