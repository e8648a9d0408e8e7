"""Web furniture is flagged (and kept, numbered), and left out of retrieval by default."""

from __future__ import annotations

import pytest

from index.boilerplate import flag_boilerplate, is_furniture
from qa.settings import Settings


@pytest.mark.parametrize(
    ("text", "furniture"),
    [
        ("[Click to enter the topic](#)", True),
        ("[Home](/) [News](/news)", True),
        ("Share to WeChat", True),
        ("Scan the QR code to download the app", True),
        ("All Rights Reserved", True),
        ("\u4e0a\u6d77\u8bc1\u5238\u62a5APP", True),
        ("\u626b\u4e00\u626b \u5206\u4eab\u5230\u5fae\u4fe1", True),
        ("U.S. STRATEGIC APPROACH", False),
        ("Notice-and-Comment Procedures", False),
        ("2022-05-05 21:52 \u6765\u6e90\uff1a \u65b0\u534e\u793e", False),
        (
            "Users can share their views on the regulation through a public comment period that lasts thirty days "
            "and is announced on the ministry's website, the notice says.",
            False,
        ),
    ],
)
def test_is_furniture(text: str, furniture: bool) -> None:
    assert is_furniture(text) is furniture


def test_related_list_items_are_flagged_until_the_article_resumes() -> None:
    paragraphs = [
        "Shipyards sign long-term steel agreements with mills to stabilise prices.",
        "Related reports",
        "Shipbuilding industry turns from warm to cold",
        "Global new shipbuilding orders hit a seven-year high",
        "Specifically, the three groups signed agreements with six steel mills, the association said.",
    ]
    assert flag_boilerplate(paragraphs) == [False, True, True, True, False]


def test_boilerplate_is_numbered_but_not_retrieved(sample_settings: Settings) -> None:
    from index.store import load_paragraphs
    from qa.api import get_retriever

    flagged = [p for p in load_paragraphs(sample_settings.store) if p.boilerplate]
    assert {p.exhibit for p in flagged} >= {67, 70}
    question = "\u4e0a\u6d77\u8bc1\u5238\u62a5APP \u5fae\u4fe1\u516c\u4f17\u53f7"
    hits = get_retriever(sample_settings).search(question, k=10)
    assert hits and not any(h.paragraph.boilerplate for h in hits)
    with_furniture = get_retriever(sample_settings.model_copy(update={"include_boilerplate": True}))
    assert any(h.paragraph.boilerplate for h in with_furniture.search(question, k=10))
