"""The rows the judge's stack is fitted and measured on (``eval.fit_stack``): questions asked
in the product's setting (never the gold sets), and each reader alone measured on them.

    python -m eval.probe_stack --data ../shared/training --late ~/.cache/exhibitqa/late/eval-int8
    python -m eval.probe_stack --train-records 10     # also the training records' questions (≈ 1 h)

Each question is asked of its indexed record (``eval.record_groups``): the validation articles,
a training record, or a CUAD contract. One row keeps, per candidate, the shipped reader's score
(and a second reader's, if given), the coverage and the scorer's order and probabilities, and
which candidates are right. Run alone it measures each reader reading the prefilter's first n or
the scorer's top candidates. Rows are kept under ~/.cache/exhibitqa/stack-rows, a folder per
reader model, so a retrained reader is asked again and a cut-off run resumes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from eval.fit_reader import figures
from eval.record_groups import (
    ANALYST,
    ANALYST_TRAINING,
    analyst_split,
    analyst_training_records,
    contract_records,
    judged,
    training_records,
    validation_sample,
)
from eval.train_scorer import Split
from qa.cites import normalize
from qa.settings import Settings

ROWS = Path.home() / ".cache" / "exhibitqa" / "stack-rows"  # a folder per reader model and sample
WORK = Path.home() / ".cache" / "exhibitqa" / "probe-stack"  # the indexed records
ROWS_VERSION = 3  # of what a row holds: a change makes new rows, not reused ones


def collect(split: Split, work: Path, readers: dict[str, Path]) -> list[dict[str, Any]]:
    """One row per question of ``split``, asked of the split indexed as a record."""
    from qa.answering.extractive import coverages, reading_order
    from qa.answering.reader import Reader

    models = {name: Reader(folder) for name, folder in readers.items()}
    article = {c: title for title, contexts in split.articles for c in contexts}
    rows = []
    for a, j, row in judged(split, work, Settings()):
        at = {c: i for i, c in enumerate(a.candidates)}
        row["article"] = article.get(a.item.context, "")
        row["scorer_order"] = [at[s.candidate] for s in j.ranked if s.candidate in at]
        row["scorer_p"] = [round(s.probability, 5) for s in j.ranked if s.candidate in at]
        row["cov_order"] = reading_order(a.question.weights, a.views)
        row["cov"] = [round(v, 4) for v in coverages(a.question.weights, a.views)]
        # Which paragraph each candidate cites, and whether it is the one the question was asked
        # of: what a second quoted sentence adds to the answer's cites (eval.second_sentences).
        row["para"] = [[c.passage.paragraph.exhibit, c.passage.paragraph.number] for c in a.candidates]
        context = normalize(a.item.context)
        row["asked_of"] = [normalize(c.passage.paragraph.text) in context for c in a.candidates]
        row["gather"] = j.kind == "list" or j.reason  # the answer may gather more sentences
        # Each reader reads the union of what either order puts in its first 8.
        read = sorted(set(row["scorer_order"][:8]) | set(row["cov_order"][:8]))
        for name, r in models.items():
            s = np.full(len(a.views), -99.0)
            if read:
                s[read] = r.scores(a.item.question, [a.views[i] for i in read])
            row[name] = s.tolist()
        rows.append(row)
    return rows


def _best(rows: list[dict[str, Any]], name: str, order: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    best, right = [], []
    for r in rows:
        idx = r[order][:n]
        j = max(idx, key=lambda i: r[name][i]) if idx else None
        best.append(r[name][j] if j is not None else -99.0)
        right.append(bool(r["y"][j]) if j is not None else False)
    return np.asarray(best), np.asarray(right)


def report(rows: list[dict[str, Any]], readers: list[str]) -> dict[str, dict[str, float]]:
    """Each reader alone, reading the prefilter's first n or the scorer's top candidates (the
    stacked designs are measured by ``eval.fit_stack``, with the shipped stack's own code)."""
    absent = np.asarray([r["absent"] for r in rows])
    out = {
        "scorer": figures(
            np.asarray([r["today_support"] for r in rows]), np.asarray([r["today_right"] for r in rows]), rows
        )
    }
    for name in readers:
        variants = {f"{name}: prefilter's first {n}": _best(rows, name, "cov_order", n) for n in (6, 8)}
        variants[f"{name}: the scorer's top candidates"] = _best(rows, name, "scorer_order", 8)
        for label, (best, right) in variants.items():
            # A question naming what the record never mentions is refused by rule, as answering does.
            out[label] = figures(np.where(absent, -99.0, best), right, rows)
    return out


def rows_folder(readers: dict[str, Path], n: int, seed: int) -> Path:
    """Where the rows of these readers' scores are kept: a new model file (a reader's, or the
    feature scorer's, whose order and probabilities the rows hold) makes new rows."""
    from qa.answering.scorer import MODEL_PATH

    h = hashlib.md5(f"{ROWS_VERSION} {n} {seed}".encode() + MODEL_PATH.read_bytes())
    for name, folder in sorted(readers.items()):
        meta = json.loads((folder / "reader.json").read_text(encoding="utf-8"))
        h.update(name.encode() + (folder / meta.get("model", "reader.onnx")).read_bytes())
    return ROWS / h.hexdigest()[:12]


def _cached(
    parts: Iterable[tuple[str, Callable[[], Split]]], readers: dict[str, Path], n: int, seed: int, work: Path
) -> list[dict[str, Any]]:
    """The rows of each named split, collected once per reader model into a file of its name; a
    cut-off run resumes at the split it stopped in."""
    rows: list[dict[str, Any]] = []
    for name, make in parts:
        done = rows_folder(readers, n, seed) / f"{name}.json"
        if not done.exists():
            _write(done, collect(make(), work, readers))
        rows += json.loads(done.read_text())
    return rows


def validation_rows(
    data: Path, readers: dict[str, Path], n: int = 800, seed: int = 13, work: Path = WORK
) -> list[dict[str, Any]]:
    """Rows of ``n`` sampled validation questions."""
    return _cached([("validation", partial(validation_sample, data, seed, n))], readers, n, seed, work)


def _made(split: Split) -> Callable[[], Split]:
    return lambda: split


def _version(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()[:8]


def analyst_rows(
    data: Path,
    readers: dict[str, Path],
    n: int = 800,
    seed: int = 13,
    work: Path = WORK,
    path: Path = ANALYST,
) -> list[dict[str, Any]]:
    """Rows of the questions written here in an analyst's style (per version of the questions)."""
    return _cached(
        [(f"analyst-{_version(path)}", partial(analyst_split, data, seed, path))], readers, n, seed, work
    )


def analyst_training_rows(
    data: Path,
    readers: dict[str, Path],
    n: int = 800,
    seed: int = 13,
    work: Path = WORK,
    path: Path = ANALYST_TRAINING,
) -> list[dict[str, Any]]:
    """Rows of the analyst-style questions written about training articles, asked of the training
    records holding them (a file per record and version of the questions)."""
    records = analyst_training_records(data, seed, path)
    parts = [(f"analyst-{r.name}-{_version(path)}", _made(r)) for r in records]
    return _cached(parts, readers, n, seed, work)


def training_rows(
    data: Path, readers: dict[str, Path], records: int, n: int = 800, seed: int = 13, work: Path = WORK
) -> list[dict[str, Any]]:
    """Rows of every question asked of the first ``records`` training records."""
    parts = [(f"record-{r:03d}", make) for r, make in enumerate(training_records(data, seed)[:records])]
    return _cached(parts, readers, n, seed, work)


def contract_rows(
    data: Path,
    readers: dict[str, Path],
    contracts: int = 12,
    n: int = 800,
    seed: int = 13,
    work: Path = WORK,
    split: str = "validation",
) -> list[dict[str, Any]]:
    """Rows of every clause question asked of each of ``contracts`` CUAD contracts of ``split`` (a
    record each): the legal domain, beside the SQuAD articles."""
    parts = [(r.name, _made(r)) for r in contract_records(data, seed, contracts, split)]
    return _cached(parts, readers, n, seed, work)


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".tmp").write_text(json.dumps(rows))
    path.with_suffix(".tmp").replace(path)


def main(argv: list[str] | None = None) -> int:
    from qa.answering.reader import FOLDER

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/training"))
    p.add_argument("--work", type=Path, default=WORK)
    p.add_argument(
        "--late", type=Path, default=None, help="a second reader's folder (reader.json, reader.onnx)"
    )
    p.add_argument("--n", type=int, default=800, help="validation questions sampled")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--train-records", type=int, default=0, help="also ask this many training records")
    args = p.parse_args(argv)
    readers = {"shipped": FOLDER} | ({"late": args.late} if args.late else {})
    rows = validation_rows(args.data, readers, args.n, args.seed, args.work)
    train = training_rows(args.data, readers, args.train_records, args.n, args.seed, args.work)  # collected
    table = report(rows, [k for k in readers if k in rows[0]])
    for label, f in table.items():
        print(f"{label:48s} " + " ".join(f"{k}={v:.3f}" for k, v in f.items() if k != "threshold_score"))
    print(json.dumps({"questions": len(rows), "training_questions": len(train)}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
