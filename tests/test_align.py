"""English translations aligned with their Chinese originals."""

from __future__ import annotations

import numpy as np
import pytest

from index.align import align, anchors
from index.store import load_paragraphs
from qa.settings import Settings
from qa.types import Paragraph


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(3) Work objectives. Reduce by 100 million to 150 million tons.", {"#3", "3", "100", "150"}),
        ("\uff08\u4e09\uff09\u5de5\u4f5c\u76ee\u6807\u3002\u4ece2016\u5e74\u5f00\u59cb", {"#3", "2016"}),
        ("\u5341\u4e8c\u3001\u4fdd\u969c\u63aa\u65bd", {"#12"}),
        ("1. General requirements", {"#1", "1"}),
        ("Output of 1,033 million tons", {"1033"}),
        ("No figures here", set()),
    ],
)
def test_anchors(text: str, expected: set[str]) -> None:
    assert anchors(text) == expected


def _p(n: int, text: str, lang: str) -> Paragraph:
    return Paragraph(exhibit=1, number=n, text=text, lang=lang, start=0, end=0)


def test_align_is_monotonic_and_skips_unmatched() -> None:
    en = [_p(1, "Title", "en"), _p(2, "(1) Output rose 5%.", "en"), _p(3, "(2) Exports fell 3%.", "en")]
    zh = [
        _p(4, "\uff08\u4e00\uff09\u4ea7\u91cf\u589e\u957f5%\u3002", "zh"),
        _p(5, "\u5e7f\u544a", "zh"),
        _p(6, "\uff08\u4e8c\uff09\u51fa\u53e3\u4e0b\u964d3%\u3002", "zh"),
    ]
    rng = np.random.default_rng(0)
    base = {k: rng.normal(size=8) for k in ("t", "a", "b", "ad")}
    unit = {k: v / np.linalg.norm(v) for k, v in base.items()}
    vectors = {
        (1, 1): unit["t"], (1, 2): unit["a"], (1, 3): unit["b"],
        (1, 4): unit["a"], (1, 5): unit["ad"], (1, 6): unit["b"],
    }  # fmt: skip
    pairs = [(e.number, c.number) for e, c, _ in align(en, zh, vectors)]
    assert pairs == [(2, 4), (3, 6)]


def test_sample_record_alignment(sample_settings: Settings) -> None:
    paragraphs = load_paragraphs(sample_settings.store)
    by_key = {(p.exhibit, p.number): p for p in paragraphs}
    work = next(p for p in paragraphs if p.exhibit == 62 and p.text.startswith("(3) Work objectives"))
    assert work.aligned
    original = by_key[(62, work.aligned[0])]
    assert (
        original.lang == "zh"
        and original.text.startswith("(\u4e09) \u5de5\u4f5c\u76ee\u6807")
        and original.aligned == (work.number,)
    )
    # How alignment is checked: pairs whose both sides carry numbers or list markers share one.
    pairs = [(p, by_key[(p.exhibit, p.aligned[0])]) for p in paragraphs if p.lang == "en" and p.aligned]
    anchored = [(e, z) for e, z in pairs if anchors(e.text) and anchors(z.text)]
    agree = sum(1 for e, z in anchored if anchors(e.text) & anchors(z.text))
    print(f"\naligned pairs {len(pairs)}, anchored {len(anchored)}, anchors agree {agree}")
    assert len(pairs) >= 250 and agree / len(anchored) >= 0.95
    assert not any(p.exhibit == 61 and p.aligned for p in paragraphs)  # English only
