"""The rule a part of the judgement is kept or deleted by (``eval.ablate`` measures, the card
shows): leaving it out must cost at least ``EARNS`` on a figure it is judged on."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

EARNS = 0.005  # about three validation questions of the smaller splits
SQUAD = "SQuAD validation split"  # the feature scorer's own validation split
NEAR = "near_miss_mean"  # near-misses refused, averaged over the false-refusal rates

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
