"""Writing an eval report: report.json, report.md and PNG plots."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def _pct(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def summary_table(report: dict[str, Any]) -> str:
    """The headline numbers as a Markdown table."""
    r, a, c, lat = report["retrieval"], report["answer"], report["citations"], report["latency_ms"]
    rows = [
        ("items", str(report["n"])),
        ("mode", report["mode"]),
        ("recall@1 / @3 / @5 / @10", " / ".join(_pct(r[f"recall@{k}"]) for k in (1, 3, 5, 10))),
        ("MRR", f"{r['mrr']:.3f}"),
        ("answer accuracy (all items)", _pct(a["accuracy"])),
        ("accuracy on answerable items", _pct(a["answerable_accuracy"])),
        ("refusal recall (unanswerable)", _pct(a["refusal_recall"])),
        ("false-refusal rate (answerable)", _pct(a["false_refusal_rate"])),
        ("near-misses refused", _pct(a.get("near_miss_refusal_recall"))),
        ("citation precision / recall", f"{_pct(c['precision'])} / {_pct(c['recall'])}"),
        ("citations verified", f"{_pct(c['verified_rate'])} of {c['n']}"),
        ("latency p50 / p95", f"{lat['p50']:.0f} ms / {lat['p95']:.0f} ms"),
    ]
    f = report.get("followups") or {}
    if f.get("n"):
        rows.append(
            (
                "follow-ups right (new topics among them)",
                f"{_pct(f['accuracy'])} of {f['n']} ({_pct(f.get('new_topic_accuracy'))})",
            )
        )
    v = report.get("verifier") or {}
    if v.get("prompt_tokens_mean") is not None or v.get("dropped_sentences") or v.get("fallbacks"):
        reasons = ", ".join(f"{k}: {n}" for k, n in sorted(v.get("dropped_by_reason", {}).items()))
        rows.append(
            (
                "verifier: sentences / cites dropped",
                f"{v.get('dropped_sentences', 0)} / {v.get('dropped_cites', 0)}"
                + (f" ({reasons})" if reasons else ""),
            )
        )
        rows.append(
            ("cites re-pointed to the one source holding their quote", str(v.get("repointed_cites", 0)))
        )
        rows.append(("fell back to extractive", str(v.get("fallbacks", 0))))
        if v.get("prompt_tokens_mean") is not None:
            rows.append(
                (
                    "tokens per answer (prompt / completion)",
                    f"{v['prompt_tokens_mean']:.0f} / {v['completion_tokens_mean']:.0f}",
                )
            )
    return "| metric | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def by_type_table(report: dict[str, Any]) -> str:
    lines = ["| type | n | accuracy | recall@5 |", "|---|---|---|---|"]
    for t, v in report["by_type"].items():
        lines.append(f"| {t} | {v['n']} | {_pct(v['accuracy'])} | {_pct(v['recall@5'])} |")
    return "\n".join(lines)


def baselines_table(report: dict[str, Any]) -> str:
    b = report.get("baselines")
    if not b:
        return ""
    lines = [
        "| system | hit@1 | hit@2 | hit@5 | hit@10 | MRR | passages given | chars retrieved |",
        "|---|---|---|---|---|---|---|---|",
    ]
    names = {
        "hybrid": "ExhibitQA hybrid (paragraphs)",
        "dense": "dense only (paragraphs)",
        "bm25": "BM25 only (paragraphs)",
        "llamaindex_ootb": "LlamaIndex out of the box (chunks)",
        "llamaindex_hybrid": "LlamaIndex hybrid: BM25 + vector, QueryFusionRetriever (paragraphs)",
    }
    for key, v in b.items():
        lines.append(
            f"| {names.get(key, key)} | {_pct(v['hit@1'])} | {_pct(v['hit@2'])} | {_pct(v['hit@5'])} | "
            f"{_pct(v['hit@10'])} | {v['mrr']:.3f} | {v['passages']} | {v['chars_retrieved']:.0f} |"
        )
    return "\n".join(lines)


def worst_items(report: dict[str, Any], n: int = 15) -> str:
    wrong = [i for i in report["items"] if not i["correct"]]
    wrong.sort(key=lambda i: i["recall@5"] if i["recall@5"] is not None else 1.0)
    lines = []
    for i in wrong[:n]:
        answer = i["answer"].replace("\n", " ")[:300]
        lines.append(
            f"- **{i['id']}** ({i['type']}) {i['question']}\n  - expected: {', '.join(i['expected']) or '(refusal)'}"
            f" · recall@5 {_pct(i['recall@5'])} · gold {i['gold_paragraphs']} · cited {i['cited']}\n  - got: {answer}"
        )
    return "\n".join(lines) or "None: every item is correct."


def trade_off_table(report: dict[str, Any]) -> str:
    """Selected points of the refusal curve, the shipped threshold's row in bold."""
    t = report["trade_off"]
    lines = [
        "Every item answered again with refusal off; an item counts as refused below the threshold. "
        "Plot: refusal_curve.png; calibration: calibration.png "
        f"(Brier {t['calibration']['brier']:.3f}, ECE {t['calibration']['ece']:.3f}).",
        "",
        "| threshold | unanswerable refused | near-misses refused | answerable refused | answerable answered wrongly | answerable right | citation precision |",
        "|---|---|---|---|---|---|---|",
    ]
    pts = [p for p in t["curve"] if round(p["threshold"] * 100) % 10 == 0]
    for p in sorted([*pts, {**t["chosen"], "chosen": True}], key=lambda p: p["threshold"]):
        cells = [
            f"{p['threshold']:.2f}",
            _pct(p["refusal_recall"]),
            _pct(p["near_miss_refusal_recall"]),
            _pct(p["false_refusal_rate"]),
            _pct(p["answered_wrongly"]),
            _pct(p["answerable_accuracy"]),
            _pct(p.get("citation_precision", float("nan"))),
        ]
        if p.get("chosen"):
            cells = [f"**{c}**" for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_markdown(report: dict[str, Any]) -> str:
    parts = [
        f"# Eval: {report['gold']}",
        summary_table(report),
        "## By question type",
        by_type_table(report),
    ]
    if report.get("baselines"):
        parts += ["## Retrieval baselines (same embedding model, same gold set)", baselines_table(report)]
    if report.get("trade_off"):
        parts += ["## Wrong answers against refusals, by threshold", trade_off_table(report)]
    parts += ["## Items answered wrongly", worst_items(report)]
    return "\n\n".join(parts) + "\n"


def write(report: dict[str, Any], out: Path) -> list[Path]:
    """Write report.json, report.md and the plots into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "report.json", out / "report.md"]
    files[0].write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    files[1].write_text(to_markdown(report), encoding="utf-8")
    files += _plots(report, out)
    return files


def _plots(report: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # no display here or in CI
    import matplotlib.pyplot as plt

    ks = [1, 2, 3, 5, 10]
    fig, ax = plt.subplots(figsize=(6, 4))
    systems = report.get("baselines") or {
        "hybrid": {f"hit@{k}": report["retrieval"].get(f"recall@{k}") for k in ks}
    }
    for name, v in systems.items():
        pts = [(k, v[f"hit@{k}"]) for k in ks if v.get(f"hit@{k}") is not None]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
    ax.set(xlabel="k", ylabel="evidence recall@k", ylim=(0, 1), title="Retrieval: recall@k")
    ax.legend()
    fig.tight_layout()
    recall_png = out / "recall_at_k.png"
    fig.savefig(recall_png, dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    types = list(report["by_type"])
    ax.bar(types, [report["by_type"][t]["accuracy"] for t in types])
    ax.set(ylabel="accuracy", ylim=(0, 1), title=f"Answer accuracy by type ({report['mode']})")
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    type_png = out / "accuracy_by_type.png"
    fig.savefig(type_png, dpi=100)
    plt.close(fig)
    from eval.curves import plot

    return [recall_png, type_png, *plot(report, out)]
