"""20 simulated users on a launched app: no errors, bounded latency, steady memory.

The app runs as users run it (``python app.py``, its own process) and each user is a
``gradio_client`` in its own thread, asking gold questions in extractive mode back to back.
CI runs them for 20 s; ``make load`` (``EXHIBITQA_LOAD=full``) for a minute, and
``EXHIBITQA_LOAD_SECONDS`` sets any length.
Figures go to ``build/test-artifacts/load.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time

from eval.gold import load_gold
from eval.procs import free_port as _free_port
from eval.procs import rss_mb, wait_for_app
from qa.settings import Settings
from tests.conftest import ROOT

USERS = 20
SECONDS = float(
    os.environ.get("EXHIBITQA_LOAD_SECONDS", "60" if os.environ.get("EXHIBITQA_LOAD") == "full" else "20")
)


def test_twenty_users_at_once(sample_settings: Settings) -> None:
    from gradio_client import Client

    port = _free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "EXHIBITQA_STORE": str(sample_settings.store)}
    env.pop("EXHIBITQA_AUTH", None)
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/"
    questions = [i.question for i in load_gold(ROOT / "eval" / "gold" / "exhibits_61_70.jsonl")]
    latencies: list[float] = []
    errors: list[str] = []
    rss: list[tuple[float, float]] = []
    lock = threading.Lock()
    try:
        wait_for_app(proc, url)
        Client(url, verbose=False).predict(questions[0], [], [], "extractive", 8, api_name="/ask")  # warm
        start = time.monotonic()
        stop = start + SECONDS

        def user(n: int) -> None:
            client = Client(url, verbose=False)
            i = n
            while time.monotonic() < stop:
                q = questions[i % len(questions)]
                i += USERS
                t0 = time.monotonic()
                try:
                    _, history, *_ = client.predict(q, [], [], "extractive", 8, api_name="/ask")
                    if not history or history[-1].get("role") != "assistant":
                        raise AssertionError(f"no answer in {history!r:.200}")
                    with lock:
                        latencies.append(time.monotonic() - t0)
                except Exception as e:  # every failure counts; none is expected
                    with lock:
                        errors.append(f"{q[:40]}: {e.__class__.__name__}: {e}"[:300])

        threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(USERS)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            rss.append((time.monotonic() - start, rss_mb(proc.pid)))
            time.sleep(2)
        for t in threads:
            t.join()
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    ordered = sorted(latencies)
    quarter = max(1, len(rss) // 4)
    early = statistics.mean(m for _, m in rss[quarter : 2 * quarter])  # after warm-up
    late = statistics.mean(m for _, m in rss[-quarter:])
    figures = {
        "users": USERS,
        "seconds": SECONDS,
        "answers": len(latencies),
        "errors": len(errors),
        "p50_s": round(ordered[len(ordered) // 2], 2) if ordered else None,
        "p95_s": round(ordered[int(0.95 * len(ordered))], 2) if ordered else None,
        "rss_mb": {
            "first": round(rss[0][1]),
            "early": round(early),
            "late": round(late),
            "max": round(max(m for _, m in rss)),
        },
        "rss_series": [(round(t), round(m)) for t, m in rss],
    }
    out = ROOT / "build" / "test-artifacts"
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
    assert errors == [], errors[:5]
    assert len(latencies) >= USERS * 2, figures
    assert late <= early * 1.15 + 50, figures  # no growth across the run
