"""Train the late-interaction reader, a design measured against the shipped cross-encoder
(eval/train_reader.py): better on the validation groups, worse in the product's setting, so not
shipped (the reader's card, "Choices made on the validation split", has both).

    python -m eval.train_late --data ../shared/training          # or: make train-late

all-MiniLM-L6-v2 stays frozen and encodes each question and each candidate on its own, once:
their token vectors are cached under ``--work`` (``bank-q.npz``, ``bank-t.npz``: fp16 vectors,
token counts, texts). A small head, trained listwise against a learned null exactly like the
fine-tuned reader's, reads the two token sequences: each question token attends to the
candidate's tokens, and the head weighs how well each token is met (a swapped name is one
token left unmet; a swapped year hardly, the frozen vectors of years being close). A fine-tuning step pushes every pair through the six encoder layers
forwards and back (~15 pairs/s here); the head alone reads ~600 pairs/s, so it sees the whole
training set several times in the minutes fine-tuning needs for a fraction of one epoch, and
encoding (~100 texts/s, once) is the cost. Resumable at any step (``checkpoint.pt``); each
epoch is scored on the validation groups (``curve.jsonl``). Needs the ``train`` extra.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.reader_data import Group, summary
from eval.record_groups import RECORDS, record_groups, truncate
from eval.train_reader import _torch, base_model_path, load_groups, measure

WORK = Path.home() / ".cache" / "exhibitqa" / "late"
MAX_LEN = {"q": 40, "t": 96}  # tokens kept of a question ("q") and of a candidate ("t")
DIM = 384  # MiniLM-L6's hidden size


class Bank:
    """Cached token vectors, one (tokens, DIM) fp16 block per text, and the token ids."""

    def __init__(
        self, flat: np.ndarray, lens: np.ndarray, texts: Sequence[str], ids: np.ndarray | None = None
    ):
        self.flat, self.lens = flat, lens
        self.ids = np.zeros(len(flat), np.int32) if ids is None else ids
        self.starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
        self.index = {t: i for i, t in enumerate(texts)}

    @classmethod
    def load(cls, path: Path, kind: str = "") -> Bank:
        """The bank at ``path`` (empty when there is none); a bank saved without token ids gets
        them from the tokenizer when ``kind`` says how its texts were truncated."""
        if not path.exists():
            return cls(np.zeros((0, DIM), np.float16), np.zeros(0, np.int64), [])
        z = np.load(path, allow_pickle=True)
        texts = z["texts"].tolist()
        ids = z["ids"] if "ids" in z.files else (token_ids(texts, kind) if kind else None)
        return cls(z["flat"], z["lens"], texts, ids)

    def save(self, path: Path) -> None:
        texts = sorted(self.index, key=self.index.__getitem__)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, flat=self.flat, lens=self.lens, texts=np.asarray(texts, dtype=object), ids=self.ids)
        tmp.replace(path)  # a run cut off mid-write keeps the previous bank

    def batch(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vectors padded to the longest, the mask of real tokens, and the token ids (0: pad)."""
        rows = [self.index[t] for t in texts]
        n = max(int(self.lens[i]) for i in rows)
        x = np.zeros((len(rows), n, DIM), dtype=np.float32)
        m = np.zeros((len(rows), n), dtype=bool)
        ids = np.zeros((len(rows), n), dtype=np.int64)
        for r, i in enumerate(rows):
            s, ln = int(self.starts[i]), int(self.lens[i])
            x[r, :ln] = self.flat[s : s + ln]
            m[r, :ln] = True
            ids[r, :ln] = self.ids[s : s + ln]
        return x, m, ids


def _tokenizer(kind: str):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(base_model_path() / "tokenizer.json"))
    tok.enable_truncation(max_length=MAX_LEN[kind])
    tok.no_padding()
    return tok


def token_ids(texts: Sequence[str], kind: str) -> np.ndarray:
    """The texts' token ids, flat, as ``fill`` encoded them."""
    enc = _tokenizer(kind).encode_batch(list(texts))
    return np.concatenate([np.asarray(e.ids, np.int32) for e in enc]) if enc else np.zeros(0, np.int32)


def fill(bank: Bank, texts: Sequence[str], kind: str, threads: int) -> Bank:
    """``bank`` with the texts it lacks encoded by the frozen base model (shortest first)."""
    todo = sorted(set(texts) - set(bank.index))
    if not todo:
        return bank
    torch = _torch()
    from transformers import AutoModel

    torch.set_num_threads(threads)
    model = AutoModel.from_pretrained(str(base_model_path())).eval()
    enc = _tokenizer(kind).encode_batch(todo)
    order = sorted(range(len(todo)), key=lambda i: len(enc[i].ids))
    vecs: list[np.ndarray] = [np.zeros((0, DIM), np.float16)] * len(todo)
    t0 = time.time()
    with torch.inference_mode():
        for at in range(0, len(order), 64):
            idx = order[at : at + 64]
            n = max(len(enc[i].ids) for i in idx)
            ids = np.zeros((len(idx), n), dtype=np.int64)
            for r, i in enumerate(idx):
                ids[r, : len(enc[i].ids)] = enc[i].ids
            t = torch.from_numpy(ids)
            h = model(input_ids=t, attention_mask=(t != 0).long(), token_type_ids=torch.zeros_like(t))
            for r, i in enumerate(idx):
                vecs[i] = h.last_hidden_state[r, : len(enc[i].ids)].numpy().astype(np.float16)
            if at and at % 12800 == 0:
                print(f"encoded {at}/{len(todo)} {kind} texts, {time.time() - t0:.0f} s", file=sys.stderr)
    texts_all = sorted(bank.index, key=bank.index.__getitem__) + todo
    flat = np.concatenate([bank.flat, *vecs]) if vecs else bank.flat
    lens = np.concatenate([bank.lens, np.asarray([len(v) for v in vecs], dtype=np.int64)])
    ids = np.concatenate([bank.ids, *(np.asarray(e.ids, np.int32) for e in enc)])
    return Bank(flat, lens, texts_all, ids)


def make_head(hidden: int = 192):  # type: ignore[no-untyped-def]
    """Question tokens attend to the candidate's; per question token, how well it is met and how
    much it matters; the score is the weighted mean, minus a learned null. Besides the vectors,
    each question token knows whether the candidate holds that very token: frozen vectors of
    "2016" and "2019" are close, the ids are not (DrQA's exact-match feature)."""
    torch = _torch()
    nn = torch.nn

    class Head(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.qp = nn.Sequential(nn.Linear(DIM, hidden), nn.LayerNorm(hidden))
            self.tp = nn.Sequential(nn.Linear(DIM, hidden), nn.LayerNorm(hidden))
            self.att = nn.MultiheadAttention(hidden, 4, batch_first=True, dropout=0.1)
            self.tok = nn.Sequential(nn.Linear(3 * hidden + 2, hidden), nn.GELU(), nn.Linear(hidden, 2))
            self.null = nn.Parameter(torch.zeros(()))

        def attend(self, qh, th, t_mask):  # type: ignore[no-untyped-def]
            """``self.att``'s multi-head attention written out: traced for ONNX, the library's
            module fixes the batch shape it was traced with."""
            w, b = self.att.in_proj_weight.chunk(3), self.att.in_proj_bias.chunk(3)
            heads = self.att.num_heads

            def split(x, i):  # type: ignore[no-untyped-def]
                y = nn.functional.linear(x, w[i], b[i])
                return y.reshape(x.shape[0], x.shape[1], heads, -1).transpose(1, 2)

            qs, ks, vs = split(qh, 0), split(th, 1), split(th, 2)
            logits = qs @ ks.transpose(-1, -2) / float(hidden // heads) ** 0.5
            logits = logits.masked_fill(~t_mask[:, None, None, :], -1e4)
            probs = nn.functional.dropout(torch.softmax(logits, -1), self.att.dropout, self.training)
            out = (probs @ vs).transpose(1, 2).reshape(qh.shape[0], qh.shape[1], hidden)
            return self.att.out_proj(out)

        def forward(self, q, q_mask, t, t_mask, q_ids, t_ids):  # type: ignore[no-untyped-def]
            qh, th = self.qp(q), self.tp(t)
            same = (q_ids[:, :, None] == t_ids[:, None, :]).float() * t_mask[:, None, :].float()
            exact = same.amax(-1).unsqueeze(-1)
            a = self.attend(qh, th, t_mask)
            sim = nn.functional.normalize(qh, dim=-1) @ nn.functional.normalize(th, dim=-1).transpose(1, 2)
            best = sim.masked_fill(~t_mask[:, None, :], -1.0).max(-1).values.unsqueeze(-1)
            met, weight = self.tok(torch.cat([qh, a, qh * a, best, exact], -1)).unbind(-1)
            w = torch.softmax(weight.masked_fill(~q_mask, -1e4), -1)
            return (w * met).sum(-1) - self.null

    return Head()


def end_to_end(head):  # type: ignore[no-untyped-def]
    """The frozen base model and ``head`` as one module, for export: ids and mask (1 + k, n), the
    question's row first, then the k candidates' -> k scores. One encoder call (two would put
    two copies of its weights in the exported file)."""
    torch = _torch()
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(str(base_model_path())).eval()

    class LateReader(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.head = encoder, head

        def forward(self, ids, mask):  # type: ignore[no-untyped-def]
            h = self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids))
            h = h.last_hidden_state
            t, t_mask = h[1:], mask[1:].bool()
            k = t.shape[0]
            q, q_mask, q_ids = h[:1].expand(k, -1, -1), mask[:1].bool().expand(k, -1), ids[:1].expand(k, -1)
            return self.head(q, q_mask, t, t_mask, q_ids, ids[1:])

    return LateReader().eval()


def scores(torch, head, banks: dict[str, Bank], groups: Sequence[Group]):  # type: ignore[no-untyped-def]
    """One score per (question, candidate) pair of ``groups``, flat, in order."""
    q, qm, qi = banks["q"].batch([g.question for g in groups for _ in g.texts])
    t, tm, ti = banks["t"].batch([t for g in groups for t in g.texts])
    return head(*(torch.from_numpy(a) for a in (q, qm, t, tm, qi, ti)))


def train(
    args: argparse.Namespace,
    train_groups: Sequence[Group] | None = None,
    val_groups: Sequence[Group] | None = None,
) -> dict[str, Any]:
    """Encode what the banks lack, then train (or resume) the head for ``args.epochs``."""
    from eval.train_reader import listwise_loss
    from qa.settings import Settings

    torch = _torch()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    sizes = {"squad1_questions": args.squad1, "cuad": args.cuad, "contractnli": args.contractnli}
    val_record: list[Group] = []
    if train_groups is None:
        train_groups = load_groups(args.data, work, "train", args.seed, **sizes)
        if args.record_articles:
            made = record_groups(
                args.data, args.records, Settings(), args.seed, "train", args.record_articles
            )
            train_groups += [truncate(g, args.read) for g in made]
    if val_groups is None:
        val_groups = load_groups(args.data, work, "validation", args.seed)
        made = record_groups(args.data, args.records, Settings(), args.seed, "validation")
        val_record = [truncate(g, args.read) for g in made]
    if args.limit:
        train_groups = train_groups[: args.limit]
    val_eval = list(val_groups[: args.val_groups])
    sets = {"train": summary(train_groups), "validation": summary(val_eval), "record": summary(val_record)}
    print(json.dumps(sets), file=sys.stderr)
    every = [*train_groups, *val_eval, *val_record]
    banks = {}
    for kind in ("q", "t"):
        texts = [g.question for g in every] if kind == "q" else [t for g in every for t in g.texts]
        bank = Bank.load(work / f"bank-{kind}.npz", kind)
        filled = fill(bank, texts, kind, args.threads)
        if filled is not bank:
            filled.save(work / f"bank-{kind}.npz")
        banks[kind] = filled
    head = make_head()
    steps_per_epoch = max(1, len(train_groups) // args.batch)
    total = args.epochs * steps_per_epoch
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=total, pct_start=0.06)
    state: dict[str, Any] = {"step": 0, "pairs": 0, "seconds": 0.0}
    ckpt, curve = work / "checkpoint.pt", work / "curve.jsonl"
    if ckpt.exists() and not args.fresh:
        saved = torch.load(ckpt, weights_only=False)
        if saved["total"] == total:
            head.load_state_dict(saved["head"])
            opt.load_state_dict(saved["opt"])
            sched.load_state_dict(saved["sched"])
            state = saved["state"]
            print(f"resumed at step {state['step']} of {total}", file=sys.stderr)
    if state["step"] == 0 and curve.exists():
        curve.unlink()

    def measured(groups: Sequence[Group]) -> dict[str, float]:
        head.eval()
        with torch.inference_mode():
            flat = np.concatenate(
                [scores(torch, head, banks, groups[i : i + 256]).numpy() for i in range(0, len(groups), 256)]
            )
        head.train()
        at, per_group = 0, []
        for g in groups:
            per_group.append(flat[at : at + len(g.texts)])
            at += len(g.texts)
        return measure(groups, per_group)

    def checkpoint(scored: bool) -> None:
        if scored and val_eval:
            report = {
                "step": state["step"],
                "pairs": state["pairs"],
                "epochs": round(state["step"] / steps_per_epoch, 3),
                "train_seconds": round(state["seconds"]),
                "pairs_per_s": round(state["pairs"] / max(state["seconds"], 1e-9), 1),
            } | measured(val_eval)
            if val_record:
                report["record"] = measured(val_record) | {"read": args.read}
            with curve.open("a") as f:
                f.write(json.dumps(report) + "\n")
            print(json.dumps(report), file=sys.stderr)
        tmp = ckpt.with_suffix(".tmp")
        save = {"head": head.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}
        torch.save(save | {"state": state, "total": total}, tmp)
        tmp.replace(ckpt)
        if state["step"] == total:
            torch.save(head.state_dict(), work / "final.pt")

    head.train()
    last = time.time()
    while state["step"] < total:
        epoch, pos = divmod(state["step"], steps_per_epoch)
        order = list(range(len(train_groups)))
        random.Random(args.seed * 1000 + epoch).shuffle(order)
        batch = [train_groups[i] for i in order[pos * args.batch : (pos + 1) * args.batch]]
        t0 = time.time()
        loss = listwise_loss(torch, scores(torch, head, banks, batch), batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        state["step"] += 1
        state["pairs"] += sum(len(g.texts) for g in batch)
        state["seconds"] += time.time() - t0
        if state["step"] % 200 == 0:
            rate = state["pairs"] / state["seconds"]
            print(f"step {state['step']}/{total} loss {loss.item():.3f} {rate:.0f} pairs/s", file=sys.stderr)
        end_of_epoch = state["step"] % steps_per_epoch == 0
        if end_of_epoch or time.time() - last > args.checkpoint_minutes * 60:
            checkpoint(scored=end_of_epoch)
            last = time.time()
    return state


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/training"), help="the training data folder")
    p.add_argument("--work", type=Path, default=WORK, help="groups, token banks, checkpoint and curve")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=32, help="groups per step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--squad1", type=int, default=30000, help="SQuAD 1.1 train questions sampled")
    p.add_argument("--cuad", type=int, default=6000, help="CUAD clause questions sampled")
    p.add_argument("--contractnli", type=int, default=4000, help="ContractNLI hypotheses sampled")
    p.add_argument(
        "--record-articles", type=int, default=50, help="SQuAD 1.1 articles asked the product's way (0: none)"
    )
    p.add_argument("--records", type=Path, default=RECORDS, help="indexed training records and their groups")
    p.add_argument(
        "--read",
        type=int,
        default=8,
        help="candidates read per group asked the product's way (training and validation)",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--val-groups", type=int, default=700, help="validation groups scored each epoch")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--limit", type=int, default=0, help="use only the first N training groups (smoke tests)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    t0 = time.time()
    state = train(args)
    wall = {"steps": state["step"], "pairs": state["pairs"], "wall_seconds": round(time.time() - t0)}
    print(json.dumps(wall), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
