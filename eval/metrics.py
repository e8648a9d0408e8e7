"""Metrics as pure functions: answer matching, retrieval recall and rank, citation quality."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence

Key = tuple[int, int]

_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {
    w: 10 * i
    for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split())
    if i > 1
}
_SCALES = {"hundred": 100, "thousand": 1000}


def _number_words_to_digits(text: str) -> str:
    """ "twenty-seven" -> "27", "one hundred and five" -> "105" (million/billion stay words)."""
    words = text.split(" ")
    out: list[str] = []
    i = 0
    while i < len(words):
        j, total, current, seen = i, 0, 0, False
        while j < len(words):
            w = words[j]
            parts = w.split("-")
            if all(p in _UNITS or p in _TENS for p in parts) and parts:
                current += sum(_UNITS.get(p, 0) + _TENS.get(p, 0) for p in parts)
                seen = True
            elif w in _SCALES and seen:
                current = max(current, 1) * _SCALES[w]
                if _SCALES[w] >= 1000:
                    total, current = total + current, 0
            elif (
                w == "and"
                and seen
                and j + 1 < len(words)
                and words[j + 1].split("-")[0] in {**_UNITS, **_TENS}
            ):
                pass
            else:
                break
            j += 1
        if seen:
            out.append(str(total + current))
            i = j
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation or thousands separators, number words as digits, one space."""
    t = unicodedata.normalize("NFKC", text).lower()
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)  # 1,033 -> 1033
    t = re.sub(r"[^\w\s.%\u3400-\u9fff-]", " ", t)
    t = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", t)  # keep decimal points only
    t = re.sub(r"(?<![a-z])-|-(?![a-z])", " ", t)  # keep hyphens inside words
    t = re.sub(r"\s+", " ", t).strip()
    t = _number_words_to_digits(t)
    # A range is the same fact however it is joined: "2025 to 2030" is "2025-2030".
    return re.sub(r"(?<=\d)(%?) (?:to|through|until|till) (?=\d)", r"\1 ", t)


def contains_facts(answer: str, facts: Sequence[str], all_required: bool) -> bool:
    """Whether ``answer`` states the key facts: any one, or every one when ``all_required``."""
    if not facts:
        return False
    a = f" {normalize_answer(answer)} "
    hits = [f" {normalize_answer(f)} " in a or _cjk_in(f, a) for f in facts]
    return all(hits) if all_required else any(hits)


def _cjk_in(fact: str, normalized_answer: str) -> bool:
    # Chinese has no spaces, so word boundaries cannot be required around a Chinese fact.
    nf = normalize_answer(fact)
    return bool(re.search(r"[\u3400-\u9fff]", nf)) and nf.replace(" ", "") in normalized_answer.replace(
        " ", ""
    )


def evidence_recall_at_k(ranked: Sequence[Key], evidence: Sequence[frozenset[Key]], k: int) -> float:
    """Share of evidence quotes with one of their paragraphs among the top ``k``."""
    if not evidence:
        return 0.0
    top = set(ranked[:k])
    return sum(1 for keys in evidence if keys & top) / len(evidence)


def reciprocal_rank(ranked: Sequence[Key], gold: set[Key]) -> float:
    """1 / rank of the first retrieved paragraph holding gold evidence (0 if none)."""
    for i, key in enumerate(ranked, 1):
        if key in gold:
            return 1.0 / i
    return 0.0


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    v = sorted(values)
    if not v:
        return 0.0
    pos = (len(v) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def mean(values: Iterable[float]) -> float:
    v = list(values)
    return sum(v) / len(v) if v else 0.0
