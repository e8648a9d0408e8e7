"""Fit the judge's stack (qa/answering/stack.py) on questions asked of training records, choose its
threshold on the reader's validation questions, and write both into the shipped reader.json.

    python -m eval.fit_stack --data ../shared/training

The first run asks the questions (``eval.probe_stack``'s rows: ≈ 1 h for 10 training records and
the validation sample, resumable, kept per reader model); fitting and measuring take seconds.

The rows are those ``eval.probe_stack`` collects: per question, the shipped reader's score of
every candidate it read, every candidate's coverage, the scorer's short list and support. Only
questions of articles the feature scorer was never trained on fit the stack, so its weights do not
trust an in-sample scorer (the scorer's own training articles are SQuAD 2.0's first 16). The
validation questions choose the design (how many candidates are read, the support's target) and
the refusal threshold, for a stated false-refusal rate; the gold sets are never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.fit_reader import curve_points, figures
from eval.probe_stack import (
    analyst_rows,
    analyst_training_rows,
    contract_rows,
    training_rows,
    validation_rows,
)
from eval.reader_card import with_section
from eval.stack_card import MERIT_FR, card_section
from eval.train_scorer import load_squad
from qa.answering.scorer import Linear
from qa.answering.scorer import load as load_scorer
from qa.answering.stack import PICK_FEATURES, SUPPORT_FEATURES, Seen, Stack, pick_rows, read_set, support_row

READS = (4, 6, 8)  # how many candidates by coverage the reader reads (the rows hold the first 8)


def seen(row: dict[str, Any], n: int, reader: str = "shipped") -> Seen | None:
    """The question as the judge sees it when the reader reads ``n`` by coverage (None: nothing to read)."""
    read = read_set(row["cov"], row["scorer_order"], n)
    if not read or row["absent"]:
        return None
    return Seen(
        tuple(read), tuple(row[reader][i] for i in read), tuple(row["scorer_order"]), tuple(row["scorer_p"])
    )


def _linear(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> Linear:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(0), x.std(0) + 1e-9
    m = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y)
    return Linear(mean, scale, m.coef_[0], float(m.intercept_[0]))


# What the support is: the reader's own, or a model taught a target. (The scorer's own support is
# the default judge, "pick": its table is the card's.)
TARGETS = {
    "reader": "the reader's best score",
    "right": "a model of whether the pick is right",
    "answerable": "a model of whether the record answers",
}


def _linear_without(x: np.ndarray, y: np.ndarray, names: Sequence[str], drop: Collection[str]) -> Linear:
    """``_linear`` with the columns named in ``drop`` left out: fitted zeroed, and weighted zero
    whatever they hold at inference (``eval.ablate`` measures what each input earns)."""
    cols = [i for i, name in enumerate(names) if name in drop]
    if not cols:
        return _linear(x, y)
    x = x.copy()
    x[:, cols] = 0.0
    m = _linear(x, y)
    mean, scale, coef = m.mean.copy(), m.scale.copy(), m.coef.copy()
    mean[cols], scale[cols], coef[cols] = 0.0, 1.0, 0.0
    return Linear(mean, scale, coef, m.intercept)


def fit(rows: list[dict[str, Any]], n: int, target: str, drop: Collection[str] = ()) -> Stack:
    """The pick model on every read candidate (right or not); the support model on each question's
    pick, taught ``target``: "right" (the pick answers), "answerable" (the record can answer); or
    not taught: "reader", the reader's best score alone. Inputs
    named in ``drop`` are left out of either model."""
    views = [(r, s) for r in rows if (s := seen(r, n)) is not None]
    x = np.vstack([pick_rows(s) for _, s in views])
    y = np.asarray([r["y"][c] for r, s in views for c in s.read], dtype=int)
    pick = _linear_without(x, y, PICK_FEATURES, drop)
    q, right, answerable = [], [], []
    for r, s in views:
        logits = pick.logits(pick_rows(s))
        q.append(support_row(s, logits))
        right.append(r["y"][s.read[int(np.argmax(logits))]])
        answerable.append(r["answerable"])
    xq = np.vstack(q)
    if target == "reader":
        k = len(SUPPORT_FEATURES)
        support = Linear(np.zeros(k), np.ones(k), np.eye(k)[SUPPORT_FEATURES.index("best reader score")], 0.0)
    else:
        taught = np.asarray(right if target == "right" else answerable, dtype=int)
        support = _linear_without(xq, taught, SUPPORT_FEATURES, drop)
    # Whatever it was taught, its logit is calibrated into the probability the answer is right.
    cal = _linear(support.logits(xq)[:, None], np.asarray(right, dtype=int), c=100.0)
    a = float(cal.coef[0] / cal.scale[0])
    return Stack(pick, support, (a, float(cal.intercept - a * cal.mean[0])), n)


def outcomes(stack: Stack, rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Per question: the support (0 when refused before judging) and whether the pick is right."""
    support, right = np.zeros(len(rows)), np.zeros(len(rows), dtype=bool)
    for i, r in enumerate(rows):
        s = seen(r, stack.read)
        if s is not None:
            ranked, support[i] = stack.judge(s)
            right[i] = bool(r["y"][ranked[0][0]])
    return support, right


def at_threshold(
    judged: tuple[np.ndarray, np.ndarray], rows: list[dict[str, Any]], threshold: float
) -> dict[str, float]:
    """What the shipped threshold does to one validation set (``judged``: the stack's outcomes
    on it): its own rates of refusal."""
    support, right = judged
    refused = support < threshold
    answerable = np.asarray([r["answerable"] for r in rows])
    return {
        "answerable_refused": round(float(refused[answerable].mean()), 3),
        "unanswerable_refused": round(float(refused[~answerable].mean()), 3),
        "answered_and_right": round(float((~refused & right)[answerable].mean()), 3),
    }


def picked_at_scorer(
    judged: tuple[np.ndarray, np.ndarray], rows: list[dict[str, Any]], threshold: float
) -> dict[str, float]:
    """The default judge ("pick") on one validation set: the stack's sentence (``judged``: its
    outcomes), refused when the scorer's support is below the scorer's own ``threshold``; beside
    the scorer alone."""
    answerable = np.asarray([r["answerable"] for r in rows])
    real = ~np.asarray([r["synthetic"] for r in rows])
    answered = np.asarray([not r["absent"] and r["today_support"] >= threshold for r in rows])
    scorer = np.asarray([r["today_right"] for r in rows])
    _, pick = judged
    return {
        "answerable_refused": round(float((~answered)[answerable].mean()), 3),
        "unanswerable_refused": round(float((~answered)[~answerable & real].mean()), 3),
        "scorer_first": round(float(scorer[answerable].mean()), 3),
        "pick_first": round(float(pick[answerable].mean()), 3),
        "scorer_answered_and_right": round(float((answered & scorer)[answerable].mean()), 3),
        "pick_answered_and_right": round(float((answered & pick)[answerable].mean()), 3),
    }


def _label(n: int, target: str) -> str:
    return f"read {n}, support: {TARGETS[target]}"


def _plain(f: dict[str, float]) -> dict[str, float | None]:
    """Figures as JSON can hold them: a figure with nothing to measure (no near-misses) is null."""
    return {k: None if v != v else v for k, v in f.items()}


def _scorer(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    return _plain(
        figures(
            np.asarray([r["today_support"] for r in rows]), np.asarray([r["today_right"] for r in rows]), rows
        )
    )


def scorer_unseen(data: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of articles the feature scorer was not trained on."""
    seen_by_scorer = {a["title"] for a in load_squad(data)}
    return [r for r in rows if r["article"] not in seen_by_scorer]


def stack_rows(
    data: Path, readers: dict[str, Path], records: int, contracts: int, analyst: bool, all_articles: bool
) -> tuple[list[dict[str, Any]], dict[str, int], dict[str, list[dict[str, Any]]]]:
    """The rows the stack is fitted on (with how many are contract and analyst questions) and
    each validation set's rows; collected once per reader model (``eval.probe_stack``)."""
    train = training_rows(data, readers, records)
    made = analyst_training_rows(data, readers) if analyst else []
    if not all_articles:
        train, made = scorer_unseen(data, train), scorer_unseen(data, made)
    squad_questions = len(train)
    train += contract_rows(data, readers, contracts, split="train")
    counts = {
        "training_questions": len(train) + len(made),
        "training_contract_questions": len(train) - squad_questions,
        "training_analyst_questions": len(made),
    }
    return train + made, counts, validation_sets(data, readers, contracts)


def validation_sets(data: Path, readers: dict[str, Path], contracts: int) -> dict[str, list[dict[str, Any]]]:
    """Each validation set's rows (``eval.probe_stack``'s, collected once per model)."""
    return {
        "SQuAD articles": validation_rows(data, readers),
        "CUAD contracts": contract_rows(data, readers, contracts),
        "Analyst questions": analyst_rows(data, readers),
    }


def main(argv: list[str] | None = None) -> int:
    from qa.answering.reader import FOLDER

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/training"))
    p.add_argument(
        "--out", type=Path, default=FOLDER, help="the reader folder whose reader.json gains the stack"
    )
    p.add_argument("--false-refusals", type=float, default=0.08)
    p.add_argument(
        "--all-articles", action="store_true", help="fit on every training question, not only unseen"
    )
    p.add_argument("--records", type=int, default=10, help="training records asked (collected if not yet)")
    p.add_argument(
        "--contracts", type=int, default=12, help="CUAD contracts asked (training and validation each)"
    )
    p.add_argument(
        "--no-analyst", action="store_true", help="leave out the analyst-style training questions (eval/made)"
    )
    p.add_argument("--dry-run", action="store_true", help="measure and print; write nothing")
    args = p.parse_args(argv)
    readers = {"shipped": args.out}
    train, counts, sets = stack_rows(
        args.data, readers, args.records, args.contracts, not args.no_analyst, args.all_articles
    )
    every = [r for rows in sets.values() for r in rows]
    report: dict[str, Any] = {
        **counts,
        "validation_questions": {k: len(v) for k, v in sets.items()},
        "designs": {"feature scorer alone": {k: _scorer(v) for k, v in sets.items()}},
    }
    designs = {(n, t): fit(train, n, t) for n in READS for t in TARGETS}
    outs = {key: {k: outcomes(stack, v) for k, v in sets.items()} for key, stack in designs.items()}
    for key in designs:
        report["designs"][_label(*key)] = {
            k: _plain(figures(*outs[key][k], v, args.false_refusals)) for k, v in sets.items()
        }

    def merit(key: tuple[int, str]) -> tuple[float, ...]:
        # Refusal over the low end of the curve, not at one point of it: a set of 67 unanswerable
        # questions moves by 0.015 a question, and its 8% point alone flips between designs.
        refused = [
            figures(*outs[key][k], v, fr)["refusal_recall_at_fr"] for k, v in sets.items() for fr in MERIT_FR
        ]
        f = report["designs"][_label(*key)].values()
        return (
            float(np.mean(refused)),
            *(float(np.mean([x[m] for x in f])) for m in ("top1", "answered_and_right")),
        )

    # The design refusing most unanswerable questions (on average over the validation sets and
    # the false-refusal rates of MERIT_FR, to the point), then picking best.
    merits = {key: merit(key) for key in designs}
    report["merit"] = {_label(*key): [round(x, 4) for x in m] for key, m in merits.items()}
    n, t = max(designs, key=lambda k: (round(merits[k][0], 2), *merits[k][1:]))
    stack = designs[(n, t)]
    support, right = (np.concatenate([outs[(n, t)][k][i] for k in sets]) for i in (0, 1))
    answerable = np.asarray([r["answerable"] for r in every])
    threshold = float(np.quantile(support[answerable], args.false_refusals))
    report["chosen"] = {"read": n, "support_target": t, "threshold": round(threshold, 4)}
    report["chosen_label"] = _label(n, t)
    report["curve"] = curve_points(support, right, every)
    report["at_threshold"] = {k: at_threshold(outs[(n, t)][k], v, threshold) for k, v in sets.items()}
    scorer_threshold = load_scorer().threshold
    report["pick"] = {k: picked_at_scorer(outs[(n, t)][k], v, scorer_threshold) for k, v in sets.items()}
    report["weights"] = {
        "pick": dict(zip(PICK_FEATURES, np.round(stack.pick.coef, 3).tolist(), strict=True)),
        "support": dict(zip(SUPPORT_FEATURES, np.round(stack.support.coef, 3).tolist(), strict=True)),
    }
    print(json.dumps(report, indent=1))
    if args.dry_run:
        return 0
    meta_file = args.out / "reader.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta["stack"] = stack.to_json() | {
        "threshold": round(threshold, 4),
        "false_refusal_rate": args.false_refusals,
        "validation": {k: v for k, v in report.items() if k != "curve"},
        "curve": report["curve"],
    }
    meta_file.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    card = args.out / "reader.md"
    card.write_text(with_section(card.read_text(encoding="utf-8"), card_section(report)), encoding="utf-8")
    print(f"wrote the stack into {meta_file} and {card}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
