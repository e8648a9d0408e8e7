"""The judge when the reader is on: the reader's score of each candidate, stacked with the feature
scorer's probability of it, picks the sentence; a second small model over the pick (its logit and
the reader's best score) decides how sure the answer is.

Measured on the reader's validation questions in the product's setting (card: reader/reader.md),
neither the reader nor the scorer alone picks as well as the two together: the reader reads
meaning the scorer's features miss, the scorer sees record-level facts (a year the record never
states, the kind of fact asked for) no sentence pair shows. Both models are logistic regressions
fitted by ``python -m eval.fit_stack`` on questions asked of training records (never the gold
sets) and stored in ``reader.json`` under "stack"; inference is two dot products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.answering.scorer import Linear, sigmoid

# Each input earns its place: left out, the figures on validation fall (eval/ablate.py; the 14
# others the stack once had, coverage and the scorer's support among them, were left out at no cost).
PICK_FEATURES = ("reader score", "scorer's probability")
SUPPORT_FEATURES = ("pick logit", "best reader score")


@dataclass(frozen=True)
class Seen:
    """What the judge knows of one question's candidates before the stack weighs them."""

    read: tuple[int, ...]  # the candidates the reader read, by index
    reader: tuple[float, ...]  # the reader's score of each read candidate
    scorer_order: tuple[int, ...]  # the candidates the scorer ranked, best first
    scorer_p: tuple[float, ...]  # the scorer's probability of each of those


def by_coverage(coverage: Sequence[float]) -> list[int]:
    """Candidates by coverage of the question, most first; ties keep retrieval order."""
    return sorted(range(len(coverage)), key=lambda i: -coverage[i])  # stable


def read_set(coverage: Sequence[float], scorer_order: Sequence[int], n: int) -> list[int]:
    """What the reader reads: the ``n`` candidates covering most of the question, and every
    candidate the scorer ranked (its short list holds the answer where coverage misses it)."""
    return sorted(set(by_coverage(coverage)[:n]) | set(scorer_order))


def pick_rows(seen: Seen) -> np.ndarray:
    """One row of ``PICK_FEATURES`` per read candidate (a candidate off the scorer's short list
    has probability 0)."""
    p = dict(zip(seen.scorer_order, seen.scorer_p, strict=True))
    return np.asarray(
        [[s, p.get(c, 0.0)] for c, s in zip(seen.read, seen.reader, strict=True)], dtype=np.float64
    ).reshape(-1, len(PICK_FEATURES))


def support_row(seen: Seen, logits: np.ndarray) -> np.ndarray:
    """The row of ``SUPPORT_FEATURES``: the highest pick logit, and the reader's best score."""
    return np.asarray([float(np.max(logits)), max(seen.reader)], dtype=np.float64)


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
            Linear.from_json(d["pick"]),
            Linear.from_json(d["support"]),
            (float(a), float(b)),
            int(d["read"]),
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
