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
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from eval.ablate_card import card_section
from eval.calibrate import RULES, eligible, fit_models, fit_pick, picked_right, supports_of
from eval.earning import NEAR, SQUAD, eliminate, means, scorer_earns
from eval.fit_reader import figures
from eval.fit_stack import MERIT_FR, fit, outcomes, stack_rows
from eval.reader_card import with_section
from eval.train_scorer import features, featurise
from qa.answering.features import INDEX
from qa.answering.stack import PICK_FEATURES, SUPPORT_FEATURES
from qa.settings import Settings

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
