"""Pure text helpers for answering: sentences, terms, question types."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Words whose trailing period is not the end of a sentence.
_ABBREVIATIONS = frozenset(
    [
        "u.s",
        "u.k",
        "e.u",
        "p.r.c",
        "no",
        "nos",
        "art",
        "arts",
        "sec",
        "para",
        "paras",
        "vol",
        "fig",
        "figs",
        "e.g",
        "i.e",
        "etc",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "inc",
        "co",
        "corp",
        "ltd",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "st",
        "vs",
        "cf",
        "al",
        "approx",
    ]
)
_BOUNDARY_RE = re.compile(
    r"[.!?][\"'\u201d\u2019)\]*]*(?=\s+[\"'\u201c\u2018(\[*]*[A-Z0-9\u4e00-\u9fff])"
    r"|[\u3002\uff01\uff1f\uff1b][\u201d\u300d\uff09]*"
)

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "according",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "exhibit",
        "exhibits",
        "ex",
        "record",
        "say",
        "says",
        "said",
        "according",
        "describe",
        "described",
        "mention",
        "mentioned",
        "document",
        "documents",
        "give",
        "given",
        "tell",
        "per",
    ]
)


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph, each a verbatim substring of it; table rows count as sentences."""
    if text.lstrip().startswith("|"):
        return [row.strip() for row in text.splitlines() if re.search(rf"[0-9A-Za-z{_CJK}]", row)]
    out: list[str] = []
    start = 0
    for m in _BOUNDARY_RE.finditer(text):
        if m.group(0)[0] == ".":
            before = re.findall(r"(\S+)$", text[start : m.start()])
            word = before[0].strip("\"'(\u201c").lower() if before else ""
            if word in _ABBREVIATIONS or re.fullmatch(r"[a-z]|(?:[a-z]\.)+[a-z]", word):
                continue  # "U.S. Trade", "No. 6", "J. Smith": not a sentence end
        if text[start : m.end()].strip():
            out.append(text[start : m.end()].strip())
        start = m.end()
    if text[start:].strip():
        out.append(text[start:].strip())
    return out


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def terms(text: str) -> list[str]:
    """Content terms: stemmed lower-case English words and numbers, and single Chinese characters."""
    words = re.findall(
        rf"[{_CJK}]|\b[A-Za-z]&[A-Za-z]\b|[A-Za-z]+(?:['\u2019][A-Za-z]+)*|\d+(?:[.,]\d+)*", text
    )
    out = []
    for w in words:
        lw = w.lower().replace("\u2019", "'")
        if re.match(rf"[{_CJK}]", w):
            out.append(w)
        elif lw not in STOPWORDS and (len(lw) > 1 or lw.isdigit()):
            out.append(_stemmer().stemWord(lw.removesuffix("'s")))
    return out


_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fifteen twenty thirty "
    "forty fifty sixty seventy eighty ninety hundred thousand million billion trillion half dozen"
)
_FIGURE_RE = re.compile(r"\d[\d,.]*%?|\b(?:" + "|".join(_NUMBER_WORDS.split()) + r")\b", re.I)
_ZH_FIGURE_RE = re.compile(
    "[\u96f6\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341\u767e\u5343\u4e07\u4ebf]+"
)
_YEAR_RE = re.compile(r"(?:1[89]|20)\d\d")
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE_RE = re.compile(rf"\b(?:1[89]|20)\d\d\b|\b(?:{_MONTHS})\b|\d{{4}}\u5e74|\d{{1,2}}\u6708", re.I)
_NAME_RE = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:of\s+|and\s+|the\s+)?[A-Z][A-Za-z]+)+|\b[A-Z]{2,}\b")


def figures(text: str) -> set[str]:
    """Numbers in ``text`` that can answer "how many" (a year on its own cannot)."""
    found = {m.group(0).lower().rstrip(".,") for m in _FIGURE_RE.finditer(text)}
    found |= set(_ZH_FIGURE_RE.findall(text))
    return {f for f in found if f and not _YEAR_RE.fullmatch(f)}


def dates(text: str) -> set[str]:
    return {m.group(0).lower() for m in _DATE_RE.finditer(text)}


@dataclass(frozen=True)
class QuestionType:
    """What kind of fact a question asks for, used to prefer sentences that hold one."""

    kind: str  # "numeric", "date", "name", "list" or "other"

    def matches(self, sentence: str, question: str = "") -> bool:
        """Whether ``sentence`` holds a fact of this kind that the question does not already give."""
        if self.kind == "numeric":
            return bool(figures(sentence) - figures(question))
        if self.kind == "date":
            return bool(dates(sentence) - dates(question))
        if self.kind == "name":
            return bool(_NAME_RE.search(sentence))
        return True


def question_type(question: str) -> QuestionType:
    """Classify a question by its wording (how many -> numeric, when -> date, who -> name...)."""
    q = question.lower().strip()
    if re.search(
        r"\bwhat (?:\w+ )?(?:growth|increase|decrease|reduction|target|figure)\b|\bhow (?:many|much|large|big|long|far|high)\b|\bwhat (?:share|percentage|percent|proportion|portion|number|amount|fraction|ratio|rate|level|volume|value|quantity)\b|\bby how much\b|\bwhat (?:was|is|were) the (?:total|value|amount|number|price|rate|target)\b",
        q,
    ):
        return QuestionType("numeric")
    if re.search(
        r"\bwhen\b|\bwhat (?:date|day|year|month|time)\b|\bwhich (?:date|day|year|month)\b|\bin what year\b|\bhow soon\b",
        q,
    ):
        return QuestionType("date")
    if re.search(
        r"^(?:who|whom|whose)\b|\bwhich (?:company|companies|ministry|agency|organi[sz]ation|association|person|official|country|countries|department|group|enterprise|bank|exchange|authority|body)\b|\bwho\b",
        q,
    ):
        return QuestionType("name")
    if re.search(
        r"\bwhat (?:are|were) (?:the )?(?:main |key |major |three |two |four |five )?(?:\w+ )?(?:measures|steps|goals|tasks|principles|areas|concerns|problems|issues|policies|factors|sectors|products|elements|priorities|targets|actions)\b|\blist\b|\bwhich (?:\w+ )?(?:measures|areas|industries|sectors|products)\b",
        q,
    ):
        return QuestionType("list")
    return QuestionType("other")


def specific_words(question: str) -> list[str]:
    """Names and figures in a question (capitalised words not at its start, numbers, years).

    If the record never uses one of these, it cannot answer the question, however similar the
    rest of the wording is.
    """
    words = re.findall(r"[A-Za-z][A-Za-z'\u2019.-]*|\d[\d,.]*\d|\d", question)
    out = []
    for i, w in enumerate(words):
        w = re.sub(r"['\u2019]s$", "", w).strip(".,'\u2019-")
        if (
            w.isdigit()
            or re.fullmatch(r"\d[\d,.]*\d", w)
            or (
                i > 0
                and w[:1].isupper()
                and w.lower() not in STOPWORDS
                and not re.fullmatch(r"Ex(h|hibit)?s?", w)
            )
        ):
            out.append(w)
    return out


_EXHIBIT_MENTION_RE = re.compile(r"\b(?:exhibits?|exh?\.)\s*(\d{1,5})(?:\s*(?:,|and|&)\s*(\d{1,5}))*", re.I)


def exhibits_named(question: str) -> list[int]:
    """Exhibit numbers a question names ("In Exhibit 64, ...", "Exhibits 61 and 63")."""
    out: list[int] = []
    for m in _EXHIBIT_MENTION_RE.finditer(question):
        out.extend(int(n) for n in re.findall(r"\d{1,5}", m.group(0)))
    return sorted(set(out))
