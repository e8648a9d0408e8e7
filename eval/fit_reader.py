"""Export the trained reader to ONNX (int8), then measure and calibrate it in the product's own
setting, side by side with today's scorer, on the validation articles only.

    python -m eval.fit_reader --data ../shared/training        # after eval.train_reader

The validation articles become a record of exhibits indexed by the product's pipeline; each
question is retrieved (k = 8) and every sentence of the retrieved paragraphs is a candidate,
exactly as when answering. The reader's best score is calibrated (Platt) into the probability
that the answer is right, and the refusal threshold is set for a stated false-refusal rate.
Writes ``qa/answering/reader/`` (reader.onnx, tokenizer.json, reader.json) and the card
``reader/reader.md``; the gold sets are never read.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval.reader_card import write_card
from eval.record_groups import judged, validation_split
from eval.train_reader import WORK, base_model_path, make_model
from eval.train_scorer import Split
from qa.answering.reader import FOLDER
from qa.answering.stack import by_coverage
from qa.settings import Settings


def export(work: Path, out: Path, weights: str = "final", kind: str = "cross") -> dict[str, Any]:
    """The trained weights (final.pt, or the last checkpoint) -> fp32 ONNX -> dynamic int8 ONNX
    in ``work``; the tokenizer into ``out``; sizes in MB. ``kind`` "late": eval.train_late's
    head over the frozen base model (inputs: ids and mask, the question's row first)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    base = base_model_path()
    key = "head" if kind == "late" else "model"
    if weights == "final":
        state = torch.load(work / "final.pt", weights_only=True)
    else:
        state = torch.load(work / "checkpoint.pt", weights_only=False)[key]
    fp32 = work / "reader.fp32.onnx"
    if kind == "late":
        from eval.train_late import end_to_end, make_head

        head = make_head()
        head.load_state_dict(state)
        model = end_to_end(head.eval())
        ids = torch.ones((4, 16), dtype=torch.long)
        inputs: tuple[Any, ...] = (ids, torch.ones_like(ids))
        names = ["ids", "mask"]
        axes = {k: {0: "rows", 1: "tokens"} for k in names} | {"score": {0: "k"}}
    else:
        model = make_model(base)
        model.load_state_dict(state)
        model.eval()
        ids = torch.ones((2, 16), dtype=torch.long)
        inputs = (ids, torch.ones_like(ids), torch.zeros_like(ids))
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {k: {0: "batch", 1: "tokens"} for k in names} | {"score": {0: "batch"}}
    torch.onnx.export(
        model,
        inputs,
        str(fp32),
        input_names=names,
        output_names=["score"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    out.mkdir(parents=True, exist_ok=True)
    int8 = work / "reader.int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    shutil.copy(base / "tokenizer.json", out / "tokenizer.json")
    return {
        "fp32": fp32,
        "int8": int8,
        "mb_fp32": fp32.stat().st_size / 1e6,
        "mb_int8": int8.stat().st_size / 1e6,
    }


READ = 6  # candidates the reader alone is measured reading (the stack chooses its own: eval/fit_stack.py)
READ_MOST = 32  # the most candidates any variant measured here reads


def collect(
    split: Split, work: Path, settings: Settings, readers: dict[str, Path], shape: dict[str, Any]
) -> list[dict[str, Any]]:
    """Per question: each reader's candidate scores, today's scorer's pick and support, labels."""
    from qa.answering.extractive import coverages

    models = {name: _uncalibrated(work, name, path, shape) for name, path in readers.items()}
    out = []
    for a, _, row in judged(split, work, settings):
        q, texts = a.question, list(a.views)
        row["cov"] = coverages(q.weights, texts)
        row["type"] = [c.type_match for c in a.candidates]
        # The reader reads the READ_MOST candidates the prefilter puts first (each pair costs
        # ~20 ms on 2 cores); the others count as unread (scored -99) in every figure.
        t0 = time.perf_counter()
        keep = kept(row, READ_MOST)
        scores = np.full(len(texts), -99.0, dtype=np.float32)
        scores[keep] = models["int8"].scores(a.item.question, [texts[i] for i in keep])
        row["int8_ms"] = (time.perf_counter() - t0) * 1000
        row["int8"] = scores.tolist()
        out.append(row)
    return out


def _uncalibrated(work: Path, name: str, path: Path, shape: dict[str, Any]) -> Any:
    """A Reader over the ONNX file ``path`` with no calibration (raw scores)."""
    from qa.answering.reader import Reader

    folder = work / f"eval-{name}"
    folder.mkdir(exist_ok=True)
    shutil.copy(path, folder / "reader.onnx")
    shutil.copy(base_model_path() / "tokenizer.json", folder / "tokenizer.json")
    (folder / "reader.json").write_text(json.dumps(shape | {"calibration": {"a": 1, "b": 0}, "threshold": 0}))
    return Reader(folder)


def int8_vs_fp32(work: Path, data: Path, seed: int, shape: dict[str, Any], n: int = 700) -> dict[str, Any]:
    """The validation groups (the answer among 4 candidates, or none) scored by both files."""
    from eval.train_reader import load_groups, measure

    groups = load_groups(data, work, "validation", seed)[:n]
    out: dict[str, Any] = {"groups": len(groups)}
    for name in ("fp32", "int8"):
        r = _uncalibrated(work, name, work / f"reader.{name}.onnx", shape)
        out[name] = measure(groups, [r.scores(g.question, list(g.texts)) for g in groups])
    return out


def figures(
    supports: np.ndarray, right: np.ndarray, rows: list[dict[str, Any]], fr: float = 0.08
) -> dict[str, float]:
    """Top-1, refusal recall at ``fr`` false refusals, AUC answerable-vs-not, answered-and-right."""
    answerable = np.asarray([r["answerable"] for r in rows])
    real = ~np.asarray([r["synthetic"] for r in rows])
    t = float(np.quantile(supports[answerable], fr))
    refused = supports < t
    pos, neg = supports[answerable], supports[~answerable & real]
    auc = float(np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])))
    return {
        "top1": float(right[answerable & real].mean()),
        "refusal_recall_at_fr": float(refused[~answerable & real].mean()),
        "near_miss_refusal_at_fr": float(refused[~real].mean()) if (~real).any() else float("nan"),
        "auc": auc,
        "answered_and_right": float((~refused & right)[answerable].mean()),
        "threshold_score": t,
    }


def kept(row: dict[str, Any], n: int | None) -> list[int]:
    """The candidates the prefilter lets the reader see (all when ``n`` is None)."""
    cov = row["cov"]
    if n is None or len(cov) <= n:
        return list(range(len(cov)))
    return sorted(by_coverage(cov)[:n])


def reader_outcomes(
    rows: list[dict[str, Any]], name: str, n: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per question: the reader's best score among the candidates it sees, and whether that
    candidate is right."""
    best, right = [], []
    for r in rows:
        idx = kept(r, n)
        s = [r[name][i] for i in idx]
        if not s:
            best.append(-20.0)
            right.append(False)
            continue
        j = idx[int(np.argmax(s))]
        best.append(r[name][j])
        right.append(bool(r["y"][j]))
    return np.asarray(best), np.asarray(right)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/training"))
    p.add_argument("--work", type=Path, default=None, help="the trainer's folder (default: the kind's)")
    p.add_argument("--out", type=Path, default=FOLDER)
    p.add_argument("--false-refusals", type=float, default=0.08)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--max-len", type=int, default=112, help="tokens per pair, as trained (cross)")
    p.add_argument(
        "--kind", choices=("cross", "late"), default="cross", help="eval.train_reader's or eval.train_late's"
    )
    p.add_argument("--no-export", action="store_true", help="reuse the ONNX files in --work")
    p.add_argument("--reuse-rows", action="store_true", help="reuse the scored validation rows in --work")
    p.add_argument("--weights", choices=("final", "checkpoint"), default="final", help="what to export")
    p.add_argument("--sample", type=int, default=800, help="validation questions measured (0: all)")
    p.add_argument("--read", type=int, default=READ, help="candidates the reader reads, after the prefilter")
    p.add_argument("--dry-run", action="store_true", help="write the card to --work, not the shipped model")
    args = p.parse_args(argv)
    settings = Settings()
    if args.kind == "late":
        from eval import train_late

        shape: dict[str, Any] = {"kind": "late", "max_len": train_late.MAX_LEN["t"]}
        shape["question_len"] = train_late.MAX_LEN["q"]
        work: Path = args.work or train_late.WORK
    else:
        shape = {"kind": "cross", "max_len": args.max_len}
        work = args.work or WORK
    if not args.no_export:
        sizes = export(work, args.out, args.weights, args.kind)
        print(json.dumps({k: v for k, v in sizes.items() if k.startswith("mb")}), file=sys.stderr)
    readers = {"int8": work / "reader.int8.onnx"}
    split = validation_split(args.data, args.seed)
    if args.sample and args.sample < len(split.items):
        split.items = random.Random(args.seed).sample(split.items, args.sample)
    rows_file = work / "validation-rows.json"
    if args.reuse_rows and rows_file.exists():
        rows = json.loads(rows_file.read_text())
    else:
        rows = collect(split, work, settings, readers, shape)
        rows_file.write_text(json.dumps(rows))
    report: dict[str, Any] = {"questions": len(rows)}
    absent = np.asarray([r["absent"] for r in rows])
    report["today"] = figures(
        np.asarray([r["today_support"] for r in rows]), np.asarray([r["today_right"] for r in rows]), rows
    )
    # The shipped path: the prefilter's candidates, and a question naming what the record never
    # mentions refused before the reader reads it (the rule's worth is in the ablations).
    best, right = reader_outcomes(rows, "int8", args.read)
    best = np.where(absent, -99.0, best)
    report["int8"] = figures(best, right, rows, args.false_refusals)
    report["int8_vs_fp32"] = int8_vs_fp32(work, args.data, args.seed, shape)
    report["prefilter"] = {
        str(n): figures(*reader_outcomes(rows, "int8", n), rows, args.false_refusals)
        for n in (4, 6, 8, 12, 16, 24, 32)
    }
    report["ablations"] = ablations(rows, args.false_refusals, args.read)
    # A question refused by rule (or with nothing read) has support 0 in the product; its
    # sentinel score must not pull the fit.
    read = best > -50
    calibration = platt(best[read], right[read])
    probs = np.where(read, 1 / (1 + np.exp(-(calibration["a"] * best + calibration["b"]))), 0.0)
    answerable = np.asarray([r["answerable"] for r in rows])
    threshold = float(np.quantile(probs[answerable], args.false_refusals))
    report["calibration"] = calibration
    report["threshold"] = round(threshold, 4)
    report["curve"] = curve_points(probs, right, rows)
    report["ms_per_question_p50"] = {
        k: float(np.median([r[k] for r in rows])) for k in ("today_ms", "int8_ms")
    }
    report["read_most"] = READ_MOST
    report["kind"] = shape["kind"]
    report["max_read"] = args.read
    print(json.dumps(report, indent=1))
    (work / "validation-report.json").write_text(json.dumps(report, indent=1))
    if args.dry_run:
        write_card(report, work, work / "reader.dry-run.md", (work / "reader.int8.onnx").stat().st_size / 1e6)
        return 0
    out: Path = args.out
    shutil.copy(work / "reader.int8.onnx", out / "reader.onnx")
    meta = {
        "model": "reader.onnx",
        **shape,
        "calibration": calibration,
        "threshold": report["threshold"],
        "read": args.read,
        "false_refusal_rate": args.false_refusals,
        "validation": {k: report[k] for k in ("questions", "today", "int8")},
    }
    (out / "reader.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    write_card(
        report, work, out / "reader.md", (out / "reader.onnx").stat().st_size / 1e6, Path("eval/results")
    )
    return 0


def ablations(rows: list[dict[str, Any]], fr: float, n: int) -> dict[str, dict[str, float]]:
    """What today's parts add to the reader, on validation: the rule that refuses a question
    naming something the record never mentions, and the feature scorer's support stacked with
    the reader's score (logistic regression, 5-fold cross-validated by question)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    best, right = reader_outcomes(rows, "int8", n)
    absent = np.asarray([r["absent"] for r in rows])
    today = np.clip(np.asarray([r["today_support"] for r in rows]), 1e-4, 1 - 1e-4)
    x = np.column_stack([best, np.log(today / (1 - today))])
    stacked = cross_val_predict(
        LogisticRegression(C=1.0), x, right.astype(int), cv=5, method="predict_proba"
    )[:, 1]
    typed = [
        dict(r, int8=[s if t else -99.0 for s, t in zip(r["int8"], r["type"], strict=True)]) for r in rows
    ]
    t_best, t_right = reader_outcomes(typed, "int8", n)
    return {
        "reader alone": figures(best, right, rows, fr),
        "reader, only sentences holding the kind of fact asked for": figures(t_best, t_right, rows, fr),
        "reader + absent-name rule": figures(np.where(absent, -99.0, best), right, rows, fr),
        "reader + feature scorer (stacked)": figures(stacked, right, rows, fr),
        "reader + scorer + absent rule": figures(np.where(absent, -99.0, stacked), right, rows, fr),
    }


def platt(score: np.ndarray, right: np.ndarray) -> dict[str, float]:
    """Logistic calibration of the best score into P(the answer is right)."""
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=100.0).fit(score.reshape(-1, 1), right.astype(int))
    return {"a": round(float(m.coef_[0][0]), 5), "b": round(float(m.intercept_[0]), 5)}


def curve_points(probs: np.ndarray, right: np.ndarray, rows: list[dict[str, Any]]) -> list[dict[str, float]]:
    """At each threshold: answerable refused, unanswerable refused, answerable answered wrongly."""
    answerable = np.asarray([r["answerable"] for r in rows])
    real = ~np.asarray([r["synthetic"] for r in rows])
    out = []
    for t in np.quantile(probs, np.linspace(0, 0.9, 10)):
        refused = probs < t
        out.append(
            {
                "threshold": round(float(t), 4),
                "answerable_refused": round(float(refused[answerable].mean()), 3),
                "unanswerable_refused": round(float(refused[~answerable & real].mean()), 3),
                "near_misses_refused": round(float(refused[~real].mean()), 3),
                "answerable_wrong": round(float((~refused & ~right)[answerable].mean()), 3),
            }
        )
    return out


if __name__ == "__main__":
    raise SystemExit(main())
