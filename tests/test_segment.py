"""Paragraph segmentation and page-break repair, as pure functions."""

from __future__ import annotations

import pytest

from index.segment import (
    continues_across_break,
    detect_lang,
    ends_sentence,
    flatten_lines,
    is_decoration,
    join_text,
    segment,
    split_blocks,
    split_exhibits,
    starts_enumeration,
    title_of,
    unescape_markdown,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("one\n\ntwo", ["one", "two"]),
        ("one\n  \t\ntwo", ["one", "two"]),
        ("one\ntwo", ["one\ntwo"]),
        ("\n\n\none\n\n\n\ntwo\n\n", ["one", "two"]),
        ("  indented\n\nx", ["indented", "x"]),
        ("", []),
    ],
)
def test_split_blocks(text: str, expected: list[str]) -> None:
    assert [b.text for b in split_blocks(text)] == expected


def test_split_blocks_offsets_point_into_source() -> None:
    text = "\n\n  Alpha beta.\n\nGamma delta.\n"
    for b in split_blocks(text, offset=100):
        assert text[b.start - 100 : b.end - 100] == b.text


@pytest.mark.parametrize(
    ("prev", "nxt", "joined"),
    [
        # Exhibit 61's page-break split.
        ("The beneficiaries are China's state-owned and", "state-invested enterprises and others.", True),
        # Machine translation repeats a word at the break: a lower-case start still continues.
        ("Investment maintains steady growth.", "growth, economic benefits have improved.", True),
        ("A sentence ends here.", "(a) lower-case enumeration starts a list item.", False),
        (
            "The report sets out the many challenges that China poses for the United",
            "States and other trading partners.",
            True,
        ),
        (
            "A long body text line of many words that runs on without any ending at all here",
            "Organization (WTO Agreement), a successor working party was formed.",
            True,
        ),
        ("1. General requirements", "(1) Guiding ideology. Implement the plan.", False),
        (
            "OTHER NON-TARIFF MEASURES",
            "A number of other non-tariff measures can adversely affect trade.",
            False,
        ),
        (
            "Opinions of the State Council on resolving excess production capacity and achieving development out of difficulties in the steel industry",
            "Guofa [2016] No. 6",
            False,
        ),
        (
            "Ministry of Commerce, General Administration of Customs and many more bodies of the state",
            "August 21, 2023",
            False,
        ),
        (
            "Text that is long enough to count as body text and promotes high-quality development",
            "1. Accelerate the upgrading of equipment.",
            False,
        ),
        (
            'It made important contributions to economic and social development. During the "14th Five-Year',
            'Plan" period, the steel industry still faces problems.',
            True,
        ),
        ("Short heading", "Another short heading", False),
        ("# A markdown heading without a stop", "followed by lower-case text.", False),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "lower case text after a table.", False),
        ("text before a table without stop", "| a | b |", False),
        (
            "建立市场化调节产能的长效机制，促进钢铁行业结构优化、脱困升级、提质增效，积极稳妥化解过剩产能，建立市场化调节产能的长效",
            "机制，促进钢铁行业结构优化。",
            True,
        ),
        ("钢铁工业是国民经济的重要基础产业。", "二、主要任务", False),
        (
            "关于印发钢铁行业稳增长工作方案的通知，工业和信息化部、国家发展改革委、财政部、自然资源部联合发布的方案",
            "工信部联原〔2023〕131号",
            False,
        ),
        (
            "国务院常务会议部署进一步为中小微企业和个体工商户纾困举措等，国务院常务会议部署进一步为中小微企业",
            "2022-05-05 21:52 来源： 新华社",
            False,
        ),
    ],
)
def test_continues_across_break(prev: str, nxt: str, joined: bool) -> None:
    assert continues_across_break(prev, nxt) is joined


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Done.", True),
        ("Done.\u201d", True),
        ("Done?", True),
        ("Heading:", True),
        ("完成。", True),
        ("**Bold.**", True),
        ("not done", False),
        ("not done,", False),
        ("(2016-2020)", False),
    ],
)
def test_ends_sentence(text: str, expected: bool) -> None:
    assert ends_sentence(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1. General requirements", True),
        ("(1) Basic principles.", True),
        ("（一）指导思想", True),
        ("一、总体要求", True),
        ("第三条 规定", True),
        ("Article 5 of the law", True),
        ("- a bullet", True),
        ("## Heading", True),
        ("2022-05-05 21:52 Source", True),
        ("20 Heads of State and Government", False),
        ("4% or more.", False),
        ("U.S. requests for clarification", False),
        ("China agreed.", False),
    ],
)
def test_starts_enumeration(text: str, expected: bool) -> None:
    assert starts_enumeration(text) is expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The steel industry is important.", "en"),
        ("钢铁工业是国民经济的重要基础产业。", "zh"),
        ("The term 钢铁 means steel in the text of the notice here.", "en"),
        ("| 索引号： 000014349/2016-00013 | 主题分类： 工业 |", "zh"),
        ("2016", "en"),
    ],
)
def test_detect_lang(text: str, lang: str) -> None:
    assert detect_lang(text) == lang


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-----", True),
        ("* * *", True),
        ("|---|---|", True),
        ("   ", True),
        ("1", False),
        ("a", False),
        ("钢", False),
    ],
)
def test_is_decoration(text: str, expected: bool) -> None:
    assert is_decoration(text) is expected


@pytest.mark.parametrize(
    ("left", "right", "joined"),
    [
        ("state-owned and", "state-invested", "state-owned and state-invested"),
        ("长效", "机制", "长效机制"),
        ("年", "2016", "年 2016"),
        ("", "x", "x"),
    ],
)
def test_join_text(left: str, right: str, joined: str) -> None:
    assert join_text(left, right) == joined


def test_flatten_lines_joins_prose_and_keeps_table_rows() -> None:
    assert flatten_lines("The plan\nis issued.") == "The plan is issued."
    assert flatten_lines("钢铁\n行业") == "钢铁行业"
    assert flatten_lines("| a |\n|---|\n| 1 |") == "| a |\n|---|\n| 1 |"


def test_segment_repairs_page_break_and_numbers_in_order() -> None:
    text = (
        "Title of the Report\n\n"
        "The beneficiaries are China's state-owned and\n\n"
        "state-invested enterprises and private firms.\n\n"
        "-----\n\n"
        "Second paragraph stands alone.\n"
    )
    paras = segment(text)
    assert [p.text for p in paras] == [
        "Title of the Report",
        "The beneficiaries are China's state-owned and state-invested enterprises and private firms.",
        "Second paragraph stands alone.",
    ]
    # Offsets span the joined blocks in the source.
    assert text[paras[1].start : paras[1].end].startswith("The beneficiaries")
    assert text[paras[1].start : paras[1].end].endswith("private firms.")


def test_segment_keeps_table_whole_and_merges_page_broken_continuation() -> None:
    text = (
        "| Item | Target |\n|---|---|\n| Output | 5% |\n\n"
        "| | |\n|---|---|\n| Energy | 3% |\n\n"
        "| New | Table |\n|---|---|\n| x | y |"
    )
    paras = segment(text)
    assert len(paras) == 2
    assert "Output" in paras[0].text and "Energy" in paras[0].text
    assert paras[1].text.startswith("| New | Table |")


def test_split_exhibits() -> None:
    text = "\nEXHIBIT 61\n\nFirst.\n\nEXHIBIT 62\nSecond.\n"
    parts = split_exhibits(text)
    assert [(n, body.strip()) for n, _, body in parts] == [(61, "First."), (62, "Second.")]
    for _, off, body in parts:
        assert text[off : off + len(body)] == body


def test_split_exhibits_ignores_inline_mentions() -> None:
    assert split_exhibits("See EXHIBIT 61 for details.\nExhibit 62 says so.") == []


@pytest.mark.parametrize(
    ("paras", "title"),
    [
        (["**Notice of the Ministry on Steel**", "Body."], "Notice of the Ministry on Steel"),
        (
            ["news", "news channel > China News", "In the first nine months, output rose", "x"],
            "In the first nine months, output rose",
        ),
        (["2022-11-04 09:54", "The meeting was held in Nantong"], "The meeting was held in Nantong"),
        (["| a | b |", "Real Title Here"], "Real Title Here"),
        (["关于钢铁行业化解过剩产能的意见"], "关于钢铁行业化解过剩产能的意见"),
        ([], ""),
    ],
)
def test_title_of(paras: list[str], title: str) -> None:
    assert title_of(paras) == title


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tariffs on \\$370 billion", "tariffs on $370 billion"),
        ("\\*not emphasis\\*", "*not emphasis*"),
        ("a \\\\ b", "a \\ b"),
        ("transportation\\machinery", "transportation\\machinery"),  # before a letter: text
        ("工业、交通\\机械", "工业、交通\\机械"),
        ("C:\\2022\\notes", "C:\\2022\\notes"),  # before a digit: text
        ("no escapes at all", "no escapes at all"),
    ],
)
def test_markdown_escapes_are_undone(text: str, expected: str) -> None:
    assert unescape_markdown(text) == expected


def test_a_paragraph_drops_its_escapes_but_keeps_its_source_span() -> None:
    source = "Intro line here.\n\nTariffs covered \\$370 billion of imports.\n"
    (_, block) = segment(source)
    assert block.text == "Tariffs covered $370 billion of imports."
    assert source[block.start : block.end] == "Tariffs covered \\$370 billion of imports."
