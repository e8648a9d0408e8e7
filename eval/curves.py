"""The wrong-answer / refusal trade-off of an answerer that states its support.

The eval answers every item a second time with refusal switched off, so that each item has
the answer it would get and that answer's support. Sweeping the threshold over those gives,
at every level, how many unanswerable questions are refused (refusal recall), how many
answerable ones are refused (false refusals) and how many are answered wrongly; the point
the shipped threshold picks is marked. Calibration compares the support with how often the
unthresholded answer is right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eval.calibrate import reliability


@dataclass(frozen=True)
class Open:
    """One item answered with refusal off: its support, and whether that answer is right."""

    answerable: bool
    support: float
    right: bool  # answerable: the key facts are in the answer; unanswerable: always False
    near_miss: bool = False
    cites: int = 0  # pin cites the answer gives
    good_cites: int = 0  # ... of them, to a paragraph holding the gold evidence


def point(items: Sequence[Open], threshold: float) -> dict[str, float]:
    """The trade-off at one threshold (an item is refused when its support is below it)."""
    ans = [i for i in items if i.answerable]
    un = [i for i in items if not i.answerable]
    near = [i for i in un if i.near_miss]

    def share(xs: Sequence[Open], cond: Any) -> float:
        return sum(1 for x in xs if cond(x)) / len(xs) if xs else float("nan")

    return {
        "threshold": round(threshold, 4),
        "refusal_recall": share(un, lambda i: i.support < threshold),
        "near_miss_refusal_recall": share(near, lambda i: i.support < threshold),
        "false_refusal_rate": share(ans, lambda i: i.support < threshold),
        "answered_wrongly": share(ans, lambda i: i.support >= threshold and not i.right),
        "answerable_accuracy": share(ans, lambda i: i.support >= threshold and i.right),
        # Every cite of every answer given at this threshold; a cite for an unanswerable
        # question is a wrong one.
        "citation_precision": _precision([i for i in items if i.support >= threshold]),
    }


def _precision(answered: Sequence[Open]) -> float:
    cites = sum(i.cites for i in answered)
    return sum(i.good_cites for i in answered) / cites if cites else float("nan")


def trade_off(items: Sequence[Open], chosen: float, steps: int = 101) -> dict[str, Any]:
    """The curve over thresholds 0..1, the chosen point, and the calibration of support."""
    curve = [point(items, t / (steps - 1)) for t in range(steps)]
    return {
        "curve": curve,
        "chosen": point(items, chosen),
        "calibration": reliability([i.support for i in items], [i.right for i in items]),
        # One figure per budget for the CI gate: the most unanswerable questions refused by any
        # threshold that refuses at most this share of answerable ones.
        **{f"refusal_recall_at_fr_{b:.2f}": best_refusal(curve, b) for b in (0.08, 0.20)},
    }


def best_refusal(curve: Sequence[dict[str, float]], budget: float) -> float:
    """The highest refusal recall on ``curve`` whose false-refusal rate is within ``budget``."""
    return max((p["refusal_recall"] for p in curve if p["false_refusal_rate"] <= budget), default=0.0)


def plot(report: dict[str, Any], out: Any) -> list[Any]:
    """refusal_curve.png and calibration.png from ``report['trade_off']``."""
    t = report.get("trade_off")
    if not t:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    xs = [p["false_refusal_rate"] for p in t["curve"]]
    ys = [p["refusal_recall"] for p in t["curve"]]
    ax.plot(xs, ys, marker=".", label="refusal recall (unanswerable refused)")
    if any(p["near_miss_refusal_recall"] == p["near_miss_refusal_recall"] for p in t["curve"]):
        ax.plot(xs, [p["near_miss_refusal_recall"] for p in t["curve"]], ls="--", label="near-misses refused")
    c = t["chosen"]
    ax.plot(
        [c["false_refusal_rate"]],
        [c["refusal_recall"]],
        "r*",
        ms=14,
        label=f"shipped threshold {c['threshold']:.2f}",
    )
    ax.axvline(0.08, color="grey", lw=0.8, ls=":")
    ax.axhline(0.80, color="grey", lw=0.8, ls=":")
    ax.set(xlabel="false refusals (answerable refused)", ylabel="share refused", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title(f"Refusal trade-off: {report['gold'].split('/')[-1]}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    curve_png = out / "refusal_curve.png"
    fig.savefig(curve_png, dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    table = t["calibration"]["table"]
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.plot([r["mean_support"] for r in table], [r["right"] for r in table], marker="o")
    for r in table:
        ax.annotate(
            str(r["n"]),
            (r["mean_support"], r["right"]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    ax.set(xlabel="support (stated)", ylabel="share right", xlim=(0, 1), ylim=(0, 1))
    ax.set_title(f"Calibration (Brier {t['calibration']['brier']:.3f})", fontsize=10)
    fig.tight_layout()
    cal_png = out / "calibration.png"
    fig.savefig(cal_png, dpi=100)
    plt.close(fig)
    return [curve_png, cal_png]
