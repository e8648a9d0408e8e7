"""The first-stage searches: window ids read back as paragraph keys, a channel's reuse of its
last hits, lexical search overlapped with embedding, channel sets kept per exhibit scope."""

from __future__ import annotations

import pytest

from qa.hits import id_key
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


def test_a_channel_reuses_its_last_hits_and_searches_anew_for_another_question(
    sample_settings: Settings,
) -> None:
    from qa.api import get_retriever

    r = get_retriever(sample_settings)
    zh = r._channels(None, False, sample_settings.k).parts["bm25_zh"]
    first = zh.retrieve("steel production capacity")
    assert first and all(h.node.metadata["lang"] == "zh" for h in first)
    assert [h.node.node_id for h in zh.retrieve("steel production capacity")] == [
        h.node.node_id for h in first
    ]
    other = zh.retrieve("iron ore reserves")
    assert [h.node.node_id for h in other] != [h.node.node_id for h in first]
    assert zh.retrieve("zzqx qqvb") == []  # no English word the lexicon knows: nothing to search


def test_the_lexical_channels_run_while_the_question_is_embedded(sample_settings: Settings) -> None:
    from qa.api import get_retriever

    r = get_retriever(sample_settings)
    q = "How much crude steel capacity was cut in 2016 and 2017?"
    r.clear_caches()
    overlapped = [p.paragraph.key for p in r.search(q)]
    embedded_first = [p.paragraph.key for p in r.search(q)]  # the vector is cached now
    assert overlapped == embedded_first and len(overlapped) == sample_settings.k
    assert q in r._query_vectors


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
