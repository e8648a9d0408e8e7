"""Run a gold set through ExhibitQA (and, on request, the baselines) and compute the report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.gold import GoldItem, Located, load_gold, locate
from eval.metrics import Key, contains_facts, evidence_recall_at_k, mean, percentile, reciprocal_rank
from qa.api import ask, get_retriever, merged, search
from qa.cites import quote_in
from qa.errors import GoldError
from qa.settings import Settings
from qa.understand import understand

KS = (1, 3, 5, 10)
RETRIEVAL_METHODS = ("hybrid", "dense", "bm25")

Progress = Callable[[int, int], None]


@dataclass
class ItemResult:
    """How one gold item fared."""

    item: GoldItem
    located: Located
    answer: str = ""
    refused: bool = False
    correct: bool = False
    cited: list[Key] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)
    ranked: dict[str, list[Key]] = field(default_factory=dict)
    chars: dict[str, int] = field(default_factory=dict)
    latency_ms: float = 0.0
    notes: tuple[str, ...] = ()
    support: float | None = None
    answered_by: str = ""
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (sentence, reason)
    dropped_cites: int = 0
    repointed_cites: int = 0
    tokens: tuple[int, int] | None = None
    history: list[Any] = field(default_factory=list)  # the earlier turns' Answers, for a follow-up

    def recall(self, k: int, method: str = "hybrid") -> float:
        return evidence_recall_at_k(self.ranked.get(method, []), self.located.per_quote, k)


def run_eval(
    gold_path: Path,
    settings: Settings,
    *,
    mode: str | None = None,
    k: int | None = None,
    limit: int | None = None,
    sample: int | None = None,
    baselines: bool = False,
    progress: Progress | None = None,
    race: Callable[[Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Evaluate ``settings``' store and answerer on the gold file; returns the report dict.

    ``race``, with ``baselines``, is handed LlamaIndex's hybrid retriever once it is built
    (``eval.bench`` times it beside ExhibitQA's search)."""
    items = load_gold(gold_path)[:limit] if limit else load_gold(gold_path)
    if sample and sample < len(items):
        # Evenly spaced, so a slow answerer's subset still spans every exhibit and question type.
        items = [items[i * len(items) // sample] for i in range(sample)]
    retriever = get_retriever(settings)
    located = locate(items, list(retriever.paragraphs.values()))
    errors = [
        f"{i.id}: quote not found in Exhibit {e.exhibit}: {e.quote[:60]!r}"
        for i in items
        for e in located[i.id].missing
    ]
    if errors:
        raise GoldError("Gold evidence not found in the index:\n" + "\n".join(errors))
    methods = RETRIEVAL_METHODS if baselines else ("hybrid",)
    k = k or settings.k
    results: list[ItemResult] = []
    for n, item in enumerate(items, 1):
        r = ItemResult(item, located[item.id])
        # Per item: a long run must follow a rebuild of the store instead of querying the
        # generation that was swapped out (whose Chroma collection is gone).
        retriever = get_retriever(settings)
        # A follow-up follows its conversation as the chat would: the earlier questions are
        # asked first and their answers are its history.
        history = [ask(h, k=k, mode=mode, settings=settings) for h in item.history]
        planned = understand(item.question, retriever, settings, history=history)
        for m in methods:
            passages = merged(search(planned, retriever, max(KS), method=m))
            r.ranked[m] = [(p.paragraph.exhibit, p.paragraph.number) for p in passages]
            r.chars[m] = sum(len(p.paragraph.text) for p in passages[:k])
        answer = ask(item.question, k=k, mode=mode, settings=settings, history=history)
        r.history = history
        r.answer, r.refused, r.notes, r.support = answer.text, answer.refused, answer.notes, answer.support
        r.latency_ms = answer.timings_ms.get("total", 0.0)
        r.answered_by = answer.mode
        r.dropped = [(d.sentence, d.reason) for d in answer.dropped]
        r.dropped_cites = sum(n.startswith("dropped cite") for n in answer.notes)
        r.repointed_cites = sum(n.startswith("cite ") and "re-pointed" in n for n in answer.notes)
        if answer.usage is not None:
            r.tokens = (answer.usage.prompt_tokens, answer.usage.completion_tokens)
        r.cited = [(c.exhibit, c.paragraph) for c in answer.citations]
        r.verified = [
            (c.exhibit, c.paragraph) in retriever.paragraphs
            and quote_in(c.quote, retriever.paragraphs[(c.exhibit, c.paragraph)].text)
            for c in answer.citations
        ]
        r.correct = (
            r.refused
            if not item.answerable
            else (not r.refused and contains_facts(r.answer, item.answers, item.all_required))
        )
        results.append(r)
        if progress:
            progress(n, len(items))
    report = summarize(results, gold_path, mode or settings.mode, k)
    if _states_support(mode or settings.mode, settings):
        report["trade_off"] = _trade_off(results, settings, k, mode or settings.mode)
    if baselines:
        from eval.baselines import llamaindex_hybrid, llamaindex_ootb

        report["baselines"] = {m: _retrieval_summary(results, m, k) for m in methods}
        report["baselines"]["llamaindex_ootb"] = llamaindex_ootb(items, located, retriever, settings)
        report["baselines"]["llamaindex_hybrid"] = llamaindex_hybrid(
            items, located, retriever, settings, race=race
        )
    return report


def _states_support(mode: str, settings: Settings) -> bool:
    """Whether answers in ``mode`` carry a support to threshold: the scorer's, or in LLM modes
    the second opinion's when it gates them (local mode unless it is off; openai when on)."""
    if mode in ("extractive", "extractive+check"):
        return True
    return settings.second_opinion is not False if mode == "local" else bool(settings.second_opinion)


def _trade_off(results: list[ItemResult], settings: Settings, k: int, mode: str) -> dict[str, Any]:
    """Every item's answer with refusal off, for the curve over all thresholds: an answered
    item's answer is the same with refusal off, so only refused items are asked again."""
    from eval.curves import Open, trade_off
    from qa.answering.extractive import ExtractiveAnswerer
    from qa.answering.opinion import load_opinion

    if settings.refuse_below is not None:
        chosen = settings.refuse_below
    elif mode != "extractive":  # extractive+check, or an LLM mode gated by the second opinion
        chosen = load_opinion().threshold
    else:
        chosen = ExtractiveAnswerer(settings).threshold
    never = settings.model_copy(update={"refuse_below": 0.0, "mode": mode})
    opened = []
    for r in results:
        item = r.item
        gold = r.located.paragraphs
        if not r.refused:
            good = sum(key in gold for key in r.cited)
            opened.append(
                Open(
                    item.answerable,
                    r.support or 0.0,
                    item.answerable and r.correct,
                    item.near_miss,
                    len(r.cited),
                    good,
                )
            )
            continue
        a = ask(item.question, k=k, settings=never, history=r.history)
        right = item.answerable and not a.refused and contains_facts(a.text, item.answers, item.all_required)
        keys = [(c.exhibit, c.paragraph) for c in a.citations]
        good = sum(key in gold for key in keys)
        opened.append(Open(item.answerable, a.support or 0.0, right, item.near_miss, len(keys), good))
    return trade_off(opened, chosen)


def _retrieval_summary(results: list[ItemResult], method: str, k: int) -> dict[str, float]:
    answerable = [r for r in results if r.located.per_quote]
    out = {f"hit@{n}": mean(r.recall(n, method) for r in answerable) for n in (1, 2, *KS[1:])}
    out["mrr"] = mean(reciprocal_rank(r.ranked[method], r.located.paragraphs) for r in answerable)
    out["chars_retrieved"] = mean(r.chars[method] for r in results)
    out["passages"] = k
    return out


def summarize(results: list[ItemResult], gold_path: Path, mode: str, k: int) -> dict[str, Any]:
    """The report dict (the keys of report.json) from per-item results."""
    answerable = [r for r in results if r.item.answerable]
    unanswerable = [r for r in results if not r.item.answerable]
    with_evidence = [r for r in results if r.located.per_quote]
    cites = [(r, key) for r in results for key in r.cited]
    gold_quotes = [(r, q) for r in answerable for q in r.located.per_quote]
    by_type: dict[str, dict[str, float]] = {}
    for t in sorted({r.item.type for r in results}):
        rs = [r for r in results if r.item.type == t]
        ev = [r for r in rs if r.located.per_quote]
        by_type[t] = {
            "n": len(rs),
            "accuracy": mean(r.correct for r in rs),
            "recall@5": mean(r.recall(5) for r in ev) if ev else float("nan"),
        }
    followups = [r for r in results if r.item.history]
    return {
        "gold": str(gold_path),
        "n": len(results),
        "followups": {
            "n": len(followups),
            "accuracy": mean(r.correct for r in followups) if followups else float("nan"),
            "new_topic_accuracy": mean(r.correct for r in followups if r.item.new_topic)
            if any(r.item.new_topic for r in followups)
            else float("nan"),
        },
        "mode": mode,
        "k": k,
        "retrieval": {
            **{f"recall@{n}": mean(r.recall(n) for r in with_evidence) for n in KS},
            "mrr": mean(reciprocal_rank(r.ranked["hybrid"], r.located.paragraphs) for r in with_evidence),
        },
        "answer": {
            "accuracy": mean(r.correct for r in results),
            "answerable_accuracy": mean(r.correct for r in answerable),
            "refusal_recall": mean(r.refused for r in unanswerable),
            "false_refusal_rate": mean(r.refused for r in answerable),
            "near_miss_refusal_recall": mean(r.refused for r in unanswerable if r.item.near_miss)
            if any(r.item.near_miss for r in unanswerable)
            else float("nan"),
            "unanswerable_n": len(unanswerable),
            # The questions whose answer takes more than one sentence.
            "multi_sentence_accuracy": mean(
                r.correct for r in results if r.item.type in ("cross_exhibit", "multi_part", "why")
            ),
        },
        "citations": {
            "precision": mean(key in r.located.paragraphs for r, key in cites),
            "recall": mean(bool(q & set(r.cited)) for r, q in gold_quotes),
            "verified_rate": mean(v for r in results for v in r.verified) if cites else 1.0,
            "n": len(cites),
        },
        "latency_ms": {
            "p50": percentile((r.latency_ms for r in results), 50),
            "p95": percentile((r.latency_ms for r in results), 95),
        },
        "by_type": by_type,
        "verifier": _verifier_summary(results),
        "items": [
            {
                "id": r.item.id,
                "type": r.item.type,
                "question": r.item.question,
                "history": list(r.item.history),
                "answer": r.answer,
                "correct": r.correct,
                "refused": r.refused,
                "recall@5": r.recall(5) if r.located.per_quote else None,
                "cited": [list(c) for c in r.cited],
                "gold_paragraphs": sorted([list(p) for p in r.located.paragraphs]),
                "expected": list(r.item.answers),
                "latency_ms": round(r.latency_ms, 1),
                "notes": list(r.notes),
                "support": r.support,
                "answered_by": r.answered_by,
                "dropped": [{"sentence": d, "reason": why} for d, why in r.dropped],
            }
            for r in results
        ],
    }


# Substring of a verifier reason (qa.answering.checks) -> the name it is counted under.
_REASON_KINDS = {
    "not one of the sources": "not one of the sources",
    "not verbatim": "not verbatim",
    "which no cited paragraph contains": "figure not in cited paragraph",
    "which no cited paragraph names": "name not in cited paragraph",
    "instruction to a model": "instruction to a model",
    "no cite": "no cite",
    "restates the question": "restates the question",
}


def _reason_kind(reason: str) -> str:
    return next((kind for key, kind in _REASON_KINDS.items() if key in reason), "other")


def _verifier_summary(results: list[ItemResult]) -> dict[str, Any]:
    """What the LLM verifier removed, and how often the LLM path fell back (zero for extractive)."""
    kinds: dict[str, int] = {}
    for r in results:
        for _, why in r.dropped:
            kinds[_reason_kind(why)] = kinds.get(_reason_kind(why), 0) + 1
    tokens = [r.tokens for r in results if r.tokens]
    return {
        "dropped_sentences": sum(len(r.dropped) for r in results),
        "dropped_cites": sum(r.dropped_cites for r in results),
        "repointed_cites": sum(r.repointed_cites for r in results),
        "dropped_by_reason": kinds,
        "fallbacks": sum(any("showing the extractive answer" in n for n in r.notes) for r in results),
        "prompt_tokens_mean": mean(t[0] for t in tokens) if tokens else None,
        "completion_tokens_mean": mean(t[1] for t in tokens) if tokens else None,
    }
