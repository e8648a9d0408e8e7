"""The reader card's section on the stack (``eval.fit_stack`` writes it): how it judges, what it
was fitted on, and its figures on each validation set."""

from __future__ import annotations

from typing import Any

MERIT_FR = (0.05, 0.08, 0.12, 0.2)  # false-refusal rates the design is chosen over
VALIDATION_SETS = {  # what each validation set is, for the card
    "SQuAD articles": "**SQuAD articles**: {n} questions (crowd-written, and their near-miss twins) asked of the "
    "record of the five validation articles;",
    "CUAD contracts": "**CUAD contracts**: {n} clause questions asked of CUAD validation contracts, one record "
    "each (unanswerable when the contract lacks the clause);",
    "Analyst questions": "**Analyst questions**: {n} long questions written here in an analyst's style about the "
    "same five articles, asked of the same record (`eval/made/README.md`; 100 unanswerable: "
    "near-misses of the articles' facts, unstated follow-ups, absent entities).",
}


def card_section(report: dict[str, Any]) -> str:
    """The card's account of the stack: how it judges, what it was fitted on, what it measures."""
    chosen = report["chosen"]
    sizes = report["validation_questions"]
    support_of = {
        "reader": "the reader's best score among what it read, calibrated",
        "right": "a second logistic model over the pick (taught whether the pick is right)",
        "answerable": "a second logistic model over the pick (taught whether the record can answer)",
    }
    lines = [
        "## The judge: the reader stacked with the feature scorer",
        "",
        f"With `EXHIBITQA_JUDGE=reader` the reader reads the {chosen['read']} candidates covering most of the question's",
        "rare words and every candidate on the feature scorer's short list; a logistic model over each read",
        "candidate's reader score and the scorer's probability of it picks the sentence",
        f"(`qa/answering/stack.py`); the support is {support_of[chosen['support_target']]};",
        f"below {chosen['threshold']} (8% false refusals over the validation sets together) the answer is refused.",
        f"Fitted by `python -m eval.fit_stack` on {report['training_questions']:,} questions asked of the training",
        "records (`eval/record_groups.py`; only articles the feature scorer was never trained on) and, of them,",
        f"{report['training_contract_questions']:,} clause questions asked of CUAD training contracts and "
        f"{report['training_analyst_questions']:,} long",
        "questions written here in an analyst's style about training articles (`eval/made/`). The design (how",
        "many are read, what the support is) is the one refusing most unanswerable questions on average over",
        f"{', '.join(f'{fr:.0%}' for fr in MERIT_FR)} false refusals (one point alone is noisy) and over "
        f"{len(sizes)} validation sets of the product's",
        "setting, never trained on (the tables give each set at 8%):",
        "",
        *(f"- {VALIDATION_SETS[name].format(n=n)}" for name, n in sizes.items()),
    ]
    for name in sizes:
        lines += [
            "",
            f"**{name}** ({sizes[name]} questions):",
            "",
            "| judge | answer sentence first | unanswerable refused | near-misses refused | AUC answerable vs not | answered and right |",
            "|---|---|---|---|---|---|",
        ]
        for label, by_set in report["designs"].items():
            f = by_set[name]
            shown = f"**{label} (shipped)**" if label == report["chosen_label"] else label
            near = "–" if f["near_miss_refusal_at_fr"] is None else f"{f['near_miss_refusal_at_fr']:.3f}"
            lines.append(
                f"| {shown} | {f['top1']:.3f} | {f['refusal_recall_at_fr']:.3f} | {near} | {f['auc']:.3f} | {f['answered_and_right']:.3f} |"
            )
    lines += [
        "",
        "What chose the design (means over the validation sets; refusal also over the rates above):",
        "",
        "| design | unanswerable refused | answer sentence first | answered and right |",
        "|---|---|---|---|",
        *(f"| {label} | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.3f} |" for label, m in report["merit"].items()),
        "",
        "**The default judge (`pick`)**: this stack's sentence, refused exactly when the scorer alone refuses",
        "(the scorer's support below its own threshold):",
        "",
        "| validation set | answerable refused | unanswerable refused | answer sentence first: scorer / pick "
        "| answered and right: scorer / pick |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {f['answerable_refused']:.3f} | {f['unanswerable_refused']:.3f} | "
            f"{f['scorer_first']:.3f} / {f['pick_first']:.3f} | "
            f"{f['scorer_answered_and_right']:.3f} / {f['pick_answered_and_right']:.3f} |"
            for name, f in report["pick"].items()
        ),
        "",
        "Pick weights (standardised features): "
        + ", ".join(f"{k} {v:+.2f}" for k, v in report["weights"]["pick"].items())
        + ".",
        "",
        f"At the shipped threshold {chosen['threshold']}: "
        + "; ".join(
            f"{name}: answerable refused {f['answerable_refused']}, unanswerable refused "
            f"{f['unanswerable_refused']}, answered and right {f['answered_and_right']}"
            for name, f in report["at_threshold"].items()
        )
        + ".",
        "",
        "Refusal curve (the validation sets together):",
        "",
        "| threshold | answerable refused | unanswerable refused | near-misses refused | answered wrongly |",
        "|---|---|---|---|---|",
        *(
            f"| {c['threshold']} | {c['answerable_refused']} | {c['unanswerable_refused']} | "
            f"{c['near_misses_refused']} | {c['answerable_wrong']} |"
            for c in report["curve"]
        ),
    ]
    return "\n".join(lines)
