"""Follow-up questions: "Who issued it?" after "What did the 2016 notice require?".

Offline, a follow-up is recognised by its form (a leading "and" / "what about", a pronoun
standing for what was asked before, or too few content words to stand alone) and is searched
with the earlier question's key terms and within its exhibits. A question that stands alone
is searched as it is: a new topic inherits nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.questions import specific_words
from qa.text import terms


@dataclass(frozen=True)
class Turn:
    """An earlier question as a follow-up may lean on it: its text and the exhibits it was
    answered from (those it named, or else those its answer cited)."""

    question: str
    exhibits: tuple[int, ...] = ()


@dataclass(frozen=True)
class Condensed:
    """A question made standalone: the text to search and answer with, the exhibits of the
    earlier turn it may be searched in (``None`` for none), and whether anything was carried over."""

    text: str
    exhibits: tuple[int, ...] | None = None
    carried: bool = False
    # What the answerer weighs sentences against: the follow-up's own words when the earlier
    # terms were only added to find the passages ("How often is it updated?" is answered by
    # the sentence about updates, not by the one that matches the earlier question best).
    asked: str = ""


# "And in Exhibit 64?", "What about aluminum?", "Also, ...": a question that continues another.
_STARTER_RE = re.compile(
    r"^(?:and|also|but|then|so|plus|what about|how about|and what about|and how about|same for|"
    r"what of|and for|and in|and on)\b[\s,]*",
    re.I,
)
# Pronouns that stand for a thing asked about before. "This"/"that" count only where they stand
# alone ("when did that take effect?"), not as determiners ("this plan").
_PRONOUN_RE = re.compile(
    r"\b(?:it|its|they|them|their|he|him|his|she|her|those|these|such)\b"
    r"|\b(?:this|that)\b(?=\s*(?:[?.!,;]|$|(?:is|was|were|are|do|did|does|has|had|have|will|would|"
    r"take|took|happen|happened|mean|meant|apply|applied|begin|began|start|started|end|ended|"
    r"cover|covered|come|came|say|said)\b))"
    r"|\b(?:did|does|do|was|is|issued|announced|approved|said|caused|set|chaired|signed|wrote|"
    r"published|adopted|proposed|ordered|required)\s+(?:that|this)\b"
    r"|\bthe (?:same|former|latter|above|previous)\b",
    re.I,
)
_WH_LEAD_RE = re.compile(
    r"^(?:what|which|who|whom|whose|when|where|why|how(?: many| much| long| far)?|in what|on what|"
    r"at what|by (?:how much|what|whom)|for what|over what|under what)\b(?:\s+(?:is|are|was|were|"
    r"did|does|do|has|have|had|will|would|can|could|should|must))?\s*",
    re.I,
)
# Alone, this few content words cannot name what is asked about ("Over what period?").
_STANDALONE_TERMS = 3
# "How many according to the 2022 note?", "How much in 2010?": a quantity asked for without the
# noun it counts, which the question before named.
_BARE_QUANTITY_RE = re.compile(
    r"^(?:(?:and|but|also|roughly|about|approximately|around|nearly|exactly)\s+)*how (?:many|much)\b"
    r"(?=\s*(?:[?.!,;]|$|(?:according|in|on|at|by|for|from|of|under|during|since|did|does|do|was|were|"
    r"is|are|has|have|had|will|would|can|could|should|each|then|there)\b))",
    re.I,
)
# In a question joined to another ("..., and are such goods subject to that surcharge?"), these
# point back to the first question's subject: a pronoun, or a determiner before a noun.
_ANAPHOR_RE = re.compile(
    r"\b(?:it|its|they|them|their|those|these|such|that|this|the same|the former|the latter)\b", re.I
)


def is_followup(question: str) -> bool:
    """Whether ``question`` leans on an earlier one for what it asks about."""
    q = question.strip()
    if _STARTER_RE.match(q):
        return True
    if _BARE_QUANTITY_RE.match(q):
        return True
    content = terms(q)
    names = [w for w in specific_words(q) if not w.isdigit()]
    if len(content) <= _STANDALONE_TERMS and not names:
        return True
    # A pronoun in a short question with no names of its own: "Who chaired it?" is a follow-up,
    # "Why does USTR say it did not change the tariffs?" is not.
    return bool(_PRONOUN_RE.search(q)) and len(content) <= 2 * _STANDALONE_TERMS and not names


def leans_on(question: str) -> bool:
    """Whether a question joined to an earlier one in the same sentence leans on it: it is a
    follow-up by itself, or points back with a pronoun or a determiner ("that surcharge")."""
    return is_followup(question) or bool(_ANAPHOR_RE.search(question))


def key_terms(question: str) -> str:
    """What an earlier question asks about, without its question words: "What did the 2016
    State Council opinions require of steel producers?" -> "2016 State Council opinions require
    steel producers"."""
    body = _WH_LEAD_RE.sub("", question.strip().rstrip("?").strip())
    words = re.findall(r"[\w\u2019'.&-]+|[\u3400-\u9fff]+", body)
    kept = [w for w in words if terms(w) or re.fullmatch(r"[\u3400-\u9fff]+", w)]
    return " ".join(kept)


def condense(question: str, history: list[Turn], *, joined: bool = False) -> Condensed:
    """``question`` made standalone against the last turn of ``history``.

    "And in Exhibit 64?" asks the last question again of the exhibit it names; "What about
    aluminum?" asks it again about what it names; any other follow-up is searched with the
    last question's key terms. The last turn's exhibits come with it; the caller, which
    scopes the question, keeps them when the follow-up names none of its own. ``joined``:
    the earlier question is the first half of the same sentence, so a pronoun or determiner
    pointing back is enough to lean on it (``leans_on``).
    """
    if not history or not (leans_on(question) if joined else is_followup(question)):
        return Condensed(question)
    last = history[-1]
    rest = _STARTER_RE.sub("", question.strip()).strip(" ?.,")
    before = last.question.strip().rstrip("?").strip()
    scope = last.exhibits or None
    if _STARTER_RE.match(question.strip()) and not _WH_LEAD_RE.match(rest):
        # "And in Exhibit 64?" / "What about aluminum?": the same question, about something else.
        base = re.sub(r"\s*\b(?:in|of|from|under)?\s*(?:exhibits?|exh?\.)\s*\d+\b", "", before, flags=re.I)
        return Condensed(f"{base}: {rest}?" if rest else f"{base}?", scope, True)
    carried = [w for w in key_terms(last.question).split() if not set(terms(w)) <= set(terms(question))]
    text = f"{question.strip().rstrip('?')} \u2014 {' '.join(carried)}?" if carried else question
    return Condensed(text, scope, True, asked=question)


def dropped_words(question: str, rewrite: str) -> list[str]:
    """The content words of ``question`` that ``rewrite`` leaves out (compared by stem).

    A model asked to make "How often is it updated?" standalone has answered with the earlier
    question ("When did NMFS establish the list?"): a rewrite must keep what the user asked."""
    kept = set(terms(rewrite))
    words = re.findall(r"[^\W_]+(?:['\u2019][^\W_]+)*", question)
    return list(dict.fromkeys(w for w in words if (t := terms(w)) and not set(t) <= kept))
