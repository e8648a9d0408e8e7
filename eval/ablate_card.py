"""The reader card's table of what each part earns (``eval.ablate`` writes it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eval.earning import EARNS, JUDGED_ON, SQUAD, earns, means, near_misses, scorer_earns


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
        "first, unanswerable refused (averaged over 5/8/12/20% false refusals) or AUC (a scorer part on its own",
        "split and near-misses refused too); one that does not is deleted if the gold sets' CI floors still hold",
        "without it (for the scorer's, they did not: below).",
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
