"""The reader: a small model trained here (card: reader/reader.md) that reads the question with
each candidate sentence and scores how well the sentence answers it,
against a learned "the record does not say" option. The stack (qa/answering/stack.py) weighs
its scores with the feature scorer's. Runs on onnxruntime with the base model's tokenizer; no torch.

Files, side by side in ``qa/answering/reader/``: ``reader.onnx`` (int8), ``tokenizer.json``
(all-MiniLM-L6-v2's), ``reader.json`` (kind, input lengths, the stack and its refusal threshold).
Two kinds of model read the same way: "cross" (eval/train_reader.py) reads each question and
candidate as one pair; "late" (eval/train_late.py) encodes the question once and each candidate
on its own, and a small head compares their tokens.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.answering.stack import Stack
from qa.errors import ExhibitQAError

FOLDER = Path(__file__).with_name("reader")
SEP = " [SEP] "  # the tokenizer's separator token, between a sentence and its context


def reader_text(sentence: str, title: str = "", previous: str = "") -> str:
    """What the reader reads of a candidate: the sentence, then its document title and the
    sentence before it (truncation cuts this context before the sentence)."""
    context = " | ".join(x for x in (title.replace("_", " ").strip(), previous.strip()) if x)
    return sentence.strip() + (SEP + context if context else "")


class Reader:
    """Scores (question, candidate text) pairs; higher means the candidate answers it."""

    def __init__(self, folder: Path = FOLDER, threads: int = 2):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta_file = folder / "reader.json"
        if not meta_file.exists():
            raise ExhibitQAError(
                f"The reader model is missing from {folder}: reinstall the package, or train one "
                "with `make train-reader`."
            )
        self.meta = json.loads(meta_file.read_text(encoding="utf-8"))
        self.max_len = int(self.meta["max_len"])
        self.threshold = float(self.meta["threshold"])
        self.folder = folder
        self.kind = str(self.meta.get("kind", "cross"))
        # With a stack (eval/fit_stack.py) the reader's scores are weighed with the scorer's view.
        self.stack = Stack.from_json(self.meta["stack"]) if "stack" in self.meta else None
        if self.stack is not None:  # the stack's support is what is refused on
            self.threshold = float(self.meta["stack"]["threshold"])
        self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tok.enable_truncation(
            max_length=self.max_len, strategy="only_second" if self.kind == "cross" else "longest_first"
        )
        self._tok.no_padding()
        self._question_len = int(self.meta.get("question_len", self.max_len))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(folder / self.meta.get("model", "reader.onnx")), opts, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}

    def scores(self, question: str, texts: Sequence[str], batch: int = 32) -> np.ndarray:
        """One score per text (the candidate's score minus the null's: > 0 answers)."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        if self.kind == "late":
            return self._late_scores(question, texts)
        enc = self._tok.encode_batch([(question, t) for t in texts])
        # Shortest first, so each batch pads little.
        order = sorted(range(len(enc)), key=lambda i: len(enc[i].ids))
        out = np.zeros(len(enc), dtype=np.float32)
        for at in range(0, len(order), batch):
            idx = order[at : at + batch]
            n = max(len(enc[i].ids) for i in idx)
            feeds = {
                k: np.zeros((len(idx), n), dtype=np.int64)
                for k in ("input_ids", "attention_mask", "token_type_ids")
            }
            for row, i in enumerate(idx):
                e = enc[i]
                feeds["input_ids"][row, : len(e.ids)] = e.ids
                feeds["attention_mask"][row, : len(e.ids)] = e.attention_mask
                feeds["token_type_ids"][row, : len(e.ids)] = e.type_ids
            (res,) = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})
            out[idx] = np.asarray(res, dtype=np.float32).reshape(-1)
        return out

    def _late_scores(self, question: str, texts: Sequence[str]) -> np.ndarray:
        # Truncated as in training: [CLS], the question's first tokens, [SEP].
        sep = int(self._tok.token_to_id("[SEP]") or 0)
        q = self._tok.encode(question).ids[: self._question_len - 1]
        if q[-1] != sep:
            q = [*q, sep]
        # One run per candidate, with the question as the first row: int8 quantises activations
        # per run, so batch-mates would move a candidate's score (up to 0.4, against 0.2 for the
        # pair model); alone, a candidate always scores the same. Cost: 400 ms against 263 ms for
        # 32 candidates in one batch (validation p50).
        out = np.zeros(len(texts), dtype=np.float32)
        for i, e in enumerate(self._tok.encode_batch(list(texts))):
            ids = np.zeros((2, max(len(q), len(e.ids))), dtype=np.int64)
            ids[0, : len(q)], ids[1, : len(e.ids)] = q, e.ids
            (res,) = self._session.run(None, {"ids": ids, "mask": (ids != 0).astype(np.int64)})
            out[i] = float(np.asarray(res).reshape(-1)[0])
        return out


@lru_cache(maxsize=4)
def load(folder: Path = FOLDER, threads: int = 2) -> Reader:
    """The reader in ``folder``, loaded once per process."""
    return Reader(folder, threads)
