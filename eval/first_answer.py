"""How soon a new record can be asked: ``python -m eval.first_answer``.

Starts ``exhibitqa index`` on the sample record into a fresh store (nothing reused, so every
text is embedded), and from the same moment asks a gold question with ``exhibitqa ask`` in a
new process, again and again until one comes back with a verified cite. Reports when the
lexical index was published, when the first cited answer arrived, which channels it used, and
when the full build ended. Writes
``first_answer.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXHIBITQA = [sys.executable, "-m", "qa.cli"]


def measure(source: Path, question: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="exhibitqa-first-") as tmp:
        store = Path(tmp) / "store"
        t0 = time.perf_counter()
        build = subprocess.Popen(
            [*EXHIBITQA, "index", str(source), "--store", str(store)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first: dict[str, Any] | None = None
        tries = 0
        done = False
        while first is None and not done:
            done = build.poll() is not None  # after the build, one more ask: the full index answers
            if not store.exists():
                time.sleep(0.2)
                continue
            tries += 1
            out = subprocess.run(
                [*EXHIBITQA, "--store", str(store), "ask", question, "--json"],
                capture_output=True,
                text=True,
            )
            if out.returncode == 0:
                got = json.loads(out.stdout)
                if got["citations"] and all(c["verified"] for c in got["citations"]):
                    first = {"s": round(time.perf_counter() - t0, 2), "answer": got}
        _, err = build.communicate()
        full_s = time.perf_counter() - t0
        lexical = next((line for line in err.splitlines() if line.startswith("Lexical index ready")), "")
    answer = (first or {}).get("answer", {})
    return {
        "question": question,
        "first_cited_answer_s": first["s"] if first else None,
        "asks_until_then": tries,
        "channels": answer.get("channels"),
        "answer": answer.get("answer", ""),
        "lexical_line": lexical,
        "full_build_s": round(full_s, 2),
        "build_exit": build.returncode,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", type=Path, default=ROOT / "data" / "exhibits")
    p.add_argument("--question", default="When did China become a member of the WTO?")
    p.add_argument("--out", type=Path, default=ROOT / "eval" / "results")
    args = p.parse_args(argv)
    r = measure(args.source, args.question)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "first_answer.json").write_text(json.dumps(r, indent=2, ensure_ascii=False))
    md = (
        "| measure | value |\n|---|---|\n"
        f"| first cited answer after `exhibitqa index` started (s) | {r['first_cited_answer_s']} |\n"
        f"| asks until then | {r['asks_until_then']} |\n"
        f"| channels of that answer | {', '.join(r['channels'] or [])} |\n"
        f"| full build (s) | {r['full_build_s']} |\n"
        f"\n{r['lexical_line']}\n"
    )
    (args.out / "first_answer.md").write_text(md)
    print(md)
    return 0 if r["first_cited_answer_s"] is not None else 1


if __name__ == "__main__":
    raise SystemExit(main())
