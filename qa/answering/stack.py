"""The judge when the reader is on: the reader's score of each candidate, stacked with where the
two cheap orders put it (the coverage prefilter's and the feature scorer's), picks the sentence;
a second small model over the pick decides how sure the answer is.

Measured on the reader's validation questions in the product's setting (card: reader/reader.md),
neither the reader nor the scorer alone picks as well as the two together: the reader reads
meaning the scorer's features miss, the scorer sees record-level facts (a year the record never
states, the kind of fact asked for) no sentence pair shows. Both models are logistic regressions
fitted by ``python -m eval.fit_stack`` on questions asked of training records (never the gold
sets) and stored in ``reader.json`` under "stack"; inference is two dot products.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.answering.scorer import Linear, sigmoid

RANK_CAP = 15  # a coverage rank beyond this says no more than "far down"
PICK_FEATURES = (
    "reader score",
    "reader score minus the best read",
    "coverage rank",
    "coverage",
    "coverage minus the best",
    "scorer's pick",
    "scorer ranked it",
    "scorer's probability",
)
SUPPORT_FEATURES = (
    "pick logit",
    "pick logit minus the runner-up's",
    "reader score of the pick",
    "best reader score",
    "best reader score minus the median read",
    "scorer's support (log)",
    "scorer's probability of the pick",
    "pick is the scorer's",
    "coverage of the pick",
    "best coverage",
)


@dataclass(frozen=True)
class Seen:
    """What the judge knows of one question's candidates before the stack weighs them."""

    read: tuple[int, ...]  # the candidates the reader read, by index
    reader: tuple[float, ...]  # the reader's score of each read candidate
    coverage: tuple[float, ...]  # every candidate's coverage of the question's weighted terms
    scorer_order: tuple[int, ...]  # the candidates the scorer ranked, best first
    scorer_p: tuple[float, ...]  # the scorer's probability of each of those
    support: float  # the scorer's support for its pick


def by_coverage(coverage: Sequence[float]) -> list[int]:
    """Candidates by coverage of the question, most first; ties keep retrieval order."""
    return sorted(range(len(coverage)), key=lambda i: -coverage[i])  # stable


def read_set(coverage: Sequence[float], scorer_order: Sequence[int], n: int) -> list[int]:
    """What the reader reads: the ``n`` candidates covering most of the question, and every
    candidate the scorer ranked (its short list holds the answer where coverage misses it)."""
    return sorted(set(by_coverage(coverage)[:n]) | set(scorer_order))


def pick_rows(seen: Seen) -> np.ndarray:
    """One row of ``PICK_FEATURES`` per read candidate."""
    if not seen.read:
        return np.zeros((0, len(PICK_FEATURES)))
    rank = {c: r for r, c in enumerate(by_coverage(seen.coverage))}
    p = dict(zip(seen.scorer_order, seen.scorer_p, strict=True))
    top_reader, top_cov = max(seen.reader), max(seen.coverage)
    pick = seen.scorer_order[0] if seen.scorer_order else -1
    return np.asarray(
        [
            [
                s,
                s - top_reader,
                min(rank[c], RANK_CAP),
                seen.coverage[c],
                seen.coverage[c] - top_cov,
                float(c == pick),
                float(c in p),
                p.get(c, 0.0),
            ]
            for c, s in zip(seen.read, seen.reader, strict=True)
        ],
        dtype=np.float64,
    )


def support_row(seen: Seen, logits: np.ndarray) -> np.ndarray:
    """The row of ``SUPPORT_FEATURES`` for the read candidate with the highest pick logit."""
    order = np.argsort(-logits, kind="stable")
    j = int(order[0])
    c = seen.read[j]
    second = float(logits[order[1]]) if len(order) > 1 else float(logits[j]) - 4.0
    p = dict(zip(seen.scorer_order, seen.scorer_p, strict=True))
    return np.asarray(
        [
            logits[j],
            logits[j] - second,
            seen.reader[j],
            max(seen.reader),
            # Relative to the rest of what was read: a record whose text the reader scores low
            # throughout (messy extraction, long sentences) is not taken for one that does not answer.
            max(seen.reader) - float(np.median(seen.reader)),
            math.log(min(max(seen.support, 1e-4), 1 - 1e-4)),
            p.get(c, 0.0),
            float(bool(seen.scorer_order) and seen.scorer_order[0] == c),
            seen.coverage[c],
            max(seen.coverage),
        ],
        dtype=np.float64,
    )


@dataclass(frozen=True)
class Stack:
    """The two fitted models and how many candidates the prefilter lets the reader read."""

    pick: Linear
    support: Linear  # its logit, through ``calibration``, is the probability the answer is right
    calibration: tuple[float, float]
    read: int

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Stack:
        a, b = d["calibration"]
        return cls(
            Linear.from_json(d["pick"]), Linear.from_json(d["support"]), (float(a), float(b)), int(d["read"])
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "pick": self.pick.to_json(),
            "support": self.support.to_json(),
            "calibration": [round(v, 6) for v in self.calibration],
            "read": self.read,
        }

    def judge(self, seen: Seen) -> tuple[list[tuple[int, float]], float]:
        """The read candidates best first with their pick probabilities, and the support."""
        logits = self.pick.logits(pick_rows(seen))
        order = np.argsort(-logits, kind="stable")
        ranked = [(seen.read[j], sigmoid(float(logits[j]))) for j in order]
        z = float(self.support.logits(support_row(seen, logits)[None, :])[0])
        a, b = self.calibration
        return ranked, sigmoid(a * z + b)
