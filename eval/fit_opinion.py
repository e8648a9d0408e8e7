"""Fit how the judging model's P(answers) combines with the scorer's support (``opinion.json``).

    python -m eval.fit_opinion            # after python -m eval.probe_opinion

The rows come from ``eval.probe_opinion`` (training data only, never the gold sets). The
scorer was fitted on the training split, so its support there is in-sample and too sure of
itself; a combination fitted there leans on the scorer (it did: 0.90 against 0.28). So the
two-weight logistic model is stacked on the validation split, where both inputs are out of
sample: its threshold is set for a stated false-refusal rate on 5-fold out-of-fold
predictions, and the final weights are fitted on all validation rows. The card reports the
combination beside the scorer and the judge alone on the same questions.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from qa.answering.opinion import OPINION_PATH, opinion_inputs
from qa.settings import Settings


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _x(rows: list[dict[str, Any]]) -> np.ndarray:
    return np.asarray([opinion_inputs(r["support"], r["judge"]) for r in rows], dtype=np.float64)


def refusal_at(scores: np.ndarray, rows: list[dict[str, Any]], budget: float) -> tuple[float, float, float]:
    """(threshold, refusal recall, false-refusal rate) of the highest threshold whose
    false refusals of answerable questions stay within ``budget``."""
    ans = np.asarray([r["answerable"] for r in rows])
    best = (0.0, 0.0, 0.0)
    for t in np.unique(scores):
        fr = float(np.mean(scores[ans] < t)) if ans.any() else 0.0
        if fr <= budget:
            best = (float(t), float(np.mean(scores[~ans] < t)) if (~ans).any() else 0.0, fr)
    return best


def curve(scores: np.ndarray, rows: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(false-refusal rate, refusal recall) at every threshold."""
    ans = np.asarray([r["answerable"] for r in rows])
    return [
        (float(np.mean(scores[ans] < t)), float(np.mean(scores[~ans] < t)))
        for t in np.concatenate([np.unique(scores), [1.01]])
    ]


def answered_right(scores: np.ndarray, rows: list[dict[str, Any]], t: float) -> float:
    """Share of answerable questions answered with the right sentence at threshold ``t``."""
    ans = [i for i, r in enumerate(rows) if r["answerable"]]
    return float(np.mean([scores[i] >= t and rows[i]["right"] for i in ans])) if ans else 0.0


def _aucs(scores: np.ndarray, rows: list[dict[str, Any]]) -> tuple[float, float]:
    """ROC AUC of ``scores`` for a right answer and for an answerable question."""
    from sklearn.metrics import roc_auc_score

    out = []
    for key in ("right", "answerable"):
        y = np.asarray([r[key] for r in rows])
        out.append(round(float(roc_auc_score(y, scores)), 3) if 0 < y.sum() < len(y) else float("nan"))
    return out[0], out[1]


_YESNO_AS_MEASURED = (
    '- P(yes) of a yes/no question ("does the passage state the answer?"), on 131 of the same '
    "validation questions (probed when the judge was shown the first scorer pair's sentence): AUC for "
    "a right answer 0.685 and for an answerable question 0.555, against 0.805 and 0.728 for P(answers)."
)


def write_card(
    path: Path, card: dict[str, Any], coef: list[float], intercept: float, threshold: float
) -> None:
    lines = [
        "# Second opinion: model card",
        "",
        "Written by `python -m eval.fit_opinion` from `python -m eval.probe_opinion` rows; do not edit by hand.",
        "",
        "## Data",
        "",
        "The scorer's own SQuAD 2.0 validation split (see `scorer.md` for articles, licence and",
        "attribution: CC BY-SA 4.0, Rajpurkar, Jia & Liang 2018): a seeded sample of "
        f"{card['validation_questions']} questions ({card['validation_unanswerable']} of them unanswerable) "
        "that reached the scorer. The judge is",
        "the packaged Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) through llama.cpp's OpenAI-compatible server,",
        f"shown the scorer's best sentence after the one before it; {card['judge_seconds_p50']} s a check (p50)",
        "while probing.",
        "",
        "## Model",
        "",
        f"support = sigmoid({coef[0]:.3f} * logit(scorer support) + {coef[1]:.3f} * logit(P(answers)) "
        f"+ {intercept:.3f}); refuse below {threshold:.4f}, set on the validation split for "
        f"{card['false_refusal_budget']:.0%} false refusals of the answerable questions that reach it.",
        "",
        "Stacked on the validation split: the weights are fitted there (the threshold on 5-fold",
        "out-of-fold predictions, which the `combined` rows below are), because the scorer's support",
        f"on its own training split is in-sample: fitted on {card['train_questions']} training-split "
        f"rows the weights were {card['weights_if_fitted_on_train']}, leaning on the over-sure scorer.",
        "",
        "## Validation (same questions for each column)",
        "",
        "| scored by | FR budget | threshold | refusal recall | false refusals | answered right "
        "| Brier | AUC right / answerable |",
        "|---|---|---|---|---|---|---|---|",
    ]
    old = card["validation"].get("yes/no judge (same questions)")
    for name, row in card["validation"].items():
        if name == "yes/no judge (same questions)":
            continue
        for budget in ("0.08", "0.20"):
            r = row[f"at_fr_{budget}"]
            lines.append(
                f"| {name} | {budget} | {r['threshold']} | {r['refusal_recall']} | {r['false_refusals']} "
                f"| {r['answered_right']} | {row['brier']} | {row['auc_right']} / {row['auc_answerable']} |"
            )
    lines += [
        "",
        "`judge` is P(answers) alone; `combined` is what ships (out-of-fold). The scorer's and the",
        "judge's thresholds are chosen on these same rows, so their rows flatter them slightly.",
        "",
        "## Designs that lost",
        "",
        "- A sampled reply, copying the words that answer or saying NONE, with the copy checked",
        "  verbatim: on a validation probe it said NONE to 20 of 35 right answers; on the gold sets",
        "  it refused 63-64% of the answerable questions.",
    ]
    if not old:
        # The yes/no probe's rows are gone from this cache; its figures, as first measured, stay.
        lines.append(_YESNO_AS_MEASURED)
    else:
        lines.append(
            f'- P(yes) of a yes/no question ("does the passage state the answer?"), on {old["n"]} of the '
            f"same validation questions: AUC for a right answer {old['auc_right']} and for an "
            f"answerable question {old['auc_answerable']}, against {old['this_judge_auc_right']} and "
            f"{old['this_judge_auc_answerable']} for P(answers)."
        )
    lines += [
        "- The whole paragraph (up to 150 words) instead of two sentences, in the yes/no form: on 30",
        "  validation questions AUC 0.66 / 0.55 for right / answerable, at 2.5 times the prompt.",
        "- The question's likelihood given the sentence (as in UPR, Sachan et al. 2022):",
        "  the judge prompt's question tokens read after the passage and after an empty one, their",
        "  log-probability and pointwise mutual information (mean, sum, lowest one or two tokens, sum",
        "  of the negative ones) as a third input, on 279 of the same validation questions: refusal",
        "  recall at 8% false refusals 0.297 (scorer and judge) against 0.284-0.331 with one of them,",
        "  AUC for a right answer 0.845 against 0.843-0.851, for 2.9 s more a check (two more",
        "  prefills, and an echo of prompt logprobs that chat endpoints do not offer): left out.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, default=Settings().local_model_dir / "scorer-training")
    p.add_argument("--false-refusals", type=float, default=0.08)
    p.add_argument("--out", type=Path, default=OPINION_PATH)
    args = p.parse_args(argv)
    from sklearn.model_selection import StratifiedKFold

    train = _rows(args.cache / "opinion-train.jsonl")
    val = _rows(args.cache / "opinion-validation.jsonl")
    x, y = _x(val), np.asarray([r["right"] for r in val])
    out_of_fold = np.zeros(len(val))
    for fit_on, predict in StratifiedKFold(5, shuffle=True, random_state=13).split(x, y):
        fold = LogisticRegression(C=1.0).fit(x[fit_on], y[fit_on])
        out_of_fold[predict] = fold.predict_proba(x[predict])[:, 1]
    model = LogisticRegression(C=1.0).fit(x, y)
    coef = [float(v) for v in model.coef_[0]]
    intercept = float(model.intercept_[0])
    on_train = LogisticRegression(C=1.0).fit(_x(train), np.asarray([r["right"] for r in train]))

    figures: dict[str, Any] = {}
    for name, scores in (
        ("scorer", np.asarray([r["support"] for r in val])),
        ("judge", np.asarray([r["judge"] for r in val])),
        ("combined", out_of_fold),
    ):
        row: dict[str, Any] = {}
        for budget in (0.08, 0.20):
            t, rec, fr = refusal_at(scores, val, budget)
            row[f"at_fr_{budget:.2f}"] = {
                "threshold": round(t, 4),
                "refusal_recall": round(rec, 3),
                "false_refusals": round(fr, 3),
                "answered_right": round(answered_right(scores, val, t), 3),
            }
        right = np.asarray([r["right"] for r in val], dtype=float)
        row["brier"] = round(float(np.mean((scores - right) ** 2)), 4)
        row["auc_right"], row["auc_answerable"] = _aucs(scores, val)
        figures[name] = row
    # The yes/no design this replaced, where it was probed on the same validation questions.
    yesno_file = args.cache / "yesno-validation.jsonl"
    if yesno_file.exists():
        by_id = {r["qid"]: r for r in _rows(yesno_file)}
        both = [r for r in val if r["qid"] in by_id]
        if both:
            figures["yes/no judge (same questions)"] = {
                "n": len(both),
                "auc_right": _aucs(np.asarray([by_id[r["qid"]]["p_yes"] for r in both]), both)[0],
                "auc_answerable": _aucs(np.asarray([by_id[r["qid"]]["p_yes"] for r in both]), both)[1],
                "this_judge_auc_right": _aucs(np.asarray([r["judge"] for r in both]), both)[0],
                "this_judge_auc_answerable": _aucs(np.asarray([r["judge"] for r in both]), both)[1],
            }
    threshold, _, _ = refusal_at(out_of_fold, val, args.false_refusals)
    seconds = sorted(r["seconds"] for r in train + val)
    card = {
        "date": date.today().isoformat(),
        "data": "eval.probe_opinion rows of the scorer's SQuAD 2.0 training and validation splits",
        "train_questions": len(train),
        "validation_questions": len(val),
        "validation_unanswerable": sum(1 for r in val if not r["answerable"]),
        "judge_seconds_p50": round(seconds[len(seconds) // 2], 2) if seconds else None,
        "validation": figures,
        "weights_if_fitted_on_train": [round(float(v), 3) for v in on_train.coef_[0]],
        "false_refusal_budget": args.false_refusals,
    }
    args.out.write_text(
        json.dumps(
            {
                "coef": [round(c, 6) for c in coef],
                "intercept": round(intercept, 6),
                "threshold": round(threshold, 4),
                "card": card,
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    write_card(args.out.with_suffix(".md"), card, coef, intercept, threshold)
    print(json.dumps(card, indent=1))
    print(
        "combined: logit =",
        " + ".join(
            f"{c:.3f}*{n}" for c, n in zip(coef, ("logit(support)", "logit(P(answers))"), strict=True)
        ),
        f"+ {intercept:.3f}",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
