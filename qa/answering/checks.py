"""What a model wrote, parsed tolerantly and checked sentence by sentence against the sources.

The model's words are never trusted: a cite survives only if its key names a source that was
shown and its quote is verbatim in that paragraph, and a sentence survives only if it keeps a
cite, every figure and name it states is in a paragraph it cites, and, for an open question,
it says something the question does not already say. A cite that adds nothing the sentence
states beyond its other cites is removed (``grounding.needed``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, ValidationError

from qa.answering.grounding import REFERENCE_RE, missing_names, needed
from qa.answering.prompt import parse_key
from qa.cites import normalize, quote_in
from qa.text import terms
from qa.types import Citation, Dropped, Paragraph


class OutputCite(BaseModel):
    """One cite as the model wrote it."""

    key: str = Field(validation_alias=AliasChoices("key", "source", "id", "ref"))
    quote: str = Field("", validation_alias=AliasChoices("quote", "text", "evidence"))


class OutputSentence(BaseModel):
    """One answer sentence as the model wrote it."""

    text: str = Field(validation_alias=AliasChoices("text", "sentence", "claim"))
    cites: list[OutputCite] = Field(
        default_factory=list, validation_alias=AliasChoices("cites", "citations", "sources")
    )


class Output(BaseModel):
    """The model's whole reply."""

    sentences: list[OutputSentence] = Field(
        default_factory=list, validation_alias=AliasChoices("sentences", "answer")
    )


class MalformedOutput(ValueError):
    """The reply is not the JSON the prompt asked for."""


_FENCE_RE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$", re.IGNORECASE)


def json_object(raw: str, what: str) -> Any:
    """The one JSON object in a model's reply, allowing code fences and prose around it."""
    text = _FENCE_RE.sub("", raw.strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise MalformedOutput(f"no JSON object in the {what} ({len(raw)} characters)")
    try:
        return json.loads(text[start : end + 1])
    except json.JSONDecodeError as e:
        raise MalformedOutput(f"the {what} is not valid JSON ({e.msg} at character {e.pos})") from e


def parse_output(raw: str) -> Output:
    """The reply as an ``Output``; tolerates code fences and prose around the JSON object."""
    data = json_object(raw, "reply")
    if isinstance(data, dict) and isinstance(data.get("sentences"), str):
        data["sentences"] = [{"text": data["sentences"], "cites": []}]
    try:
        return Output.model_validate(data)
    except ValidationError as e:
        raise MalformedOutput(f"the reply does not have the asked-for shape: {e.errors()[0]['msg']}") from e


class Ranking(BaseModel):
    """A reranker's reply."""

    ranking: list[str] = Field(validation_alias=AliasChoices("ranking", "keys", "order"))


def parse_ranking(raw: str) -> list[tuple[int, int]]:
    """The (exhibit, paragraph) keys of a reranker's reply, in its order; unreadable keys skipped."""
    try:
        ranking = Ranking.model_validate(json_object(raw, "ranking"))
    except ValidationError as e:
        raise MalformedOutput(f"the ranking does not have the asked-for shape: {e.errors()[0]['msg']}") from e
    return [key for key in (parse_key(k) for k in ranking.ranking) if key is not None]


def complete_sentences(buffer: str) -> list[OutputSentence]:
    """The sentence objects already complete in a reply that is still streaming in.

    The reply is one JSON object, so nothing can be parsed whole until it ends; each element
    of its ``sentences`` array can be, as soon as its closing brace arrives.
    """
    start = buffer.find('"sentences"')
    start = buffer.find("[", start) if start >= 0 else -1
    if start < 0:
        return []
    decoder = json.JSONDecoder()
    pos = start + 1
    out: list[OutputSentence] = []
    while True:
        while pos < len(buffer) and buffer[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(buffer) or buffer[pos] != "{":
            return out
        try:
            obj, pos = decoder.raw_decode(buffer, pos)
            out.append(OutputSentence.model_validate(obj))
        except (json.JSONDecodeError, ValidationError):
            return out


# Figures a sentence states: 2016, 1.5, 100,000, 35%; a year or amount is a fact to check.
_NUMBER_RE = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


# Numbers written as words are figures too ("over the past two decades"). "One" is left out:
# "one of the", "one such vessel" are not counts, and would fail sentences the record supports.
_UNITS = {w: n for n, w in enumerate("two three four five six seven eight nine".split(), 2)}
_TEENS = {
    w: n
    for n, w in enumerate(
        "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split(), 10
    )
}
_TENS = {w: 10 * n for n, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SINGLE = {**_UNITS, **_TEENS}
# "twenty-five" / "twenty five" (tens, then an optional unit), or a single word.
_WORD_NUMBER_RE = re.compile(
    rf"\b(?:({'|'.join(_TENS)})(?:[-\s]({'|'.join(_UNITS)}))?|({'|'.join(_SINGLE)}))\b", re.IGNORECASE
)


def _word_figures(text: str) -> list[tuple[int, str]]:
    """The numbers ``text`` writes as words, as digits, with where each starts."""
    out = []
    for m in _WORD_NUMBER_RE.finditer(text):
        tens, unit, single = (g.lower() if g else "" for g in m.groups())
        value = _SINGLE[single] if single else _TENS[tens] + _UNITS.get(unit, 0)
        out.append((m.start(), str(value)))
    return out


def figures(text: str) -> list[str]:
    """The numbers in ``text``, without thousands separators (``100,000`` -> ``100000``), and
    the numbers it writes as words, as digits ("two decades" -> ``2``), in reading order."""
    text = normalize(text)
    found = [(m.start(), m.group(0).rstrip(",").replace(",", "")) for m in _NUMBER_RE.finditer(text)]
    return [n for _, n in sorted([*found, *_word_figures(text)]) if n]


def stated_figures(text: str) -> list[str]:
    """The figures an answer sentence states (references to the record are not figures)."""
    return figures(REFERENCE_RE.sub(" ", text))


def figure_in(number: str, text: str) -> bool:
    """Whether ``number`` appears in ``text`` as a whole number (not inside a longer one)."""
    return number in figures(text)


# Text addressed to a model rather than to a reader of the exhibit ("ignore previous
# instructions", "you are now", "system prompt"): a quote of it is never evidence for an answer.
_INSTRUCTION_RE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|directions)\b"
    r"|\b(?:system|developer)\s+(?:prompt|message|note|instruction)s?\b"
    r"|\byou\s+are\s+now\b|\b(?:reply|respond|answer)\s+(?:only\s+)?with\s+(?:the\s+)?(?:single\s+)?word\b",
    re.IGNORECASE,
)


def is_instruction(text: str) -> bool:
    """Whether ``text`` reads as an instruction to a language model (prompt injection)."""
    return bool(_INSTRUCTION_RE.search(normalize(text)))


def _only_source_with(quote: str, sources: Mapping[tuple[int, int], Paragraph]) -> Paragraph | None:
    if len(normalize(quote).split()) < 5:
        return None  # a short phrase may sit in many paragraphs by chance
    homes = [p for p in sources.values() if quote_in(quote, p.text)]
    return homes[0] if len(homes) == 1 else None


# An open question asks for something (what, who, when, why, how ...); a yes/no question opens
# with a verb ("Did USTR cite ...?"), and there repeating its words is the answer.
_WH_RE = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)
_YES_NO_RE = re.compile(
    r"^\W*(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|shall|should|may|might|must)\b",
    re.I,
)


def restates(sentence: str, question: str) -> bool:
    """Whether ``sentence`` only restates the open ``question``: every content term it uses is
    the question's ("How did X lead to Y?" -> "X led to Y."), so it answers nothing."""
    if not _WH_RE.search(question) or _YES_NO_RE.match(question):
        return False
    said = set(terms(sentence))
    return bool(said) and said <= set(terms(question))


@dataclass(frozen=True)
class Checked:
    """An answer sentence after verification: the cites that held, or why it was dropped."""

    text: str
    citations: tuple[Citation, ...]
    dropped_cites: tuple[tuple[str, str], ...]  # (key as written, reason)
    dropped: Dropped | None


def check_sentence(
    sentence: OutputSentence, sources: Mapping[tuple[int, int], Paragraph], question: str = ""
) -> Checked:
    """Keep the cites of ``sentence`` that point into ``sources`` with a verbatim quote and add
    something; drop the sentence if none is left, a figure or name it states is in none of its
    cited paragraphs, or it only restates ``question`` (an open question, when given)."""
    text = sentence.text.strip()
    kept: list[Citation] = []
    lost: list[tuple[str, str]] = []
    for cite in sentence.cites:
        key = parse_key(cite.key)
        para = sources.get(key) if key else None
        if para is None or not quote_in(cite.quote, para.text):
            # Small models copy the right words but label them with a neighbour's key; words
            # found verbatim in exactly one source identify the paragraph better than the label.
            home = _only_source_with(cite.quote, sources)
            if home is None:
                why = (
                    "not one of the sources given"
                    if para is None
                    else "quote is not verbatim in the paragraph"
                )
                lost.append((cite.key, why))
                continue
            lost.append((cite.key, f"re-pointed to {home.exhibit}.{home.number}, where its quote is"))
            para, key = home, (home.exhibit, home.number)
        if is_instruction(cite.quote):
            lost.append((cite.key, "quote is an instruction to a model, not evidence"))
            continue
        if all((c.exhibit, c.paragraph) != key for c in kept):
            kept.append(
                Citation(para.exhibit, para.number, cite.quote.strip(), True, original=para.lang == "zh")
            )
    if not kept:
        why = "no cite" if not sentence.cites else "no valid cite (" + "; ".join(r for _, r in lost) + ")"
        return Checked(text, (), tuple(lost), Dropped(text, why))
    cited_paras = [sources[(c.exhibit, c.paragraph)] for c in kept]
    cited_text = " ".join(p.text for p in cited_paras)
    # The cited paragraphs' document titles and section headings are the record's words too:
    # "the 2022 meeting" or "the MIIT plan" is often named there and not in the paragraph.
    context = " ".join([cited_text, *{p.title for p in cited_paras}, *{p.heading for p in cited_paras}])
    # A count the question words ("Which two departments ...?") describes what is asked for;
    # the record lists the two rather than counting them, so repeating it asserts nothing new.
    counted = {n for _, n in _word_figures(normalize(question))}
    missing = [n for n in stated_figures(text) if not figure_in(n, context) and n not in counted]
    if missing:
        why = "states " + ", ".join(missing) + ", which no cited paragraph contains"
        return Checked(text, (), tuple(lost), Dropped(text, why))
    # A Chinese paragraph writes names in Chinese, so a sentence citing one is not name-checked.
    if all(p.lang != "zh" for p in cited_paras):
        unnamed = missing_names(text, context)
        if unnamed:
            why = "names " + ", ".join(unnamed) + ", which no cited paragraph names"
            return Checked(text, (), tuple(lost), Dropped(text, why))
    if question and restates(text, question):
        # Small models turn "How have X led to Y?" into "X have led to Y [cite]": true and cited,
        # and no answer; the extractive answer, which quotes the mechanism, is worth more.
        return Checked(text, (), tuple(lost), Dropped(text, "restates the question without answering it"))
    if len(kept) > 1:
        # A cite's document title and heading count as what it holds, as in the figure check:
        # a cite is not needed for "2016" when the other's title names the 2016-2020 plan.
        keep = set(needed(text, question, [f"{p.text} {p.title} {p.heading}" for p in cited_paras]))
        for i, c in enumerate(kept):
            if i not in keep:
                lost.append(
                    (
                        f"{c.exhibit}.{c.paragraph}",
                        "adds nothing the sentence states that its other cites lack",
                    )
                )
        kept = [c for i, c in enumerate(kept) if i in keep]
    return Checked(text, tuple(kept), tuple(lost), None)
