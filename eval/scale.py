"""Scaling runs of ``exhibitqa bench``: synthetic records of F times the sample.

Copy 0 is the record as it is; copy c renumbers every exhibit N to N + 1000*c and marks each
prose line with the word ``zq<c>`` (after its first word; inside long Chinese lines), so BM25,
the dedup of repeated text and the content hashes all see distinct text while the segmenter
makes the same paragraphs.

Embedding 100x the sample for real would take ~2.4 hours on 2 cores, so the copies reuse the
1x vectors: a window's text with its marks removed is looked up among the 1x windows (a window
that shifted under the marks takes the 1x window sharing most 8-word runs with it), and small
Gaussian noise (sigma 0.01 a dimension, cosine ~0.98 to the original) keeps copies apart.
Questions are embedded for real. Build times at F > 1 therefore exclude embedding; the report
says so and gives the embedding time the 1x build measured per window.

Each factor runs in two fresh processes (``python -m eval.scale build|query``) so that peak
memory is the build's and the server's own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import resource
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from eval.measure import disk_mb, quantile_ms

REUSE_MODEL = "bench-reuse:multilingual-e5-small"
_NOISE = 0.01
_SPACED_MARK = re.compile(r" zq\d+(?= )")
_MARK = re.compile(r"zq\d+")
_EXHIBIT_LINE = re.compile(r"^([ \t]*EXHIBIT[ \t]+)(\d{1,5})([ \t]*)$", re.MULTILINE)
_CJK = re.compile("[\u3400-\u9fff]")
_FIRST_WORD = re.compile(r"^(\s*\S+) (.*)$", re.DOTALL)


def mark_line(line: str, copy: int) -> str:
    """``line`` with the copy's mark: after the first word of prose, inside long CJK runs."""
    stripped = line.strip()
    if not stripped or stripped.startswith(("|", "EXHIBIT")):
        return line
    first = _FIRST_WORD.match(line)
    if len(stripped.split()) >= 6 and first:
        return f"{first[1]} zq{copy} {first[2]}"
    if len(_CJK.findall(stripped)) >= 8:
        i = line.index(stripped[0]) + 4
        return f"{line[:i]}zq{copy}{line[i:]}"
    return line


def strip_marks(text: str) -> str:
    """The 1x text a marked window came from."""
    return _MARK.sub("", _SPACED_MARK.sub("", text))


def copy_text(text: str, copy: int) -> str:
    """One copy of a record file: exhibits renumbered, prose lines marked."""
    if copy == 0:
        return text
    renumbered = _EXHIBIT_LINE.sub(lambda m: f"{m[1]}{int(m[2]) + 1000 * copy}{m[3]}", text)
    return "\n".join(mark_line(line, copy) for line in renumbered.split("\n"))


def make_record(files: list[Path], factor: int, out: Path) -> Path:
    """Write ``factor`` copies of the record ``files`` (text files with EXHIBIT lines) to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        text = f.read_text(encoding="utf-8")
        for c in range(factor):
            (out / f"copy{c:03d}-{f.name}").write_text(copy_text(text, c), encoding="utf-8")
    return out


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _shingles(text: str) -> set[str]:
    """8-word runs; 8-character runs for unspaced (Chinese) text."""
    words = text.split()
    units = words if len(words) >= 8 else list(text)
    return {" ".join(units[i : i + 8]) for i in range(max(1, len(units) - 7))}


class ReuseEmbedding(BaseEmbedding):
    """Passages: the 1x vector of the same (unmarked) text plus noise. Queries: the real model."""

    _vectors: dict[str, np.ndarray] = PrivateAttr()
    _shingle_index: dict[str, list[str]] = PrivateAttr()
    _real: Any = PrivateAttr()
    _stats: Counter[str] = PrivateAttr(default_factory=Counter)

    def __init__(self, texts: list[str], vectors: np.ndarray, real: BaseEmbedding):
        super().__init__(model_name=REUSE_MODEL, embed_batch_size=2048)
        self._vectors = {_sha(t): v for t, v in zip(texts, vectors, strict=True)}
        index: dict[str, list[str]] = {}
        for t in texts:
            for s in _shingles(t):
                index.setdefault(s, []).append(_sha(t))
        self._shingle_index = index
        self._real = real

    @property
    def stats(self) -> Counter[str]:
        """How each passage vector was found: exact text, nearest 1x window, or embedded."""
        return self._stats

    @classmethod
    def class_name(cls) -> str:
        return "ReuseEmbedding"

    def _vector(self, text: str) -> np.ndarray:
        plain = strip_marks(text)
        base = self._vectors.get(_sha(plain))
        if base is not None:
            self._stats["exact"] += 1
        else:
            votes = Counter(sha for s in _shingles(plain) for sha in self._shingle_index.get(s, []))
            if votes:
                base = self._vectors[votes.most_common(1)[0][0]]
                self._stats["nearest"] += 1
            else:
                self._stats["embedded"] += 1
                base = np.asarray(self._real.get_text_embedding(plain), dtype=np.float32)
        if plain == text:  # copy 0 keeps the real vectors
            return base
        rng = np.random.default_rng(int(_sha(text)[:12], 16))
        v = base + rng.normal(0.0, _NOISE, base.shape).astype(np.float32)
        return v / np.linalg.norm(v)

    def _get_query_embedding(self, query: str) -> list[float]:
        return list(self._real.get_query_embedding(query))

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text).tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t).tolist() for t in texts]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def dump_vectors(store: Path, out: Path) -> Path:
    """The 1x store's window texts and vectors, for the copies to reuse."""
    from index.store import read_manifest
    from index.vectors import VectorHome

    home = VectorHome.of(read_manifest(store) or {})
    client = home.client(store)
    try:
        got = client.get_collection(home.collection).get(include=["documents", "embeddings"])
    finally:
        client.close()
    np.savez(out, texts=np.array(got["documents"], dtype=object), vectors=np.asarray(got["embeddings"]))
    return out


def _register(vectors: Path, settings: Any) -> ReuseEmbedding:
    from index import embed

    data = np.load(vectors, allow_pickle=True)
    real = embed.get_embedder(settings.embedding_model, settings)
    model = ReuseEmbedding(list(data["texts"]), data["vectors"].astype(np.float32), real)
    embed.EMBEDDERS[REUSE_MODEL] = lambda: model
    embed._LOADED[REUSE_MODEL] = model
    return model


def _rss_mb() -> float:
    """Peak memory of this process since it started. Not ``ru_maxrss``: Linux carries that over
    from the parent through fork and exec, so a child of the bench would report the bench's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def phase_build(args: argparse.Namespace) -> dict[str, Any]:
    from index.store import build
    from qa.settings import Settings

    settings = Settings(store=Path(args.work) / "store", embedding_model=REUSE_MODEL)
    model = _register(Path(args.vectors), Settings())
    src = make_record([Path(f) for f in args.files], args.factor, Path(args.work) / "src")
    t0 = time.perf_counter()
    report = build([src], settings)
    build_s = time.perf_counter() - t0
    return {
        "factor": args.factor,
        "paragraphs": report.paragraphs,
        "windows": report.vectors,
        "build_s": round(build_s, 2),
        "build_rss_mb": _rss_mb(),
        "disk_mb": disk_mb(settings.store),
        "vector_reuse": dict(model.stats),
    }


def phase_query(args: argparse.Namespace) -> dict[str, Any]:
    from eval.gold import load_gold
    from qa.api import ask, get_retriever
    from qa.settings import Settings

    settings = Settings(store=Path(args.work) / "store", embedding_model=REUSE_MODEL)
    _register(Path(args.vectors), Settings())
    questions = [i.question for i in load_gold(Path(args.gold))]
    t0 = time.perf_counter()
    retriever = get_retriever(settings)
    load_s = time.perf_counter() - t0
    search_t, answer_t = [], []
    for q in questions:
        retriever.clear_caches()
        t = time.perf_counter()
        retriever.search(q)
        search_t.append(time.perf_counter() - t)
    first_answer_s = 0.0
    for i, q in enumerate(questions[: args.answers]):
        retriever.clear_caches()
        t = time.perf_counter()
        ask(q, settings=settings)
        answer_t.append(time.perf_counter() - t)
        if i == 0:
            first_answer_s = answer_t[0]
    serving_rss = _rss_mb()  # before the recall check, which holds every vector in memory
    by_id, by_content = hnsw_recall(retriever, questions[:: max(1, len(questions) // 20)])
    return {
        "load_s": round(load_s, 2),
        "retrieval_p50_ms": quantile_ms(search_t, 0.5),
        "retrieval_p95_ms": quantile_ms(search_t, 0.95),
        "first_answer_s": round(first_answer_s, 2),
        "answer_p50_ms": quantile_ms(answer_t[1:], 0.5),
        "hnsw_recall": by_content,
        "hnsw_recall_ids": by_id,
        "rss_mb": serving_rss,
    }


def hnsw_recall(retriever: Any, questions: list[str], n: int = 30) -> tuple[float, float]:
    """How much of the exact top ``n`` windows (brute force) Chroma's HNSW search returns, two
    ways: the very windows, and their content (the same window of the same paragraph in any
    copy). The copies of a window differ only by noise, so at 100x many windows tie with the
    exact ones and the first measure understates what a search finds."""
    got = retriever._collection.get(include=["embeddings"])
    ids = np.array(got["ids"])
    matrix = np.asarray(got["embeddings"], dtype=np.float32)
    del got
    n = min(n, len(ids))
    same = alike = total = 0
    for q in questions:
        v = np.asarray(retriever.embed_query(q), dtype=np.float32)
        exact = set(ids[np.argsort(-(matrix @ v))[:n]])
        approx = set(
            retriever._collection.query(query_embeddings=[v.tolist()], n_results=n, include=[])["ids"][0]
        )
        same += len(exact & approx)
        alike += len({_content(i) for i in exact} & {_content(i) for i in approx})
        total += len({_content(i) for i in exact})
    by_id = same / (n * len(questions)) if questions else 0.0
    return round(by_id, 3), round(alike / total, 3) if total else 0.0


def _content(window_id: str) -> str:
    """``ex2061-p12-w1`` -> ``61-12-w1``: the window whatever copy it is in."""
    m = re.match(r"ex(\d+)-p(\d+)(.*)", window_id)
    return f"{int(m[1]) % 1000}-{m[2]}{m[3]}" if m else window_id


def run_factor(factor: int, files: list[Path], vectors: Path, gold: Path, work: Path) -> dict[str, Any]:
    """Build and query one synthetic record in fresh processes; the merged measurements."""
    import subprocess

    common = ["--factor", str(factor), "--vectors", str(vectors), "--gold", str(gold), "--work", str(work)]
    common += ["--files", *map(str, files)]
    out: dict[str, Any] = {}
    for phase in ("build", "query"):
        done = subprocess.run(
            [sys.executable, "-m", "eval.scale", phase, *common], capture_output=True, text=True, timeout=7200
        )
        if done.returncode != 0:
            raise RuntimeError(f"scale {factor}x {phase} failed:\n{done.stderr[-3000:]}")
        out.update(json.loads(done.stdout.strip().splitlines()[-1]))
    shutil.rmtree(work, ignore_errors=True)
    return out


def growth_exponent(xs: list[float], ys: list[float]) -> float | None:
    """Slope of log y against log x: 1.0 is linear growth, 0 is flat."""
    pts = [(np.log(x), np.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    a, b = np.array(pts).T
    return round(float(np.polyfit(a, b, 1)[0]), 2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.scale")
    p.add_argument("phase", choices=["build", "query"])
    p.add_argument("--factor", type=int, required=True)
    p.add_argument("--vectors", required=True)
    p.add_argument("--gold", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--answers", type=int, default=21, help="questions answered end to end")
    p.add_argument("--files", nargs="+", required=True)
    args = p.parse_args(argv)
    result = phase_build(args) if args.phase == "build" else phase_query(args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
