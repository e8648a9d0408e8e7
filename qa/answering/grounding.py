"""Whether a written sentence's names are in what it cites, and which of its cites it needs.

Pure functions for the verifier (``checks.check_sentence``). A figure is checked digit for
digit (``checks.figure_in``); a name is looser — the record may write "MIIT" where the model
writes the Ministry's name, or "China" where it writes "Chinese" — so it is checked term by
term, allowing acronyms and demonyms both ways.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.answering.features import DEMONYM_ENDINGS
from qa.text import STOPWORDS, terms

# Small words inside a name that its acronym skips ("Ministry of Industry and ...": MIIT).
_ACRONYM_SKIPS = frozenset({"of", "and", "for", "the", "on", "in", "to", "&"})
_ACRONYM_RE = re.compile(r"^[A-Z][A-Z&]{1,9}s?$")
# "Exhibit 62", "Ex. 61 ¶ 12", "[61.12]": references to the record, not facts from it.
REFERENCE_RE = re.compile(
    r"\[[^\]]*\]|\b(?:exhibits?|ex\.|paragraphs?|para\.|\u00b6)\s*\d[\d\s,.\u00b6and&-]*",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'\u2019&.-]*")


def stated_names(text: str) -> list[str]:
    """The names an answer sentence states: runs of capitalised words ("Raw Materials Industry
    Department", "Ministry of Industry and Information Technology"), figures and references to
    the record ("Exhibit 62") left out. A sentence's first word counts only when the next is
    capitalised too ("Tan Naifen chaired ..."): alone it is capitalised by position."""
    names: list[str] = []
    # Punctuation and a possessive end a name: "China, Japan" is two, so is "the EU's Council".
    for n, part in enumerate(
        re.split(r"[,;:()\"\u201c\u201d]|(?<=['\u2019]s)\s", undot(REFERENCE_RE.sub(" ", text)))
    ):
        words = [re.sub(r"['\u2019]s$", "", w).strip(".'\u2019-") for w in _WORD_RE.findall(part)]
        run: list[str] = []
        for i, w in enumerate([*words, ""]):
            # A small word joins a name only between two capitalised words ("Ministry of Finance").
            joins = bool(run) and w.lower() in _ACRONYM_SKIPS and words[i + 1 : i + 2] != []
            if _capitalised(i if n == 0 else i + 1, w, words) or (joins and words[i + 1][:1].isupper()):
                run.append(w)
            else:
                while run and run[-1].lower() in _ACRONYM_SKIPS:
                    run.pop()
                if any(r.lower() not in STOPWORDS for r in run):
                    names.append(" ".join(run))
                run = []
    return list(dict.fromkeys(names))


_DOTTED_RE = re.compile(r"\b(?:[A-Z]\.\s?){2,}")


def undot(text: str) -> str:
    """Dotted initials written as one acronym ("U.S." and "U. S." -> "US")."""
    return _DOTTED_RE.sub(lambda m: m.group(0).replace(".", "").replace(" ", "") + " ", text)


def _capitalised(i: int, word: str, words: Sequence[str]) -> bool:
    if not word[:1].isupper():
        return False
    if i > 0:
        return True
    return len(words) > 1 and words[1][:1].isupper() and word.lower() not in STOPWORDS


def _acronyms(text: str) -> set[str]:
    """Acronyms of the runs of capitalised words in ``text`` ("European Union" -> "EU")."""
    out: set[str] = set()
    run: list[str] = []
    for w in [*re.findall(r"[A-Za-z&]+", text), "."]:
        if w[:1].isupper():
            run.append(w[0])
            continue
        if w.lower() in _ACRONYM_SKIPS and run:
            continue
        for i in range(len(run)):
            for j in range(i + 2, len(run) + 1):
                out.add("".join(run[i:j]))
        run = []
    return out


def _bases(word: str) -> list[str]:
    """``word`` without a demonym ending ("chinese" -> "chin"), when four letters remain."""
    return [word[: -len(e)] for e in DEMONYM_ENDINGS if word.endswith(e) and len(word) - len(e) >= 4]


def _demonym_of(a: str, b: str) -> bool:
    """Whether one word is the other's demonym or country ("Chinese" / "China")."""
    return any(
        y.startswith(base) and len(y) <= len(base) + 3 for x, y in ((a, b), (b, a)) for base in _bases(x)
    )


def name_in(name: str, text: str) -> bool:
    """Whether ``text`` names ``name``: all its terms occur (demonyms allowed), or it is the
    acronym of capitalised words in ``text``, or ``text`` uses its acronym."""
    name, text = undot(name).strip(), undot(text)
    have = set(terms(text))
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
    wanted = [w for w in re.findall(r"[A-Za-z]+", name) if terms(w)]
    if wanted and all(terms(w)[0] in have or any(_demonym_of(w.lower(), x) for x in words) for w in wanted):
        return True
    if _ACRONYM_RE.match(name) and name.rstrip("s") in _acronyms(text):
        return True
    initials = "".join(w[0] for w in name.split() if w[:1].isupper())
    return len(initials) >= 2 and re.search(rf"\b{re.escape(initials)}s?\b", text) is not None


def missing_names(sentence: str, cited: str) -> list[str]:
    """The names ``sentence`` states that ``cited`` does not, each once, in order."""
    return list(dict.fromkeys(n for n in stated_names(sentence) if not name_in(n, cited)))


def needed(sentence: str, question: str, cited: Sequence[str]) -> list[int]:
    """Indexes of the cites a sentence needs: greedily, the fewest of ``cited`` (each cite's
    text) that hold every term and figure of the sentence that any of them holds.

    The terms counted are those the question does not already give (the answer's own words),
    or all the sentence's terms when it has no others. A cite that adds nothing the others
    hold is not needed: a small model often cites a second paragraph that merely repeats the
    subject, and each such cite is a wrong pin cite.
    """
    said = list(dict.fromkeys(terms(sentence)))
    asked = set(terms(question))
    # A figure counts even when the question gives it: the figure check has passed with every
    # cite, so dropping the one cite holding "2015" would leave a sentence stating a year no
    # cite holds.
    numbers = {t for t in terms(REFERENCE_RE.sub(" ", sentence)) if t[0].isdigit()}
    own = [t for t in said if t not in asked or t in numbers] or said
    every = [set(terms(text)) & set(said) for text in cited]
    holds = [e & set(own) for e in every]
    left = set().union(*holds) if holds else set()
    chosen: list[int] = []
    while left:
        # Ties go to the cite holding more of the whole sentence: the translation rather than
        # the Chinese original beside it, for an English sentence.
        best = max(range(len(cited)), key=lambda i: (len(holds[i] & left), len(every[i]), -i))
        if not holds[best] & left:
            break
        chosen.append(best)
        left -= holds[best]
    return sorted(chosen) or list(range(min(1, len(cited))))
