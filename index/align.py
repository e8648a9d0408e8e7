"""Aligning each Chinese paragraph with the English paragraph that translates it.

Translations keep the order of the original, so this is a monotonic sequence alignment (as in
Gale-Church), scored by multilingual-embedding similarity plus anchors that survive
translation: numbers and list markers ("(3)" / "（三）"). No library aligns paragraphs, so the
small dynamic programme is written here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from qa.types import Paragraph

_ZH_NUMERALS = {c: i for i, c in enumerate("零一二三四五六七八九十", 0)}
_COS_FLOOR, _COS_SPAN = 0.75, 0.17  # e5 cosines sit in a compressed band (see qa.answering.extractive)
_MATCH_MIN = 0.45  # below this a pair is not taken as a translation


def anchors(text: str) -> set[str]:
    """Numbers and list markers, normalised so that "(3)" and "（三）" agree."""
    out = {n.replace(",", "") for n in re.findall(r"\d[\d,.]*\d|\d", text)}
    for m in re.findall(r"[（(]([一二三四五六七八九十]{1,3})[)）]|^([一二三四五六七八九十]{1,3})、", text):
        zh = m[0] or m[1]
        value = (
            sum(_ZH_NUMERALS[c] for c in zh)
            if len(zh) == 1 or zh[0] != "十"
            else 10 + sum(_ZH_NUMERALS[c] for c in zh[1:])
        )
        out.add(f"#{value}")
    for m in re.findall(r"^\s*\((\d{1,2})\)|^\s*(\d{1,2})\.\s", text):
        out.add(f"#{m[0] or m[1]}")
    return out


def similarity(en: Paragraph, zh: Paragraph, v_en: np.ndarray, v_zh: np.ndarray) -> float:
    """0..~1.5: embedding closeness plus agreement of anchors."""
    cos = float(np.clip((float(v_en @ v_zh) - _COS_FLOOR) / _COS_SPAN, 0.0, 1.0))
    a, b = anchors(en.text), anchors(zh.text)
    anchor = len(a & b) / len(a | b) if a | b else 0.0
    return cos + 0.5 * anchor


def align(
    english: Sequence[Paragraph], chinese: Sequence[Paragraph], vectors: Mapping[tuple[int, int], np.ndarray]
) -> list[tuple[Paragraph, Paragraph, float]]:
    """Monotonic one-to-one alignment maximising total similarity above ``_MATCH_MIN``."""
    n, m = len(english), len(chinese)
    if not n or not m:
        return []
    gain = np.zeros((n, m))
    for i, e in enumerate(english):
        for j, c in enumerate(chinese):
            ve, vc = vectors.get((e.exhibit, e.number)), vectors.get((c.exhibit, c.number))
            if ve is not None and vc is not None:
                gain[i, j] = similarity(e, c, ve, vc) - _MATCH_MIN
    best = np.zeros((n + 1, m + 1))
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            best[i, j] = max(best[i - 1, j], best[i, j - 1], best[i - 1, j - 1] + gain[i - 1, j - 1])
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        if gain[i - 1, j - 1] > 0 and best[i, j] == best[i - 1, j - 1] + gain[i - 1, j - 1]:
            pairs.append((english[i - 1], chinese[j - 1], gain[i - 1, j - 1] + _MATCH_MIN))
            i, j = i - 1, j - 1
        elif best[i, j] == best[i - 1, j]:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]
