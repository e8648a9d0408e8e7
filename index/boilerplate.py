"""Web page furniture inside exhibits: share and app prompts, related-link lists, copyright lines.

Such paragraphs keep their numbers (numbering must match the document) but are flagged, and
retrieval leaves them out unless asked. The rules are about the shape of web pages, not about
any one record: link-only paragraphs, short prompts in the vocabulary of web UIs, and the
short headline items that follow a "Related ..." heading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_LINK_RE = re.compile(r"\[[^\]]*\]\([^)]*\)")
_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_UI_EN = re.compile(
    r"\b(?:share|subscribe|subscription|follow us|download (?:the )?app|app store|scan (?:the )?qr|qr code|"
    r"read more|more news|related (?:reports?|articles?|news|stories|links)|editor'?s (?:choice|pick)|"
    r"recommended|you may also like|advertisement|sponsored|sign in|log ?in|register|newsletter|"
    r"all rights reserved|copyright|\u00a9|loading|print this|email this|click here|"
    r"now reading|back to top|editor in charge|responsible editor)\b",
    re.I,
)
_UI_ZH = re.compile(
    "分享|关注|扫一扫|扫码|二维码|下载|客户端|公众号|订阅|责任编辑|版权所有|未经.{0,8}授权|不得转载|"
    "相关报道|相关阅读|相关新闻|推荐阅读|更多精彩|点击|登录|注册|(?<![A-Za-z])APP(?![A-Za-z])|微信|微博|"
    "举报|返回顶部|正在阅读"
)
_RELATED_HEAD = re.compile(
    r"^(?:related(?: \w+)?|editor'?s (?:choice|pick)s?|recommended(?: \w+)?|more (?:news|stories)|"
    r"you may also like|相关报道|相关阅读|相关新闻|推荐阅读|热点推荐|编辑推荐)\W*$",
    re.I,
)


def _size(text: str) -> int:
    """Length in words, a Chinese character counting as half a word."""
    return len(re.findall(r"[A-Za-z0-9]+", text)) + len(_CJK_RE.findall(text)) // 2


def _ends_sentence(text: str) -> bool:
    return bool(re.search(r"[.!?\u3002\uff01\uff1f][\"'\u201d\u2019)\]*]*\s*$", text))


def is_furniture(text: str) -> bool:
    """A single paragraph that is page furniture: mostly links, or a short UI prompt."""
    t = text.strip()
    links = sum(len(m) for m in _LINK_RE.findall(t))
    if links and links >= 0.5 * len(t):
        return True
    return _size(t) <= 14 and bool(_UI_EN.search(t) or _UI_ZH.search(t))


def flag_boilerplate(paragraphs: Sequence[str]) -> list[bool]:
    """For each paragraph of an exhibit, whether it is web furniture (see module doc)."""
    flags = [is_furniture(p) for p in paragraphs]
    in_list = False
    for i, p in enumerate(paragraphs):
        if _RELATED_HEAD.match(p.strip()):
            flags[i], in_list = True, True
        elif in_list and _size(p) <= 30 and not _ends_sentence(p):
            flags[i] = True  # a headline in a related-links list
        elif in_list and _size(p) <= 60 and _RELATED_ITEM.match(p):
            flags[i] = True
        else:
            in_list = False
    return flags


# Headline lists that the page-break repair joined into one block: several "[Source] ..." items.
_RELATED_ITEM = re.compile(r"^\[[^\]]{2,20}\]\s")
