"""The learned answer scorer: which sentence answers, and how likely it is that one does.

Small logistic models, trained by ``python -m eval.train_scorer`` on public QA data (never on
the project's gold sets) and shipped as one JSON file of coefficients:

- ``rank`` scores every candidate sentence on features that cost nothing to compute;
- ``rerank`` rescores the best few once their own sentence vectors are known;
- ``calibration`` turns the winner's lead over the runner-up and its features into the
  probability that the answer is right (``Answer.support``), on which the answerer refuses;
- ``pick`` (a second rank / rerank pair, optional) chooses the sentence shown, on rows that
  discount what the question shares with each candidate's document title.

Only sentences that hold the kind of fact asked for are candidates (a number for "how
many"), and a question naming something the record never mentions is refused before any
scoring: both are rules about what an answer can be, not learned weights.

Inference is a dot product in numpy, so answering needs neither scikit-learn nor a model
server; training uses scikit-learn.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from qa.answering.features import FEATURES
from qa.errors import ConfigError

MODEL_PATH = Path(__file__).with_name("scorer.json")


@dataclass(frozen=True)
class Linear:
    """A standardised logistic model: logit = ((x - mean) / scale) @ coef + intercept."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logits(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(((x - self.mean) / self.scale) @ self.coef + self.intercept, dtype=np.float64)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Linear:
        return cls(
            np.asarray(d["mean"], dtype=np.float64),
            np.asarray(d["scale"], dtype=np.float64),
            np.asarray(d["coef"], dtype=np.float64),
            float(d["intercept"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
        }


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-max(-40.0, min(40.0, z))))


def support_inputs(logits: np.ndarray, x: np.ndarray) -> np.ndarray:
    """What the calibration sees of a question's reranked candidates: the best one's lead over
    the second (a lone strong sentence is surer than one of several alike) and the best one's
    own features (how much of the question it and its paragraph cover, what is missing from
    them: the signs of a question the record does not answer). Its logit itself is left out:
    it is a weighted sum of those same features."""
    order = np.argsort(-logits, kind="stable")
    best = float(logits[order[0]])
    second = float(logits[order[1]]) if len(order) > 1 else best - 4.0
    return np.concatenate([[best - second], x[order[0]]]).astype(np.float64)


@dataclass(frozen=True)
class Scorer:
    """The trained models and the refusal threshold chosen on their validation split."""

    rank: Linear
    rerank: Linear
    calibration: Linear
    embed_top: int  # candidates whose own vectors are computed before reranking
    threshold: float  # refuse when support is below this
    card: dict[str, Any]
    # The pair that picks the sentence, on frame-aware rows (features.rows(framed=True)),
    # trained with questions that name their document too. None: ``rank`` / ``rerank`` pick.
    # Support stays with the pair above: it is what the calibration and threshold were fit on.
    pick: tuple[Linear, Linear] | None = None

    @property
    def picker(self) -> tuple[Linear, Linear]:
        """The rank / rerank pair that picks the sentence shown: ``pick``, else the plain pair."""
        return self.pick or (self.rank, self.rerank)

    def support(self, rerank_logits: np.ndarray, x: np.ndarray) -> float:
        """The probability that the best of the reranked candidates (rows ``x``) is right."""
        if len(rerank_logits) == 0:
            return 0.0
        return sigmoid(float(self.calibration.logits(support_inputs(rerank_logits, x)[None, :])[0]))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "rank": self.rank.to_json(),
            "rerank": self.rerank.to_json(),
            "calibration": self.calibration.to_json(),
            "embed_top": self.embed_top,
            "threshold": round(self.threshold, 4),
            "card": self.card,
        } | (
            {"pick_rank": self.pick[0].to_json(), "pick_rerank": self.pick[1].to_json()} if self.pick else {}
        )


def parse(data: dict[str, Any], where: str) -> Scorer:
    if list(data.get("features", [])) != list(FEATURES):
        raise ConfigError(
            f"{where} was trained on other features than this version computes. "
            "Retrain it: python -m eval.train_scorer --data ../shared/training"
        )
    return Scorer(
        Linear.from_json(data["rank"]),
        Linear.from_json(data["rerank"]),
        Linear.from_json(data["calibration"]),
        int(data["embed_top"]),
        float(data["threshold"]),
        dict(data.get("card", {})),
        (Linear.from_json(data["pick_rank"]), Linear.from_json(data["pick_rerank"]))
        if "pick_rank" in data
        else None,
    )


@lru_cache(maxsize=4)
def load(path: Path = MODEL_PATH) -> Scorer:
    """The scorer in ``path`` (by default the one shipped with the package)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(
            f"Cannot read the answer scorer {path} ({e}). Reinstall the package, or retrain it: "
            "python -m eval.train_scorer --data ../shared/training"
        ) from e
    return parse(data, str(path))
