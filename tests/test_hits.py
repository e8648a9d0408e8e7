"""The first-stage searches: window ids read back as paragraph keys, the translated channel's
reuse of its hits, and channel sets kept per exhibit scope without mixing scopes."""

from __future__ import annotations

import pytest
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from qa.hits import Translated, id_key
from qa.settings import Settings
from qa.types import Paragraph


@pytest.mark.parametrize(
    ("window_id", "key"),
    [("ex61-p12", (61, 12)), ("ex61-p12-w1", (61, 12)), ("ex7-p0-w13", (7, 0)), ("ex100-p2048", (100, 2048))],
)
def test_id_key(window_id: str, key: tuple[int, int]) -> None:
    assert id_key(window_id) == key


@pytest.mark.parametrize("bad", ["", "ex61", "p12", "ex61-p12-", "ex61-p12-w", "EX61-P12", "ex61-p12 "])
def test_id_key_rejects_foreign_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="window id"):
        id_key(bad)


def test_window_ids_are_paragraph_keys() -> None:
    # id_key must read back what index.vectors writes (Paragraph.key, "-wN" for later windows).
    p = Paragraph(exhibit=64, number=31, text="x", lang="en", start=0, end=1)
    assert id_key(p.key) == (64, 31)
    assert id_key(f"{p.key}-w2") == (64, 31)


class _Counting(BaseRetriever):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        self.asked.append(query_bundle.query_str)
        return [NodeWithScore(node=TextNode(text=query_bundle.query_str), score=1.0)]


def test_translated_searches_once_per_question() -> None:
    inner = _Counting()
    t = Translated(inner)
    first = t.retrieve("steel production capacity")
    again = t.retrieve("steel production capacity")
    assert [h.node.get_content() for h in again] == [h.node.get_content() for h in first]
    assert len(inner.asked) == 1 and inner.asked[0]  # looked up as Chinese words, once
    t.retrieve("iron ore reserves")
    assert len(inner.asked) == 2 and inner.asked[1] != inner.asked[0]


def test_translated_without_chinese_words_searches_nothing() -> None:
    inner = _Counting()
    assert Translated(inner).retrieve("zzqx qqvb") == []
    assert inner.asked == []


def test_channel_sets_are_kept_per_scope(sample_settings: Settings) -> None:
    from qa.api import get_retriever

    r = get_retriever(sample_settings)
    q = "What crude steel capacity cuts did the State Council set?"
    whole = [p.paragraph.key for p in r.search(q)]
    scoped = r.search(q, exhibits=[64])
    assert scoped and {p.paragraph.exhibit for p in scoped} == {64}
    # The scoped search's channels are not reused for the whole record, nor the reverse.
    assert [p.paragraph.key for p in r.search(q)] == whole
    assert {p.paragraph.exhibit for p in r.search(q, exhibits=[64])} == {64}
    assert len(set(whole)) == len(whole) and {p.paragraph.exhibit for p in r.search(q)} != {64}
