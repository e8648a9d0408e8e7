"""Understanding a question: what kind of fact it asks for, its names and figures, its exhibits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.text import STOPWORDS

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


# "section 307", "Article 19", "No. 6": numbers that name a provision, not a quantity.
_PROVISION_RE = re.compile(
    r"\b(?:sections?|articles?|arts?\.|chapters?|parts?|paragraphs?|nos?\.|numbers?|\u00a7+)\s*\d[\d.]*", re.I
)


# The day and month of a date, and a clock time: "January 20", "20 January 2022", "2022-01-20",
# "1月20日", "13:12:23". They can no more answer "how many" than the year beside them can.
_DAY_RE = re.compile(
    rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?!\s*(?:%|percent|per cent))"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\b"
    r"|\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b|\d{1,2}\u6708\d{1,2}\u65e5|\b\d{1,2}:\d\d(?::\d\d)?\b",
    re.I,
)


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")


_ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")


def clean_question(question: str) -> str:
    """The question as searched: terminal escape sequences go, control characters, zero-width
    marks and NULs become spaces, runs of whitespace one space."""
    return " ".join(_CONTROL_RE.sub(" ", _ANSI_RE.sub("", question)).split())


def figures(text: str) -> set[str]:
    """Numbers in ``text`` that can answer "how many" (a date, a time or a provision number cannot)."""
    text = _DAY_RE.sub(" ", _PROVISION_RE.sub(" ", text))
    found = {m.group(0).lower().rstrip(".,") for m in _FIGURE_RE.finditer(text)}
    found |= set(_ZH_FIGURE_RE.findall(text))
    return {f for f in found if f and not _YEAR_RE.fullmatch(f)}


def dates(text: str) -> set[str]:
    return {m.group(0).lower() for m in _DATE_RE.finditer(text)}


# A figure asked for in a unit must come in that unit: a dollar amount is not answered by a
# tonnage, nor a percentage by a count.
_UNITS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (re.compile(q, re.I), re.compile(a, re.I))
    for q, a in (
        (r"\bdollars?\b|\busd\b|\$", r"\$\s?\d|\bdollars?\b|\busd\b|\bus\$"),
        (r"\byuan\b|\brmb\b|\brenminbi\b", r"\byuan\b|\brmb\b|\u5143"),
        (r"\b(?:percent(?:age)?|per cent)\b|%|(?<!exchange )\brates?\b", r"%|\bper ?cent\b|\u767e\u5206"),
        (
            r"\b(?:share|proportion|portion|fraction)\b",
            r"%|\bper ?cent\b|\b(?:half|third|quarter|fifth|majority)\b|\u767e\u5206|\u6210",
        ),
        (
            r"\b(?:price|prices|cost|costs|paid|pay|worth|spend|spent|money|funds?|funding|budget)\b",
            r"\$\s?\d|\bdollars?\b|\busd\b|\byuan\b|\brmb\b|\beuros?\b|\u5143",
        ),
        (r"\b(?:tons?|tonnes?|tonnage)\b", r"\btons?\b|\btonnes?\b|\u5428"),
        (r"\bcubic met", r"\bcubic met|\u7acb\u65b9"),
        (r"\bhow long\b", r"\b(?:days?|weeks?|months?|years?)\b|[\u5929\u5468\u6708\u5e74]"),
    )
)


@dataclass(frozen=True)
class QuestionType:
    """What kind of fact a question asks for, used to prefer sentences that hold one."""

    kind: str  # "numeric", "date", "name", "list", "identifier" or "other"
    unit: re.Pattern[str] | None = None  # for numeric questions asked in a unit

    def matches(self, sentence: str, question: str = "") -> bool:
        """Whether ``sentence`` holds a fact of this kind that the question does not already give."""
        if self.kind == "numeric":
            if self.unit is not None and not self.unit.search(sentence):
                return False
            return bool(figures(sentence) - figures(question))
        if self.kind == "date":
            return bool(dates(sentence) - dates(question))
        if self.kind == "name":
            return bool(_NAME_RE.search(sentence))
        if self.kind == "identifier":
            return bool(_identifiers(sentence) - _identifiers(question))
        return True


def _identifiers(text: str) -> set[str]:
    # "Guofa [2016] No. 6" and "USTR-2022-0012" are read as their digit-bearing tokens.
    return {m.group(0).strip(".,;:!?()[]\"'\u201c\u201d") for m in re.finditer(r"\S*\d\S*", text)}


# "What is the document number", "which docket number": a label made of digits, which is
# no quantity ("No. 6" is not six of anything), asked for in the words records use for them.
_IDENTIFIER_ASKED_RE = re.compile(
    r"\b(?:document|docket|case|file|serial|reference|registration|tracking|identification"
    r"|id|contract|patent|model|notice|order|decree|announcement|circular|bill|public law|report)"
    r"\s+(?:number|no\.?)s?\b"
)


def question_type(question: str) -> QuestionType:
    """Classify a question by its wording (how many -> numeric, when -> date, who -> name...)."""
    q = question.lower().strip()
    if _IDENTIFIER_ASKED_RE.search(q) and not re.search(r"\bhow (?:many|much)\b", q):
        return QuestionType("identifier")
    if re.search(
        r"\bwhat (?:\w+ ){0,2}(?:growth|increase|decrease|reduction|target|figure|amount|sum|total|value"
        r"|number|share|percentage|percent|proportion|portion|fraction|ratio|rate|level|volume|quantity"
        r"|price|cost)s?\b|\bhow (?:many|much|large|big|long|far|high)\b|\bby how much\b",
        q,
    ):
        unit = next((answer for asked, answer in _UNITS if asked.search(question)), None)
        return QuestionType("numeric", unit)
    if re.search(
        r"^when\b|\bwhen (?:did|was|were|will|does|do|is|are|had|has|must|should)\b|\bwhat (?:date|day|year|month|time)\b|\bwhich (?:date|day|year|month)\b|\bin what year\b|\bhow soon\b",
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


_REASON_RE = re.compile(
    r"^\s*why\b|\bwhy (?:did|does|do|is|was|were|are|has|have|had|would|should|can|could|must)\b"
    r"|\bfor what (?:purpose|reason)s?\b|\bwhat (?:is|was|are|were) the (?:main )?(?:reasons?|purposes?|causes?"
    r"|rationale|aims?|goals?|objectives?|grounds?|basis|mechanism)\b|\bwhat (?:caused|led to|prompted|drove"
    r"|explains?)\b|^\s*how (?:does|did|do|will|would|can|could|is|are|was|were)\b(?!.*\bchange)"
    # "What was the meeting intended to achieve?" asks for a purpose, as "for what purpose"
    # does; the verb list keeps "What was the fund meant to finance?" (an object) out.
    r"|\b(?:intended|meant|designed|supposed|aim(?:ed|s)?|seeks?|sought|set up)\s+to\s+(?:achieve"
    r"|accomplish|implement|serve|address|promote|ensure|bring about|solve|prevent)\b"
    r"|\u4e3a\u4ec0\u4e48|\u4e3a\u4f55|\u539f\u56e0",
    re.I,
)
# Words that state a reason, a cause or a purpose, in English and Chinese.
CAUSAL_RE = re.compile(
    r"\b(?:because|due to|owing to|as a result|result(?:s|ed)? in|lead(?:s)? to|led to|caus(?:e|es|ed|ing)"
    r"|in order to|so as to|so that|aim(?:s|ed)? (?:to|at)|in an effort to|to ensure|purpose|reasons?"
    r"|therefore|thus|hence|consequently|given that|in light of|in view of|driven by|attributable to"
    r"|stem(?:s|med)? from|thanks to|on the grounds that|designed to|intended to|with a view to)\b"
    r"|\u4e3a\u4e86|\u7531\u4e8e|\u56e0\u6b64|\u56e0\u4e3a|\u6240\u4ee5|\u4ee5\u4fbf|\u65e8\u5728"
    r"|\u5bfc\u81f4|\u9020\u6210|\u4e3a\u6b64|\u4ece\u800c",
    re.I,
)
# A sentence opening with one of these gives the consequence; its reason is the sentence before.
BACKWARD_RE = re.compile(
    r"^\W*(?:(?:as a result|therefore|thus|hence|consequently|accordingly|for (?:this|that|these) reasons?"
    r"|this is because|that is why|this is why|because of this|as such|in response|to this end)\b"
    r"|\u56e0\u6b64|\u4e3a\u6b64|\u6240\u4ee5|\u7531\u6b64)",
    re.I,
)


def asks_reason(question: str) -> bool:
    """Whether the question asks why, for what purpose or how (a reason or a mechanism)."""
    return bool(_REASON_RE.search(question))


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


# A definite reference to a document by its kind: "the 2016 State Council opinions", "the MIIT
# plan", "the 2022 guidance". The kinds are the generic vocabulary of records, not of one record.
_DOC_KINDS = (
    "opinions?|notice|notices|report|plan|guidance|guidelines?|circular|measures|article|decision|"
    "announcement|agreement|proclamation|memorandum|memo|letter|statement|speech|order|rules?|"
    "regulations?|law|directive|policy|programme|program|strategy|note|brief|release"
)
_DOC_REF_RE = re.compile(
    rf"\b(?:the|this|that)\s+((?:[\w\-\u2019']+\s+){{0,6}}?)({_DOC_KINDS})\b(?!\s+(?:of|on|for|to)\s+the\s+record)",
    re.I,
)
_CAPITALISED_RUN_RE = re.compile(r"[A-Z][A-Za-z]*(?:\s+(?:(?:of|and|&)\s+)?[A-Z][A-Za-z]*)+")


def acronyms(title: str) -> set[str]:
    """Initialisms a title's capitalised names give: "Ministry of Industry and Information
    Technology" -> "miit"; also acronyms written in the title itself."""
    out = {w.lower() for w in re.findall(r"\b[A-Z]{2,}\b", title)}
    for run in _CAPITALISED_RUN_RE.findall(title):
        initials = "".join(w[0] for w in run.split() if w[0].isupper())
        if len(initials) >= 2:
            out.add(initials.lower())
    return out


def reference_terms(title: str, opening: str) -> set[str]:
    """What a question may call an exhibit by: its title's words and initialisms, and the years
    its opening paragraphs mention (a notice is "the 2016 notice" by its date)."""
    from qa.text import terms

    return set(terms(title)) | acronyms(title) | set(_YEAR_RE.findall(title + " " + opening))


def exhibits_referenced(question: str, references: dict[int, set[str]]) -> tuple[list[int], str]:
    """The exhibits that definite document references in ``question`` pick out, and the
    question with those references taken out (for searching inside the exhibits they name).

    Every content word of a reference must be among one exhibit's reference terms, at least
    two must be, and no other exhibit may match as well. If any reference in the question is
    left unresolved, nothing is filtered: it may name a document the titles do not describe.
    """
    from qa.text import terms

    found: set[int] = set()
    rest = question
    for m in _DOC_REF_RE.finditer(question):
        words = set(terms(m.group(1) + " " + m.group(2)))
        words |= {w.lower() for w in re.findall(r"\b[A-Z]{2,}\b", m.group(1))}
        words = {w for w in words if not w.isdigit() or _YEAR_RE.fullmatch(w)}
        if len(words) < 2:
            continue
        hits = [n for n, ref in references.items() if words <= ref]
        if len(hits) != 1:
            return [], question
        found.add(hits[0])
        # The words that named the document say nothing about which paragraph answers; left
        # in, they pull the exhibit's title block and cover page to the top.
        rest = rest.replace(m.group(0), m.group(0).split()[0] + " document", 1)
    return sorted(found), rest if found else question
