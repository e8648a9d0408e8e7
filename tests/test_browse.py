"""Browsing an exhibit: jump syntax (pure) and paragraphs with search (on the sample store)."""

from __future__ import annotations

import pytest

from qa.browse import exhibit_paragraphs, parse_jump
from qa.errors import UnknownParagraphError
from qa.settings import Settings


@pytest.mark.parametrize(
    "text, expected",
    [
        ("61 \u00b6 12", (61, 12)),
        ("Ex. 61 \u00b6 12", (61, 12)),
        ("[Ex. 61 \u00b6 12]", (61, 12)),
        ("exhibit 61 para 12", (61, 12)),
        ("61.12", (61, 12)),
        ("61 12", (61, 12)),
        ("61, 12", (61, 12)),
        ("61", None),
        ("", None),
        ("sixty-one 12", None),
    ],
)
def test_parse_jump(text: str, expected: tuple[int, int] | None) -> None:
    assert parse_jump(text) == expected


def test_exhibit_paragraphs_in_order_and_searchable(sample_settings: Settings) -> None:
    paras = exhibit_paragraphs(sample_settings, 69)
    assert [p.number for p in paras] == list(range(1, len(paras) + 1))
    hits = exhibit_paragraphs(sample_settings, 69, "  NANTONG ")
    assert hits and all("nantong" in p.text.lower() for p in hits) and len(hits) < len(paras)
    with pytest.raises(UnknownParagraphError, match="no Exhibit 99"):
        exhibit_paragraphs(sample_settings, 99)
