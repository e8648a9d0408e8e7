"""What each part of the judgement earns: every family of the feature scorer's hand features, its
two rules, its picker pair, and each input of the reader's stack, measured on validation with and
without it (the reader's card lists the table, and the code of a part that earns nothing goes:
the stack's 14 such inputs are gone; the scorer's five free families were deleted and restored:
the gold sets' near-miss refusal fell, which no validation set shows, see the card).

    python -m eval.ablate --data ../shared/training

- **Scorer parts** are left out by refitting the scorer without them on its own cached training
  rows (``eval.train_scorer``'s features; ~45 min to make the first time) and measuring it on its
  validation split (1,360 questions of three SQuAD articles asked of their indexed record) and on
  the stack's CUAD and analyst-style validation sets (featurised the same way; ~15 min the first
  time), judged on the means as the stack is: SQuAD alone under-weighs what a record's questions
  lean on (a year the paragraph contradicts). The scorer's support decides refusal in the default
  judge, so refusal is measured here.
- **Stack inputs** are left out by refitting the stack (``eval.fit_stack``'s shipped design) on
  its cached rows and measuring it on its three validation sets; in the default judge the stack's
  pick chooses the sentence quoted, so "answer sentence first" is measured there.

A part earns its place when leaving it out lowers answer-sentence-first, refusal (averaged over
5/8/12/20% false refusals, as the stack's design is chosen) or AUC by at least ``EARNS``; the
gold sets are never read.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from eval.calibrate import RULES, eligible, fit_models, fit_pick, picked_right, supports_of
from eval.fit_reader import figures
from eval.fit_stack import MERIT_FR, fit, outcomes, stack_rows
from eval.reader_card import with_section
from eval.train_scorer import features, featurise
from qa.answering.features import INDEX
from qa.answering.stack import PICK_FEATURES, SUPPORT_FEATURES
from qa.settings import Settings

EARNS = 0.005  # about three validation questions of the smaller splits
# Committed beside the card, whose table is made from it (a run of one kind of part keeps the other's).
REPORT = Path(__file__).parents[1] / "qa" / "answering" / "reader" / "ablation.json"

SCORER_FAMILIES = {  # the scorer's features by what they see (qa/answering/features.py)
    "coverage of the question's terms": ("cov_s", "cov_p", "cov_win", "cov_rel"),
    "question focus": ("cov_focus", "focus_rel"),
    "adjacent term pairs": ("bigram_s",),
    "rarest term missing": ("miss_s", "miss_p"),
    "names and figures shared": ("names_s", "names_p", "nums_s", "nums_p"),
    "year conflict": ("year_conflict",),
    # type_match and absent_record are left in: the rules let through only candidates whose
    # type_match is 1 and absent_record 0, so as features they weigh nothing; their rules are measured.
    "kind of fact asked and held": ("typed_match", "kind_numeric", "kind_date", "kind_name", "kind_list"),
    "negation mismatch": ("neg_mismatch",),
    "place in the paragraph": ("first", "position"),
    "sentence shape": ("length", "new_terms", "q_terms"),
    "retrieval rank and paragraph cosine": ("rank_inv", "pcos", "pcos_rel"),
    "sentence cosine (4 sentences embedded)": ("scos", "scos_rel"),
}


def zeroed(items: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[dict[str, Any]]:
    """The items with the named feature columns zeroed (a zero column is weighted zero, so the
    refitted scorer does without it); zeroing the sentence cosines also skips what they fill in."""
    cols = [INDEX[c] for c in columns]
    out = []
    for it in items:
        x, xf = it["x"].copy(), it["xf"].copy()
        x[:, cols] = 0.0
        xf[:, cols] = 0.0
        scos = np.zeros_like(it["scos"]) if "scos" in columns else it["scos"]
        out.append({**it, "x": x, "xf": xf, "scos": scos})
    return out


def measured(support: np.ndarray, right: np.ndarray, rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The figures a part is judged on: ``figures`` at 8%, and refusal averaged over MERIT_FR."""
    f = figures(support, right, list(rows))
    at = [figures(support, right, list(rows), fr) for fr in MERIT_FR]
    f["refused_mean"] = float(np.mean([a["refusal_recall_at_fr"] for a in at]))
    # Near-misses (a year, name or figure swapped) are most of a record's unanswerable questions.
    f[NEAR] = float(np.mean([a["near_miss_refusal_at_fr"] for a in at]))
    return {k: round(v, 4) for k, v in f.items()}


SQUAD = "SQuAD validation split"
NEAR = "near_miss_mean"


def scorer_sets(data: Path, seed: int) -> dict[str, list[dict[str, Any]]]:
    """The scorer's rows of the stack's other validation sets, CUAD contracts and the analyst-style
    questions (labelled as the stack's rows are), featurised beside the stack's indexed records."""
    from eval.probe_stack import WORK
    from eval.record_groups import analyst_split, contract_records, is_right

    s = Settings()
    contracts = contract_records(data, seed)
    return {
        "CUAD contracts": [
            it for r in contracts for it in featurise(r, WORK, s, f"scorer-{r.name}", is_right)
        ],
        "Analyst questions": featurise(analyst_split(data, seed), WORK, s, "scorer-analyst", is_right),
    }


def scorer_variant(
    rows: tuple[list[dict[str, Any]], ...],
    sets: dict[str, list[dict[str, Any]]],
    seed: int,
    rules: Sequence[str] = RULES,
    picker: bool = True,
) -> dict[str, dict[str, float]]:
    """The scorer refitted on ``rows`` (training, validation, both named) and measured on its
    validation split and on ``sets``, each set's figures apart."""
    train, val, train_named, val_named = rows
    scorer, _ = fit_models(train, val, 0.08, seed, rules)
    if picker:
        pick, _ = fit_pick(train + train_named, val + val_named, seed, rules)
        scorer = replace(scorer, pick=pick)
    out = {}
    for name, items in {SQUAD: val, **sets}.items():
        kept = eligible(items, rules)
        support, _ = supports_of(scorer, kept)
        out[name] = measured(support, picked_right(scorer, kept), kept)
    named = eligible(val_named, rules)
    ok = np.asarray([it["answerable"] and not it["synthetic"] for it in named])
    out[SQUAD]["top1_document_named"] = round(float(picked_right(scorer, named)[ok].mean()), 4)
    return out


def scorer_table(data: Path, cache: Path, seed: int) -> dict[str, Any]:
    _, rows = features(data, cache, seed)
    sets = scorer_sets(data, seed)

    @functools.cache  # elimination's first round asks again for what the table measured (a refit: a minute)
    def trial(out: tuple[str, ...]) -> dict[str, dict[str, float]]:
        columns = [c for name in out for c in SCORER_FAMILIES[name]]
        return scorer_variant(
            tuple(zeroed(r, columns) for r in rows), {k: zeroed(v, columns) for k, v in sets.items()}, seed
        )

    table: dict[str, Any] = {"shipped parts (refitted)": trial(())}
    for name in SCORER_FAMILIES:
        print(f"scorer without {name}", file=sys.stderr)
        table[f"without {name}"] = trial((name,))
    table["without the absent-name rule"] = scorer_variant(rows, sets, seed, rules=("kind",))
    table["without the kind-of-fact rule"] = scorer_variant(rows, sets, seed, rules=("absent",))
    table["without the frame-aware picker pair"] = scorer_variant(rows, sets, seed, picker=False)
    # Left out together: only the families that earn nothing alone are tried.
    base = table["shipped parts (refitted)"]
    free = [name for name in SCORER_FAMILIES if not scorer_earns(base, table[f"without {name}"])]
    table["elimination"] = eliminate(base, trial, free, scorer_earns, means)
    return table


def stack_table(data: Path, read: int, target: str) -> dict[str, dict[str, dict[str, float]]]:
    from qa.answering.reader import FOLDER

    train, _, sets = stack_rows(data, {"shipped": FOLDER}, 10, 12, True, False)
    variants: dict[str, tuple[str, ...]] = {"shipped inputs (refitted)": ()}
    variants |= {f"without {name}": (name,) for name in (*PICK_FEATURES, *SUPPORT_FEATURES)}

    @functools.cache  # elimination's first round asks again for what the table measured
    def trial(drop: tuple[str, ...]) -> dict[str, dict[str, float]]:
        stack = fit(train, read, target, drop)
        return {name: measured(*outcomes(stack, rows), rows) for name, rows in sets.items()}

    table: dict[str, Any] = {}
    for label, drop in variants.items():
        print(f"stack {label}", file=sys.stderr)
        table[label] = trial(drop)
    base = means(table["shipped inputs (refitted)"])
    table["elimination"] = eliminate(
        base, lambda drop: means(trial(drop)), (*PICK_FEATURES, *SUPPORT_FEATURES)
    )
    return table


JUDGED_ON = ("top1", "refused_mean", "auc")


def earns(base: dict[str, float], without: dict[str, float]) -> bool:
    """Whether leaving a part out costs at least ``EARNS`` on any figure a part is judged on."""
    return any(base[k] - without[k] >= EARNS for k in JUDGED_ON)


def means(by_set: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each figure averaged over the validation sets (as the stack's design is chosen)."""
    return {k: round(float(np.mean([f[k] for f in by_set.values()])), 4) for k in JUDGED_ON}


def scorer_earns(base: dict[str, dict[str, float]], without: dict[str, dict[str, float]]) -> bool:
    """A scorer part earns its place when leaving it out costs the margin on the means over its
    validation sets, or on its own split alone (the means weigh the CUAD contracts, where the scorer
    barely ranks and a question moves its figure by 0.006, as much as its own 1,360 questions), or
    on near-misses refused: the scorer's support decides refusal, and deleting five families that
    cost nothing else cost the gold sets' near-miss refusal (the card)."""
    return (
        earns(means(base), means(without))
        or earns(base[SQUAD], without[SQUAD])
        or near_misses(base) - near_misses(without) >= EARNS
        or base[SQUAD][NEAR] - without[SQUAD][NEAR] >= EARNS
    )


def near_misses(by_set: dict[str, dict[str, float]]) -> float:
    """Near-misses refused (over MERIT_FR) averaged over the sets that have them."""
    return float(np.mean([f[NEAR] for f in by_set.values() if f[NEAR] == f[NEAR]]))


def eliminate(
    base: Any,
    trial: Callable[[tuple[str, ...]], Any],
    parts: Sequence[str],
    earned: Callable[[Any, Any], bool] = earns,
    summary: Callable[[Any], dict[str, float]] = lambda f: f,
) -> list[dict[str, Any]]:
    """Backward elimination: while some part can be left out (with those already out) at no cost
    ``earned`` counts against ``base`` (the figures with every part, so small losses cannot add
    up), leave out the one whose absence costs least. Each step: the part and the ``summary`` of
    the figures without it."""
    out: tuple[str, ...] = ()
    steps: list[dict[str, Any]] = []
    while True:
        trials = {name: trial((*out, name)) for name in parts if name not in out}
        free = {name: summary(f) for name, f in trials.items() if not earned(base, f)}
        if not free:
            return steps
        start = summary(base)
        name = max(free, key=lambda n: sum(free[n][k] - start[k] for k in JUDGED_ON))
        out += (name,)
        steps.append({"left_out": name, **free[name]})
        print(f"left out {name}: {free[name]}", file=sys.stderr)


def _row(label: str, cells: Sequence[float], earned: bool | None) -> str:
    mark = "" if earned is None else (" | yes" if earned else " | **no**")
    return f"| {label} | " + " | ".join(f"{c:.3f}" for c in cells) + f"{mark} |"


def card_section(report: dict[str, Any]) -> str:
    """The card's table of what each part earns."""
    lines = [
        "## What each part earns (`python -m eval.ablate`)",
        "",
        "Each part is left out and the model refitted without it, then measured on validation (never the",
        f"gold sets). A part earns its place when leaving it out costs at least {EARNS} on answer sentence",
        "first, unanswerable refused (averaged over 5/8/12/20% false refusals) or AUC; one that does not is deleted.",
    ]
    if "stack" in report:
        table = report["stack"]
        base = means(table["shipped inputs (refitted)"])
        lines += [
            "",
            "**The stack's inputs** (means over its validation sets; then answer sentence first per set):",
            "",
            *_by_set_table(table, {}, lambda by_set: earns(base, means(by_set))),
        ]
        steps = table["elimination"]
        lines += [
            "",
            "Left out one by one while none of the three means falls by the margin (backward elimination):",
            "",
        ]
        lines += _steps(steps) or ["None: every input earns its place."]
    if "stack_deleted" in report:
        gone = report["stack_deleted"]
        m = gone["with_every_input"]
        lines += [
            "",
            f"**Deleted from the stack** (measured at {gone['measured_at']}, {gone['design']}): with all 18 "
            f"inputs the means were {m['top1']:.3f} / {m['refused_mean']:.3f} / {m['auc']:.3f} (answer sentence "
            "first / unanswerable refused / AUC); each step left one more out at no cost, and the code that "
            "computed them is gone:",
            "",
            *_steps(gone["steps"]),
        ]
    if "scorer" in report:
        kept = " (none deleted: see below)" if "scorer_reverted" in report else ""
        lines += _scorer_lines(report["scorer"], "**The feature scorer's parts**", kept)
    if "scorer_reverted" in report:
        tried = report["scorer_reverted"]
        together = means(tried["together"])
        before, after = tried["near_miss_at_threshold"]
        gold = "; ".join(f"{name} {_pair(was)} -> {_pair(now)}" for name, (was, now) in tried["gold"].items())
        lines += [
            "",
            f"**Deleting the families that earn nothing was tried and reverted** ({tried['tried_at']}: "
            f"{', '.join(tried['deleted'])}). Left out together, the means were {together['top1']:.3f} / "
            f"{together['refused_mean']:.3f} / {together['auc']:.3f} and answer sentence first per set "
            + ", ".join(f"{name} {f['top1']:.3f}" for name, f in tried["together"].items())
            + f"; but near-misses refused at the shipped threshold on the scorer's split fell {before:.3f} -> "
            f"{after:.3f}, a figure the rule did not judge then, and on the gold sets (evaluation only) the refusal "
            f"fell below the CI floors: {gold}. Near-misses refused (over the rates) are judged since, and "
            "validation still shows no cost for these families (the table above): no validation set shows what "
            "the gold sets did, so none is deleted until one does (trying subsets against the gold gate would "
            "be choosing on the gold sets). Judged on the means alone, elimination would have left out one "
            "by one:",
            "",
            *_steps(tried["elimination_on_the_means"]),
        ]
    return "\n".join(lines)


def _pair(v: float | Sequence[float]) -> str:
    return " / ".join(f"{x:.1%}" for x in v) if isinstance(v, Sequence) else f"{v:.1%}"


def _by_set_table(
    table: dict[str, Any],
    extra: dict[str, Callable[[dict[str, dict[str, float]]], float]],
    earned: Callable[[dict[str, dict[str, float]]], bool],
) -> list[str]:
    """A row per variant of ``table`` (the first is the base, unmarked): the means, answer sentence
    first per set, the ``extra`` columns, and whether the part left out earns its place."""
    first = next(iter(table))
    sets = list(table[first])
    lines = [
        "| left out | answer sentence first | unanswerable refused | AUC | "
        + " | ".join([f"{name}: first" for name in sets] + list(extra))
        + " | earns its place |",
        "|---|---|---|---|" + "---|" * (len(sets) + len(extra)) + "---|",
    ]
    for label, by_set in table.items():
        if label.startswith("elimination"):
            continue
        m = means(by_set)
        cells = [m[k] for k in JUDGED_ON] + [by_set[name]["top1"] for name in sets]
        cells += [column(by_set) for column in extra.values()]
        lines.append(_row(label, cells, None if label == first else earned(by_set)))
    return lines


def _scorer_lines(table: dict[str, Any], title: str, kept: str = "") -> list[str]:
    base = table["shipped parts (refitted)"]
    lines = [
        "",
        f"{title} (refitted on its training rows; means over its own validation split and the stack's CUAD "
        "and analyst sets, then answer sentence first per set, near-misses refused over the same rates "
        "(mean over the sets that have them) and answer first with the document named (on its split); a "
        "part earns its place on the means, on its split, or on near-misses refused):",
        "",
        *_by_set_table(
            table,
            {
                "near-misses refused": near_misses,
                "first, document named": lambda by_set: by_set[SQUAD]["top1_document_named"],
            },
            lambda by_set: scorer_earns(base, by_set),
        ),
    ]
    if "elimination" in table:
        lines += [
            "",
            f"The families that earn nothing alone, left out together one by one as above{kept}:",
            "",
        ]
        lines += _steps(table["elimination"]) or ["None can go with the others out."]
    return lines


def _steps(steps: Sequence[dict[str, Any]]) -> list[str]:
    return [
        f"{i}. {s['left_out']}: {s['top1']:.3f} / {s['refused_mean']:.3f} / {s['auc']:.3f}"
        for i, s in enumerate(steps, 1)
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/training"))
    p.add_argument("--cache", type=Path, default=Settings().local_model_dir / "scorer-training")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--out", type=Path, default=REPORT, help="the measurements (JSON)")
    p.add_argument("--only", choices=("scorer", "stack"), default=None, help="measure one kind of part")
    p.add_argument("--dry-run", action="store_true", help="measure and print; write no card")
    args = p.parse_args(argv)
    from qa.answering.reader import FOLDER

    chosen = json.loads((FOLDER / "reader.json").read_text(encoding="utf-8"))["stack"]["validation"]["chosen"]
    report: dict[str, Any] = {}
    if args.only != "scorer":
        report["stack"] = stack_table(args.data, chosen["read"], chosen["support_target"])
    if args.only != "stack":
        report["scorer"] = scorer_table(args.data, args.cache, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists():  # a run of one part keeps the other's last measurement
        report = json.loads(args.out.read_text(encoding="utf-8")) | report
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    if args.dry_run:
        return 0
    card = FOLDER / "reader.md"
    card.write_text(
        with_section(card.read_text(encoding="utf-8"), card_section(report), "ablate"), encoding="utf-8"
    )
    print(f"wrote the table into {card}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
