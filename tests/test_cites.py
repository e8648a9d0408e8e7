"""Citation rendering, parsing, normalisation and verification."""

from __future__ import annotations

import pytest

from qa.cites import normalize, parse, quote_in, remove_cites, render, verify
from qa.types import Citation, Paragraph


@pytest.mark.parametrize(
    ("text", "cites"),
    [
        ("[Ex. 61 \u00b6 12]", [(61, 12)]),
        ("[Ex.61\u00b612]", [(61, 12)]),
        ("[Exhibit 61, \u00b6 12]", [(61, 12)]),
        ("[Ex. 61 para. 12]", [(61, 12)]),
        ("[Ex. 61 paragraph 12]", [(61, 12)]),
        ("[Ex. 64 \u00b6 71 (Chinese original)]", [(64, 71)]),
        ("[ex. 7 \u00b6 3] and [Ex. 70 \u00b6 44]", [(7, 3), (70, 44)]),
        ("Ex. 61 \u00b6 12 without brackets", []),
        ("[61.12]", []),
        ("[Ex. \u00b6 12]", []),
        ("", []),
    ],
)
def test_parse(text: str, cites: list[tuple[int, int]]) -> None:
    assert parse(text) == cites


@pytest.mark.parametrize(("exhibit", "paragraph"), [(1, 1), (61, 12), (70, 999), (12345, 1)])
def test_parse_render_roundtrip(exhibit: int, paragraph: int) -> None:
    assert render(exhibit, paragraph) == f"[Ex. {exhibit} \u00b6 {paragraph}]"
    assert parse(render(exhibit, paragraph)) == [(exhibit, paragraph)]
    assert (
        render(exhibit, paragraph, original=True) == f"[Ex. {exhibit} \u00b6 {paragraph} (Chinese original)]"
    )
    assert parse(render(exhibit, paragraph, original=True)) == [(exhibit, paragraph)]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("\u201cquoted\u201d", '"quoted"'),
        ("it\u2019s", "it's"),
        ("2016\u20132020", "2016-2020"),
        ("a  \n b", "a b"),
        ("**Guiding ideology** .", "Guiding ideology ."),
        ("| a | b |", "a b"),
        ("\u94a2\u94c1 \u884c\u4e1a", "\u94a2\u94c1\u884c\u4e1a"),
        ("\uff08\u4e00\uff09", "(\u4e00)"),
    ],
)
def test_normalize(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)


@pytest.mark.parametrize(
    ("quote", "text", "ok"),
    [
        ("state-owned and state-invested", "China's state-owned and\nstate-invested enterprises", True),
        ("\u201ceconomic reform\u201d", 'pursuing "economic reform" differs', True),
        ("state owned", "state-owned", False),
        ("STATE-OWNED", "state-owned", False),
        ("", "anything", False),
        ("   ", "anything", False),
        ("not there", "something else", False),
    ],
)
def test_quote_in(quote: str, text: str, ok: bool) -> None:
    assert quote_in(quote, text) is ok


def _para(exhibit: int, number: int, text: str) -> Paragraph:
    return Paragraph(exhibit=exhibit, number=number, text=text, lang="en", start=0, end=len(text))


def test_verify_keeps_good_and_drops_bad_cites() -> None:
    retrieved = {(61, 12): _para(61, 12, "Subsidies rose by 5% in 2021.")}
    good = Citation(61, 12, "rose by 5%")
    wrong_para = Citation(61, 13, "rose by 5%")
    wrong_quote = Citation(61, 12, "rose by 7%")
    kept, dropped = verify([good, wrong_para, wrong_quote], retrieved)
    assert kept == [Citation(61, 12, "rose by 5%", verified=True)]
    zh = {(64, 3): Paragraph(64, 3, "\u4ea7\u91cf\u589e\u957f5%\u3002", "zh", 0, 6)}
    (original,), _ = verify([Citation(64, 3, "\u589e\u957f5%")], zh)
    assert original.original and original.render() == "[Ex. 64 \u00b6 3 (Chinese original)]"
    assert [(c, why.split()[0]) for c, why in dropped] == [(wrong_para, "cites"), (wrong_quote, "quote")]


def test_remove_cites() -> None:
    text = "\u201cA.\u201d [Ex. 61 \u00b6 1]\n\u201cB.\u201d [Ex. 61 \u00b6 2]\n\u201cC.\u201d [Ex. 61 \u00b6 1] [Ex. 62 \u00b6 3]"
    out = remove_cites(text, [(61, 2), (62, 3)])
    assert out == "\u201cA.\u201d [Ex. 61 \u00b6 1]\n\u201cC.\u201d [Ex. 61 \u00b6 1]"
    assert remove_cites(text, []) == text
