"""Fitting, calibrating and validating the answer scorer (used by ``eval.train_scorer``).

Kept apart from the data preparation so that fitting can be re-run on cached features, and
so the curves and calibration tables it reports are computed the same way the eval's are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qa.answering.features import INDEX, with_sentence_cosines
from qa.answering.scorer import Linear, Scorer, sigmoid, support_inputs

EMBED_TOP = 4  # candidates embedded per question before reranking (answer time: ~30 ms each)
_CS = (0.03, 0.1, 0.3, 1.0, 3.0)
# The rules answering applies before any scoring: only candidates holding the kind of fact asked
# for ("kind"); nothing for a question naming what the record never mentions ("absent").
RULES = ("kind", "absent")


def eligible(items: Sequence[dict[str, Any]], rules: Sequence[str] = RULES) -> list[dict[str, Any]]:
    """The items as the answerer sees them: only candidates that hold the kind of fact asked
    for, and none at all for a question naming what the record never mentions (refused); a rule
    left out of ``rules`` is not applied (``eval.ablate`` measures what each earns)."""
    out = []
    for it in items:
        x = it["x"]
        keep = np.ones(len(x), dtype=bool)
        if "kind" in rules:
            keep &= x[:, INDEX["type_match"]] == 1
        if "absent" in rules:
            keep &= x[:, INDEX["absent_record"]] == 0
        framed = {"xf": it["xf"][keep]} if "xf" in it else {}
        out.append({**it, "x": x[keep], "scos": it["scos"][keep], "y": it["y"][keep], **framed})
    return out


def _as_framed(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items with their frame-aware rows (``features.rows(framed=True)``) as the rows."""
    return [{**it, "x": it["xf"]} for it in items]


def _fit(x: np.ndarray, y: np.ndarray, c: float, seed: int) -> Linear:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    model.fit((x - mean) / scale, y)
    return Linear(mean, scale, model.coef_[0].astype(np.float64), float(model.intercept_[0]))


def _top(rank: Linear, item: dict[str, Any], n: int) -> np.ndarray:
    return np.argsort(-rank.logits(item["x"]), kind="stable")[:n]


def _reranked(rank: Linear, item: dict[str, Any], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the top ``n`` candidates with their sentence cosines, and their indices."""
    top = _top(rank, item, n)
    x = with_sentence_cosines(item["x"][top], {j: float(item["scos"][i]) for j, i in enumerate(top)})
    return x, top


def _fit_pair(items: Sequence[dict[str, Any]], c: float, seed: int) -> tuple[Linear, Linear]:
    use = [it for it in items if len(it["y"])]
    rank = _fit(np.concatenate([it["x"] for it in use]), np.concatenate([it["y"] for it in use]), c, seed)
    xs, ys = [], []
    for it in use:
        x, top = _reranked(rank, it, EMBED_TOP)
        xs.append(x)
        ys.append(it["y"][top])
    return rank, _fit(np.concatenate(xs), np.concatenate(ys), c, seed)


def _outcomes(
    rank: Linear, rerank: Linear, items: Sequence[dict[str, Any]]
) -> tuple[list[np.ndarray | None], np.ndarray]:
    """Per question: the calibration inputs (None: no candidate, refused), and whether the
    chosen sentence holds the answer."""
    inputs: list[np.ndarray | None] = []
    right: list[bool] = []
    for it in items:
        if not len(it["y"]):
            inputs.append(None)
            right.append(False)
            continue
        x, top = _reranked(rank, it, EMBED_TOP)
        logits = rerank.logits(x)
        inputs.append(support_inputs(logits, x))
        right.append(bool(it["y"][top[int(np.argmax(logits))]]))
    return inputs, np.asarray(right)


def _top1(rank: Linear, rerank: Linear, items: Sequence[dict[str, Any]]) -> float:
    """Share of answerable questions whose chosen sentence holds the answer."""
    answerable = [it for it in items if it["answerable"] and not it["synthetic"]]
    _, right = _outcomes(rank, rerank, answerable)
    return float(right.mean()) if len(right) else 0.0


def fit_models(
    train: list[dict[str, Any]],
    val: list[dict[str, Any]],
    false_refusals: float,
    seed: int,
    rules: Sequence[str] = RULES,
) -> tuple[Scorer, dict[str, Any]]:
    """The scorer: regularisation picked on the validation split's top-1 accuracy, calibration
    fit on out-of-fold training predictions, threshold set on validation for ``false_refusals``."""
    train, val = eligible(train, rules), eligible(val, rules)
    by_c = {c: _top1(*_fit_pair(train, c, seed), val) for c in _CS}
    c = max(by_c, key=lambda k: (by_c[k], -abs(np.log10(k))))
    rng = np.random.default_rng(seed)
    folds = rng.integers(0, 5, len(train))
    inputs, right = [], []
    for f in range(5):
        rank, rerank = _fit_pair([it for it, g in zip(train, folds, strict=True) if g != f], c, seed)
        i, r = _outcomes(rank, rerank, [it for it, g in zip(train, folds, strict=True) if g == f])
        # A question without candidates is refused whatever the calibration says.
        inputs += [v for v in i if v is not None]
        right += [b for v, b in zip(i, r, strict=True) if v is not None]
    calibration = _fit(np.stack(inputs), np.asarray(right), 1.0, seed)
    rank, rerank = _fit_pair(train, c, seed)
    provisional = Scorer(rank, rerank, calibration, EMBED_TOP, 0.5, {})
    supports, answerable = supports_of(provisional, val)
    # The budget is the threshold's own: answerable questions that reach the scorer (some
    # candidate holds the kind of fact asked for). Those refused by the rules first are not
    # the threshold's doing, and on SQuAD (centuries, not years, answer "when") they would
    # use up the whole budget and leave a threshold that refuses nothing.
    scored = np.asarray([len(it["y"]) > 0 for it in val])
    threshold = threshold_for(supports[answerable & scored], false_refusals)
    choice = {
        "C": c,
        "top1_by_C": {str(k): round(v, 4) for k, v in by_c.items()},
        "false_refusal_target": false_refusals,
    }
    return Scorer(rank, rerank, calibration, EMBED_TOP, threshold, {}), choice


def fit_pick(
    train: list[dict[str, Any]], val: list[dict[str, Any]], seed: int, rules: Sequence[str] = RULES
) -> tuple[tuple[Linear, Linear], dict[str, Any]]:
    """The pair that picks the sentence, on frame-aware rows, its regularisation picked on the
    validation split's top-1 accuracy (questions with and without their document named)."""
    train, val = _as_framed(eligible(train, rules)), _as_framed(eligible(val, rules))
    by_c = {c: _top1(*_fit_pair(train, c, seed), val) for c in _CS}
    c = max(by_c, key=lambda k: (by_c[k], -abs(np.log10(k))))
    return _fit_pair(train, c, seed), {"C": c, "top1_by_C": {str(k): round(v, 4) for k, v in by_c.items()}}


def picked_right(scorer: Scorer, items: Sequence[dict[str, Any]]) -> np.ndarray:
    """Per question: whether the sentence the answerer shows holds the answer."""
    return _outcomes(*scorer.picker, _as_framed(items) if scorer.pick else items)[1]


def _support(scorer: Scorer, inputs: np.ndarray | None) -> float:
    return 0.0 if inputs is None else sigmoid(float(scorer.calibration.logits(inputs[None, :])[0]))


def supports_of(scorer: Scorer, items: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Per item (already ``eligible``): the support the scorer states, and whether it is answerable."""
    inputs, _ = _outcomes(scorer.rank, scorer.rerank, items)
    return np.asarray([_support(scorer, i) for i in inputs]), np.asarray([it["answerable"] for it in items])


def threshold_for(answerable_supports: np.ndarray, false_refusals: float) -> float:
    """The highest threshold that refuses at most ``false_refusals`` of answerable questions."""
    s = np.sort(answerable_supports)
    n = int(np.floor(false_refusals * len(s)))
    return float(s[n]) if n < len(s) else float(s[-1])


def curve(
    supports: Sequence[float] | np.ndarray, answerable: Sequence[bool] | np.ndarray, steps: int = 101
) -> list[dict[str, float]]:
    """Refusal recall against false-refusal rate at each threshold from 0 to 1."""
    s, a = np.asarray(supports), np.asarray(answerable, dtype=bool)
    out = []
    for t in np.linspace(0, 1, steps):
        refused = s < t
        out.append(
            {
                "threshold": round(float(t), 3),
                "refusal_recall": float(refused[~a].mean()) if (~a).any() else 0.0,
                "false_refusal_rate": float(refused[a].mean()) if a.any() else 0.0,
            }
        )
    return out


def reliability(
    supports: Sequence[float] | np.ndarray, right: Sequence[bool] | np.ndarray, bins: int = 10
) -> dict[str, Any]:
    """Brier score, expected calibration error, and the per-bin table of a reliability diagram."""
    s, r = np.asarray(supports, dtype=float), np.asarray(right, dtype=float)
    table = []
    ece = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = (s >= lo) & ((s < hi) if b < bins - 1 else (s <= hi))
        if inside.any():
            table.append(
                {
                    "bin": f"{lo:.1f}-{hi:.1f}",
                    "n": int(inside.sum()),
                    "mean_support": float(s[inside].mean()),
                    "right": float(r[inside].mean()),
                }
            )
            ece += inside.mean() * abs(s[inside].mean() - r[inside].mean())
    return {"brier": float(np.mean((s - r) ** 2)) if len(s) else 0.0, "ece": float(ece), "table": table}


def validate(
    scorer: Scorer, val: list[dict[str, Any]], framed_val: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The scorer's figures on the validation split: choice of sentence, refusal, calibration
    (and, given ``framed_val``, the same questions asked with their document named)."""
    val = eligible(val)
    inputs, _ = _outcomes(scorer.rank, scorer.rerank, val)
    right = picked_right(scorer, val)
    supports = np.asarray([_support(scorer, i) for i in inputs])
    answerable = np.asarray([it["answerable"] for it in val])
    synthetic = np.asarray([it["synthetic"] for it in val])
    found = np.asarray([bool(it["y"].any()) for it in val])
    refused = supports < scorer.threshold
    real = ~synthetic
    scored = np.asarray([len(it["y"]) > 0 for it in val])
    summary = {
        "questions": int(len(val)),
        "unanswerable": int((~answerable).sum()),
        "evidence_among_candidates": float(found[answerable].mean()),
        "top1_sentence_accuracy": float(right[answerable & real].mean()),
        "top1_given_evidence_retrieved": float(right[answerable & found].mean()),
        "refusal_recall": float(refused[~answerable & real].mean()),
        "refusal_recall_synthetic_near_misses": float(refused[synthetic].mean()) if synthetic.any() else 0.0,
        "false_refusal_rate": float(refused[answerable].mean()),
        "false_refusal_rate_of_the_threshold": float(refused[answerable & scored].mean()),
        "answered_and_right": float((~refused & right)[answerable].mean()),
    }
    if framed_val is not None:
        framed_val = eligible(framed_val)
        f_inputs, _ = _outcomes(scorer.rank, scorer.rerank, framed_val)
        f_right = picked_right(scorer, framed_val)
        f_refused = np.asarray([_support(scorer, i) < scorer.threshold for i in f_inputs])
        f_ok = np.asarray([it["answerable"] and not it["synthetic"] for it in framed_val])
        summary["top1_document_named"] = float(f_right[f_ok].mean())
        summary["answered_and_right_document_named"] = float((~f_refused & f_right)[f_ok].mean())
    return {
        "summary": {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()},
        "calibration": reliability(supports, right),
        "curve": curve(supports[real], answerable[real]),
    }
