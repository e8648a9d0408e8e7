"""Local-mode speed, one server configuration at a time: ``python -m eval.local_speed``.

For each configuration the local model server is restarted with it and the same questions
(answerable gold questions, evenly spaced; only timed, nothing is fitted to them) are asked in
``local`` mode. Reported per configuration: answer time p50 / p95, time to the first verified
text on screen (the gate's checked extract) and to the model's first verified sentence, prompt
tokens, and how many answers hold the expected fact.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from eval.gold import load_gold
from eval.metrics import contains_facts, mean, percentile
from qa.answering.local import stop_servers
from qa.api import ask_stream
from qa.settings import Settings
from qa.types import Answer

CONFIGS: dict[str, dict[str, Any]] = {
    "evidence sentences (default)": {},
    "evidence sentences, prompt cache": {"local_prompt_cache": True},
    "evidence sentences, context 2048": {"llm_context_tokens": 2048},
    "4 evidence sentences": {"evidence_sentences": 4},
    "whole paragraphs": {"llm_evidence": "paragraphs"},
    "second opinion on the writer's server": {"local_judge_context": 0},
}


def run(settings: Settings, gold: Path, n: int, configs: list[str]) -> dict[str, Any]:
    items = [i for i in load_gold(gold) if i.answerable and not i.history]
    items = [items[j * len(items) // n] for j in range(min(n, len(items)))]
    out: dict[str, Any] = {"questions": len(items), "configs": {}}
    for name in configs:
        s = settings.model_copy(update={"mode": "local", "k": 4, **CONFIGS[name]})
        stop_servers(s)
        totals, firsts, written, prompts, right = [], [], [], [], []
        for item in items:
            t0 = time.perf_counter()
            shown: list[float] = []  # when each new text came on screen
            answer: Answer | None = None
            for piece in ask_stream(item.question, settings=s):
                if isinstance(piece, Answer):
                    answer = piece
                else:
                    shown.append(time.perf_counter() - t0)
            assert answer is not None
            total = time.perf_counter() - t0
            totals.append(total)
            firsts.append(shown[0] if shown else total)
            # With the gate on, the first text is its checked extract; the model's own first
            # verified sentence comes next, if one survives.
            gated = s.second_opinion is not False  # local mode gates unless it is turned off
            model_shown = shown[1:] if gated else shown
            written.append(model_shown[0] if model_shown else total)
            if answer.usage is not None:
                prompts.append(answer.usage.prompt_tokens)
            right.append(not answer.refused and contains_facts(answer.text, item.answers, item.all_required))
        stop_servers(s)
        out["configs"][name] = {
            "p50_s": percentile(totals, 50),
            "p95_s": percentile(totals, 95),
            "first_sentence_p50_s": percentile(firsts, 50),
            "first_model_sentence_p50_s": percentile(written, 50),
            "prompt_tokens_mean": mean(prompts) if prompts else None,
            "right": sum(right),
        }
    return out


def to_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Local mode, k = 4, {report['questions']} answerable questions, 2 cores.",
        "",
        "| configuration | p50 | p95 | first verified text p50 | first model sentence p50 | "
        "prompt tokens | right |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in report["configs"].items():
        tokens = "—" if r["prompt_tokens_mean"] is None else f"{r['prompt_tokens_mean']:.0f}"
        lines.append(
            f"| {name} | {r['p50_s']:.1f} s | {r['p95_s']:.1f} s | {r['first_sentence_p50_s']:.1f} s "
            f"| {r['first_model_sentence_p50_s']:.1f} s | {tokens} | {r['right']} of {report['questions']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gold", default="eval/gold/exhibits_61_70.jsonl")
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--config", action="append", choices=list(CONFIGS), help="only these (repeatable)")
    ap.add_argument("--out", default="eval/results")
    args = ap.parse_args()
    report = run(Settings(), Path(args.gold), args.n, args.config or list(CONFIGS))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "local_speed.json").write_text(json.dumps(report, indent=2))
    (out / "local_speed.md").write_text(to_markdown(report))
    print(to_markdown(report))


if __name__ == "__main__":
    main()
