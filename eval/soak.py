"""Soak: ``python app.py`` keeps answering, correctly, while the record is rebuilt again and again.

``python -m eval.soak`` starts the app on a copy of a record, lets several clients ask back to
back, and meanwhile rebuilds the index from the command line (each time changing one fact)
and adds exhibits through the app's upload endpoint. Every answer names the index generation
it came from ("record indexed … (id)"); the soak checks each cite against the paragraphs of
that generation, and the changing fact against the value that generation holds. Figures go to
``soak.json``; ``tests/test_soak.py`` runs it and asserts on them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eval.procs import free_port, rss_mb, wait_for_app
from index.atomic import current

ROOT = Path(__file__).resolve().parent.parent
FACT_EXHIBIT = 5  # a number the sample record does not use; the soak adds it
UPLOAD_FIRST = 81
FACT_QUESTION = f"In Exhibit {FACT_EXHIBIT}, how many ships did the port of Tianjin handle in 2019?"
_INDEX_RE = re.compile(r"record indexed \S+ \(([0-9a-f]{8})\)")
_CITE_RE = re.compile(r"#cite-(\d+)-(\d+)\)")
_NUMBER_RE = re.compile(r"\b(\d{3,6})\b")


@dataclass(frozen=True)
class SoakConfig:
    """How long and how hard the soak runs."""

    seconds: float = 180.0
    clients: int = 4
    rebuilds: int = 20
    uploads: int = 5


def _fact(ships: int) -> str:
    return f"EXHIBIT {FACT_EXHIBIT}\n\nPort Notice\n\nThe port of Tianjin handled {ships} ships in 2019.\n"


def _upload_text(n: int) -> str:
    return f"Dock Report\n\nThe Qingdao dry dock repaired {400 + n} vessels in 2018.\n"


def _index(record: Path, uploads: Path, store: Path, *extra: str) -> tuple[int, float, str]:
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "qa.cli", "index", str(record), str(uploads), "--store", str(store), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return done.returncode, time.monotonic() - t0, (done.stdout + done.stderr)[-500:]


class _Generations:
    """The paragraphs of every generation the store has pointed at, read as each appears."""

    def __init__(self, store: Path):
        self.store = store
        self.seen: dict[str, dict[tuple[int, int], str]] = {}
        self._lock = threading.Lock()

    def _read(self, gen: Path) -> None:
        short = gen.name.rsplit("-", 1)[-1]
        if short in self.seen:
            return
        paragraphs: dict[tuple[int, int], str] = {}
        with (gen / "paragraphs.jsonl").open(encoding="utf-8") as f:
            for line in f:
                p = json.loads(line)
                paragraphs[(int(p["exhibit"]), int(p["paragraph"]))] = p["text"]
        with self._lock:
            self.seen[short] = paragraphs

    def poll(self) -> None:
        gen = current(self.store)
        if gen is not None and gen != self.store:
            with suppress(
                OSError, ValueError
            ):  # replaced while being read: the next poll reads its successor
                self._read(gen)

    def get(self, short: str) -> dict[tuple[int, int], str] | None:
        found = self.seen.get(short)
        if found is None:  # not seen by the poller: the app may still hold it on disk
            for gen in self.store.parent.glob(f".{self.store.name}.gen-{short}"):
                try:
                    self._read(gen)
                except (OSError, ValueError):
                    return None
            found = self.seen.get(short)
        return found


def run_soak(record: Path, work: Path, config: SoakConfig, seed_store: Path | None = None) -> dict[str, Any]:
    """Run the soak on a copy of ``record`` under ``work``; returns the figures."""
    from gradio_client import Client, handle_file

    from eval.gold import load_gold

    work.mkdir(parents=True, exist_ok=True)
    rec = work / "record"
    shutil.rmtree(rec, ignore_errors=True)
    shutil.copytree(record, rec)
    ships = 1000
    (rec / f"Exhibit {FACT_EXHIBIT}.txt").write_text(_fact(ships), encoding="utf-8")
    store = work / "store"
    uploads = work / "store-uploads"  # where the app copies uploads (qa.uploads.uploads_dir)
    uploads.mkdir(exist_ok=True)
    code, first_build_s, err = _index(
        rec, uploads, store, *(["--reuse-from", str(seed_store)] if seed_store else [])
    )
    if code != 0:
        raise RuntimeError(f"the first build failed: {err}")

    questions = [i.question for i in load_gold(ROOT / "eval" / "gold" / "exhibits_61_70.jsonl")]
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "EXHIBITQA_STORE": str(store)}
    env.pop("EXHIBITQA_AUTH", None)
    app = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}/"
    generations = _Generations(store)
    lock = threading.Lock()
    errors: list[str] = []
    checked = {"answers": 0, "cites": 0, "fact_answers": 0, "upload_answers": 0}
    latencies: list[float] = []
    uploaded: list[int] = []
    rebuild_s: list[float] = []
    indexed: list[int] = []  # rebuilds that made a generation
    absorbed: list[int] = []  # rebuilds whose change a concurrent upload's build had already indexed
    upload_s: list[float] = []
    upload_spans: list[list[float]] = []
    rss: list[tuple[float, float]] = []
    stop = threading.Event()

    def fail(what: str) -> None:
        with lock:
            errors.append(what[:400])

    def check(question: str, reply: str, expected: str | None) -> None:
        m = _INDEX_RE.search(reply)
        if m is None:
            fail(f"{question[:40]}: no index named in {reply[-200:]!r}")
            return
        paragraphs = generations.get(m.group(1))
        if paragraphs is None:
            fail(f"{question[:40]}: generation {m.group(1)} was never seen")
            return
        cites = [(int(e), int(p)) for e, p in _CITE_RE.findall(reply)]
        for key in cites:
            if key not in paragraphs:
                fail(f"{question[:40]}: cites {key}, not in generation {m.group(1)}")
        if expected is not None and (not cites or expected not in reply):
            fail(f"{question[:40]}: expected {expected} from generation {m.group(1)}, got {reply[:200]!r}")
        with lock:
            checked["answers"] += 1
            checked["cites"] += len(cites)

    def expected_fact(reply: str) -> str | None:
        m = _INDEX_RE.search(reply)
        paragraphs = generations.get(m.group(1)) if m else None
        if not paragraphs:
            return None
        text = next((t for (e, _), t in paragraphs.items() if e == FACT_EXHIBIT and "Tianjin" in t), "")
        found = _NUMBER_RE.search(text)
        return found.group(1) if found else None

    def client_loop(n: int) -> None:
        client = Client(url, verbose=False)
        i = n
        while not stop.is_set():
            i += 1
            with lock:
                ups = list(uploaded)
            if i % 3 == 0:
                q, kind = FACT_QUESTION, "fact"
            elif i % 5 == 0 and ups:
                number = ups[i % len(ups)]
                q, kind = (
                    f"In Exhibit {number}, how many vessels did the Qingdao dry dock repair in 2018?",
                    "upload",
                )
            else:
                q, kind = questions[(i * 7 + n) % len(questions)], "gold"
            t0 = time.monotonic()
            try:
                _, history, evidence, *_ = client.predict(q, [], [], "extractive", 8, api_name="/ask")
                reply = str(history[-1]["content"]) if history else ""
                if not history or history[-1].get("role") != "assistant" or "Cannot answer" in reply:
                    fail(f"{q[:40]}: no answer: {reply[:300]!r}")
                    continue
                if kind == "fact":
                    expected = expected_fact(reply)
                    check(q, reply, expected)
                    # The evidence panel shows the cited paragraph of the same generation.
                    shown = re.findall(r"handled (\d+) ships", str(evidence))
                    if expected is not None and shown and set(shown) != {expected}:
                        fail(f"{q[:40]}: the answer says {expected}, its evidence panel {shown}")
                    with lock:
                        checked["fact_answers"] += 1
                elif kind == "upload":
                    check(q, reply, str(400 + number - UPLOAD_FIRST + 1))
                    with lock:
                        checked["upload_answers"] += 1
                else:
                    check(q, reply, None)
                with lock:
                    latencies.append(time.monotonic() - t0)
            except Exception as e:  # every failure counts; none is expected
                fail(f"{q[:40]}: {e.__class__.__name__}: {e}")

    def rebuilder() -> None:
        nonlocal ships
        gap = config.seconds * 0.9 / max(1, config.rebuilds)
        start = time.monotonic()
        for r in range(config.rebuilds):
            time.sleep(max(0.0, start + r * gap - time.monotonic()))
            ships += 17
            (rec / f"Exhibit {FACT_EXHIBIT}.txt").write_text(_fact(ships), encoding="utf-8")
            written = time.monotonic()
            code, seconds, err = _index(rec, uploads, store)
            rebuild_s.append(seconds)
            if code == 0 and "Indexed " in err:
                indexed.append(r)
            elif code == 0 and "up to date" in err and _overlaps(upload_spans, written, time.monotonic()):
                # An upload's build took the lock first and read the changed file too: that build
                # made the generation with this fact, and this one had nothing left to do.
                absorbed.append(r)
            else:
                fail(f"rebuild {r + 1} exited {code}: {err}")

    def uploader() -> None:
        client = Client(url, verbose=False)
        gap = config.seconds * 0.8 / max(1, config.uploads)
        start = time.monotonic()
        for j in range(config.uploads):
            time.sleep(max(0.0, start + (j + 0.5) * gap - time.monotonic()))
            number = UPLOAD_FIRST + j
            path = work / f"dock-{number}.txt"
            path.write_text(_upload_text(j + 1), encoding="utf-8")
            t0 = time.monotonic()
            span = [t0, float("inf")]  # in flight until it returns: a rebuild may overlap it now
            upload_spans.append(span)
            try:
                status, *_ = client.predict(handle_file(str(path)), number, api_name="/add_exhibit")
            except Exception as e:
                fail(f"upload {number}: {e.__class__.__name__}: {e}")
                continue
            span[1] = time.monotonic()
            upload_s.append(span[1] - t0)
            if not str(status).startswith(f"Added Exhibit {number}"):
                fail(f"upload {number}: {status!r:.300}")
            else:
                with lock:
                    uploaded.append(number)

    try:
        wait_for_app(app, url)
        generations.poll()
        Client(url, verbose=False).predict(questions[0], [], [], "extractive", 8, api_name="/ask")  # warm
        t_start = time.monotonic()
        workers = [
            threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(config.clients)
        ]
        builders = [
            threading.Thread(target=rebuilder, daemon=True),
            threading.Thread(target=uploader, daemon=True),
        ]
        for t in workers + builders:
            t.start()
        next_rss = 0.0
        while time.monotonic() - t_start < config.seconds or any(t.is_alive() for t in builders):
            generations.poll()
            if time.monotonic() >= next_rss:
                rss.append((time.monotonic() - t_start, rss_mb(app.pid)))
                next_rss = time.monotonic() + 2.0
            if app.poll() is not None:
                fail(f"the app exited with {app.returncode}")
                break
            time.sleep(0.05)
        stop.set()
        for t in workers:
            t.join(timeout=120)
        elapsed = time.monotonic() - t_start
    finally:
        app.terminate()
        try:
            app.wait(timeout=30)
        except subprocess.TimeoutExpired:
            app.kill()
    # With the app gone nobody reads old generations: a no-op build deletes all but the current.
    on_disk = len(list(store.parent.glob(f".{store.name}.gen-*")))
    code, _, err = _index(rec, uploads, store)
    if code != 0 or "up to date" not in err:
        fail(f"the final no-op index exited {code}: {err}")
    idle = len(list(store.parent.glob(f".{store.name}.gen-*")))
    # The soak's last state: the uploads survived the command-line rebuilds that followed them.
    final = generations.get((current(store) or store).name.rsplit("-", 1)[-1]) or {}
    exhibits = sorted({e for e, _ in final})
    missing_uploads = [n for n in uploaded if n not in exhibits]
    if missing_uploads:
        fail(f"uploaded exhibits {missing_uploads} are not in the final index")
    last_fact = next((t for (e, _), t in final.items() if e == FACT_EXHIBIT and "Tianjin" in t), "")
    if f"{ships} ships" not in last_fact:  # the last change written is the one indexed
        fail(f"the final index holds {last_fact!r}, not the last fact written ({ships} ships)")
    quarter = max(1, len(rss) // 4)
    ordered = sorted(latencies)
    return {
        "config": asdict(config),
        "seconds": round(elapsed, 1),
        "first_build_s": round(first_build_s, 1),
        "errors": errors,
        "checked": checked,
        "rebuilds": len(rebuild_s),
        "rebuilds_indexed": len(indexed),
        "rebuilds_absorbed": len(absorbed),
        "rebuild_s": {"p50": _p(rebuild_s, 0.5), "max": round(max(rebuild_s), 1) if rebuild_s else None},
        "uploads": len(uploaded),
        "upload_s": {"p50": _p(upload_s, 0.5), "max": round(max(upload_s), 1) if upload_s else None},
        "generations_seen": len(generations.seen),
        "generations_on_disk_after": on_disk,
        "generations_on_disk_when_idle": idle,
        "answer_s": {"p50": _p(ordered, 0.5), "p95": _p(ordered, 0.95)},
        "rss_mb": {
            "first": round(rss[0][1]) if rss else None,
            "early": round(statistics.mean(m for _, m in rss[quarter : 2 * quarter])) if rss else None,
            "late": round(statistics.mean(m for _, m in rss[-quarter:])) if rss else None,
            "max": round(max(m for _, m in rss)) if rss else None,
        },
        "rss_series": [(round(t), round(m)) for t, m in rss],
        "exhibits_at_end": exhibits,
    }


def _overlaps(spans: list[list[float]], start: float, end: float) -> bool:
    return any(a < end and b > start for a, b in spans)


def _p(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.soak", description=__doc__.splitlines()[0])
    ap.add_argument("--record", default=str(ROOT / "data" / "exhibits"), help="exhibit folder to copy")
    ap.add_argument("--work", default=str(ROOT / "build" / "soak"), help="scratch folder (replaced)")
    ap.add_argument("--reuse-from", help="a store whose vectors of unchanged text are reused")
    ap.add_argument("--seconds", type=float, default=SoakConfig.seconds)
    ap.add_argument("--clients", type=int, default=SoakConfig.clients)
    ap.add_argument("--rebuilds", type=int, default=SoakConfig.rebuilds)
    ap.add_argument("--uploads", type=int, default=SoakConfig.uploads)
    ap.add_argument("--out", default=str(ROOT / "eval" / "results" / "soak.json"))
    args = ap.parse_args(argv)
    config = SoakConfig(args.seconds, args.clients, args.rebuilds, args.uploads)
    figures = run_soak(
        Path(args.record), Path(args.work), config, Path(args.reuse_from) if args.reuse_from else None
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in figures.items() if k != "rss_series"}, indent=2))
    return 1 if figures["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
