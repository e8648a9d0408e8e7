"""The reader's model card, written from ``eval.fit_reader``'s validation report, the trainer's
learning curve and, when they exist, gold-set reports of both judges.

    python -m eval.reader_card --results eval/results   # run by `make eval-reader`

rewrites the card from the cached validation report (``~/.cache/exhibitqa/reader``) with the
gold-set table taken from ``make eval``'s reports (the default judge: ``eval/results/exhibits_61_70``,
``record2``), ``make eval-reader``'s (``scorer_…``, ``reader_…``) and ``judge_race.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.reader_data import VALIDATION_ARTICLES
from eval.reader_prose import CHOICES, DESIGN, STATUS


def _cells(x: dict[str, float]) -> tuple[float, ...]:
    return (
        x["top1"],
        x["refusal_recall_at_fr"],
        x["near_miss_refusal_at_fr"],
        x["auc"],
        x["answered_and_right"],
    )


GOLD_SETS = {"exhibits_61_70": "sample record", "record2": "record2"}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# Sections other scripts write into the card, by name (their writers): a rewrite keeps them.
WRITERS = {"stack": "eval.fit_stack", "ablate": "eval.ablate", "second": "eval.second_sentences"}


def markers(name: str = "stack") -> tuple[str, str]:
    """The lines that open and close the card's section ``name``."""
    return f"<!-- {name}: written by `python -m {WRITERS[name]}` -->", f"<!-- /{name} -->"


STACK_BEGIN, STACK_END = markers()


def with_section(card: str, section: str, name: str = "stack") -> str:
    """The card with its section ``name`` replaced, or inserted before the data and licences."""
    begin, end = markers(name)
    block = f"{begin}\n{section.strip()}\n{end}\n"
    if begin in card and end in card:
        return card[: card.index(begin)] + block + card[card.index(end) + len(end) + 1 :]
    at = card.index("## Data and licences")
    return card[:at] + block + "\n" + card[at:]


def section_of(card: str, name: str = "stack") -> str | None:
    """The card's section ``name`` (its writer's), if it has one."""
    begin, end = markers(name)
    if begin not in card or end not in card:
        return None
    return card[card.index(begin) + len(begin) : card.index(end)]


GOLD_HEADING = "## On the project's gold sets (evaluation only)"


def with_gold(card: str, results: Path) -> str:
    """The card with its gold-set section rewritten from ``results`` (it is the card's last)."""
    head = card[: card.index(GOLD_HEADING)] if GOLD_HEADING in card else card
    return head.rstrip("\n") + "\n" + "".join(line + "\n" for line in gold_table(results))


JUDGES = ("scorer", "pick", "reader")  # settings.judge: the feature scorer, the default, the stack alone


def gold_table(results: Path) -> list[str]:
    """The judges side by side on the gold sets (evaluation only), if both were run."""
    runs = {
        (name, judge): results / (stem if judge == "pick" else f"{judge}_{stem}") / "report.json"
        for stem, name in GOLD_SETS.items()
        for judge in JUDGES
    }
    if not all(p.exists() for p in runs.values()):
        return []
    rep = {key: json.loads(p.read_text("utf-8")) for key, p in runs.items()}
    cols = [(name, judge) for name in GOLD_SETS.values() for judge in JUDGES]

    def row(label: str, cell: Any) -> str:
        return f"| {label} | " + " | ".join(cell(rep[c]) for c in cols) + " |"

    lines = [
        "",
        GOLD_HEADING,
        "",
        "`make eval` (pick, the default) and `make eval-reader` (scorer, reader): extractive, k = 8, the same",
        "stores, each judge at its own validation threshold (pick refuses at the scorer's).",
        "",
        "| | " + " | ".join(f"{n}: {j}" for n, j in cols) + " |",
        "|---|" + "---|" * len(cols),
        row("answerable answered right", lambda r: _pct(r["answer"]["answerable_accuracy"])),
        row("answerable refused", lambda r: _pct(r["answer"]["false_refusal_rate"])),
        row(
            "unanswerable refused (near-misses)",
            lambda r: (
                f"{_pct(r['answer']['refusal_recall'])} ({_pct(r['answer']['near_miss_refusal_recall'])})"
            ),
        ),
        row("citation precision", lambda r: _pct(r["citations"]["precision"])),
        row(
            "most unanswerable refused at ≤ 8% / ≤ 20% answerable refused",
            lambda r: (
                f"{_pct(r['trade_off']['refusal_recall_at_fr_0.08'])} / "
                f"{_pct(r['trade_off']['refusal_recall_at_fr_0.20'])}"
            ),
        ),
    ]
    race = results / "judge_race.json"
    if race.exists():
        t = json.loads(race.read_text("utf-8"))
        lines += [
            "",
            f"Answer latency side by side in one process (`python -m eval.judge_race`, {t['questions']} sample "
            "questions), p50 / p95: "
            + ", ".join(f"{j} {t[j]['p50_ms']:.0f} / {t[j]['p95_ms']:.0f} ms" for j in JUDGES if j in t)
            + ".",
        ]
    return lines


def write_card(
    report: dict[str, Any], work: Path, path: Path, mb: float, results: Path | None = None
) -> None:
    """The model card: data and licences, base model, command, validation figures, curves."""
    curve = [json.loads(line) for line in (work / "curve.jsonl").read_text().splitlines()]
    last = curve[-1]
    v = report
    f = "| {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |"
    kind = v.get("kind", "cross")
    lines = [
        "# The reader: model card",
        "",
        *DESIGN[kind],
        f"- **Run**: {last['pairs']:,} question-sentence pairs, {last['epochs']} epochs, {last['step']} steps, "
        f"{last['train_seconds'] / 60:.0f} min of training at {last['pairs_per_s']} pairs/s on 2 cores"
        + (" (after encoding the texts once: about 100 a second)." if kind == "late" else "."),
        f"- **File**: `reader/reader.onnx`, dynamic int8 ({mb:.1f} MB); `reader/tokenizer.json` is the base model's;",
        "  `reader/reader.json` holds the stack the product judges with (next section) and, for the reader measured",
        f"  alone below, its calibration (Platt: a = {v['calibration']['a']}, b = {v['calibration']['b']}) and threshold {v['threshold']} at 8% false refusals.",
        "",
        *STATUS[kind],
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
        f"reader int8 {ms['int8_ms']:.0f} ms reading {v['read_most']} candidates (~{ms['int8_ms'] / v['read_most']:.0f} ms each; answer latency is",
        "measured side by side by `python -m eval.judge_race`, below).",
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
    if any("record" in c for c in curve):
        lines += [
            "",
            f"And asked of the validation record the product's way ({curve[-1]['record'].get('read', 8)} candidates read; a question whose",
            "answer sentence is not read counts as one to refuse, and answer first is among those whose answer is read):",
            "",
            "| pairs seen | epochs | answer first | refused at 8% false refusals | AUC |",
            "|---|---|---|---|---|",
        ]
        for c in curve:
            r = c.get("record")
            if r:
                lines.append(
                    f"| {c['pairs']:,} | {c['epochs']} | {r['top1']:.3f} | {r['refused_at_fr']:.3f} | {r['auc']:.3f} |"
                )
    lines += ["", "## Choices made on the validation split", "", *CHOICES]
    if results is not None:
        lines += gold_table(results)
    card = "\n".join(lines) + "\n"
    # The stack is fitted after the reader (eval.fit_stack), and measured part by part after
    # that (eval.ablate): their sections outlive a rewrite.
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    for name in WRITERS:
        if (kept := section_of(before, name)) is not None:
            card = with_section(card, kept, name)
    path.write_text(card, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    import argparse

    from eval import train_late, train_reader

    p = argparse.ArgumentParser(description="Rewrite the reader's card from cached reports.")
    p.add_argument(
        "--work", type=Path, default=None, help="the trainer's folder (default: the shipped kind's)"
    )
    p.add_argument(
        "--results", type=Path, default=Path("eval/results"), help="gold-set reports of both judges"
    )
    p.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "qa" / "answering" / "reader")
    args = p.parse_args(argv)
    if args.work is None:
        kind = json.loads((args.out / "reader.json").read_text("utf-8")).get("kind", "cross")
        args.work = train_late.WORK if kind == "late" else train_reader.WORK
    card = args.out / "reader.md"
    if not (args.work / "validation-report.json").exists():
        # The trainer's reports are not on this machine: only the gold-set section is rewritten.
        card.write_text(with_gold(card.read_text("utf-8"), args.results), encoding="utf-8")
        print(f"rewrote the gold-set section of {card}")
        return 0
    report = json.loads((args.work / "validation-report.json").read_text("utf-8"))
    write_card(
        report,
        args.work,
        args.out / "reader.md",
        (args.out / "reader.onnx").stat().st_size / 1e6,
        args.results,
    )
    print(f"wrote {args.out / 'reader.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
