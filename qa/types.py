"""Domain objects shared by indexing, retrieval, answering and evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Exhibit:
    """One numbered exhibit of the record, as read from its source."""

    number: int
    title: str
    source: str
    text: str
    problem: str = ""  # why a source gave no paragraphs, e.g. "no text layer — OCR it first"


@dataclass(frozen=True)
class Paragraph:
    """A numbered paragraph of an exhibit: the unit that a pin cite points to."""

    exhibit: int
    number: int
    text: str
    lang: str
    start: int
    end: int
    title: str = ""
    page: int | None = None
    boilerplate: bool = False  # web page furniture: numbered, but left out of retrieval
    aligned: tuple[int, ...] = ()  # paragraph(s) of the same exhibit in the other language
    heading: str = ""  # the section headings it sits under, "A › B"

    @property
    def context_text(self) -> str:
        """What is embedded and BM25-indexed: the paragraph under its section heading."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text

    @property
    def key(self) -> str:
        """Chroma id of the paragraph, e.g. ``ex61-p12``."""
        return f"ex{self.exhibit}-p{self.number}"

    def to_json(self) -> dict[str, Any]:
        return {
            "exhibit": self.exhibit,
            "paragraph": self.number,
            "text": self.text,
            "lang": self.lang,
            "start": self.start,
            "end": self.end,
            "title": self.title,
            "page": self.page,
            "boilerplate": self.boilerplate,
            "aligned": list(self.aligned),
            "heading": self.heading,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Paragraph:
        return cls(
            exhibit=int(d["exhibit"]),
            number=int(d["paragraph"]),
            text=d["text"],
            lang=d["lang"],
            start=int(d["start"]),
            end=int(d["end"]),
            title=d.get("title", ""),
            page=d.get("page"),
            boilerplate=bool(d.get("boilerplate", False)),
            aligned=tuple(int(n) for n in d.get("aligned", ())),
            heading=d.get("heading", ""),
        )


@dataclass(frozen=True)
class Passage:
    """A retrieved paragraph with its fused (reciprocal-rank) score."""

    paragraph: Paragraph
    score: float


@dataclass(frozen=True)
class Citation:
    """A pin cite with the quoted words that support the sentence it ends."""

    exhibit: int
    paragraph: int
    quote: str
    verified: bool = False
    original: bool = False  # the cited paragraph is the Chinese original, not the translation

    def render(self) -> str:
        note = " (Chinese original)" if self.original else ""
        return f"[Ex. {self.exhibit} \u00b6 {self.paragraph}{note}]"


@dataclass(frozen=True)
class Dropped:
    """A sentence an LLM wrote that the verifier removed, and why."""

    sentence: str
    reason: str


@dataclass(frozen=True)
class Usage:
    """Tokens an LLM answer cost, as the endpoint reported them."""

    prompt_tokens: int
    completion_tokens: int
    model: str
    estimated: bool = False  # the endpoint reported none (llama.cpp does not while streaming)


@dataclass(frozen=True)
class Part:
    """One part of a question: the text to answer, the exhibits to search and the text to search with."""

    text: str
    exhibits: tuple[int, ...] | None = None
    search: str = ""  # the text to search with, if not ``text`` (document references taken out)


@dataclass(frozen=True)
class FollowUp:
    """A follow-up made standalone against the turn before it."""

    searched: str  # the question with what it leans on: the text searched and answered
    asked: str = ""  # its own words, when the earlier terms were added only to find passages
    inherited: tuple[int, ...] | None = None  # the earlier turn's exhibits, when it is searched in them


# Why a question is searched in the exhibits it is, as the answer's note says it.
_SCOPE_REASONS = {
    "named": "which the question names",
    "referred": "the document the question refers to",
    "earlier": "as the earlier question did",
}


@dataclass(frozen=True)
class Scope:
    """The exhibits a question is searched in, why, and the text to search them with."""

    exhibits: tuple[int, ...] | None  # None: the whole record
    why: str  # "given", "named", "referred", "earlier", or "" for the whole record
    search: str  # the text to search with: resolved document references taken out
    named: tuple[int, ...] = ()  # every exhibit number the text names, in the record or not

    @property
    def note(self) -> str:
        """What the answer says of the scope; "" when it was given or is the whole record."""
        because = _SCOPE_REASONS.get(self.why)
        if because is None or not self.exhibits:
            return ""
        return "searched only Exhibit " + ", ".join(map(str, self.exhibits)) + ", " + because


@dataclass(frozen=True)
class Plan:
    """A question understood before retrieval: its text, follow-up, scope, parts, kind and notes."""

    question: str  # the question cleaned of escape sequences, control characters and extra spaces
    followup: FollowUp | None  # how it leans on the turn before, if it does
    scope: Scope  # where the whole question is searched
    parts: tuple[Part, ...]  # each searched and answered on its own; one for a question in one piece
    kind: str  # the kind of fact asked for: "numeric", "date", "name", "list", "identifier", "other"
    reason: bool  # whether it asks why, for what purpose or how
    notes: tuple[str, ...] = ()  # what the answer says of how the question was read, in order
    declined: str = ""  # why it is not searched at all (empty, too long), if it is not

    @property
    def searched(self) -> str:
        """The question made standalone: what is searched and answered."""
        return self.followup.searched if self.followup else self.question

    @property
    def answer_text(self) -> str:
        """A one-part follow-up's own words, which an extractive answerer weighs sentences
        against first; "" when it is weighed against ``searched``."""
        return self.followup.asked if self.followup and len(self.parts) == 1 else ""


# Support is the scorer's calibrated probability that an answer is right: at 0.7 and above,
# seven in ten such answers are (on its validation split); below that the user is told to check.
WELL_SUPPORTED = 0.7


def support_label(support: float | None, refused: bool) -> str | None:
    """What the user is told of an answer's support: "well supported", "uncertain" or
    "not supported" (a refusal); None when the answerer states no support."""
    if support is None:
        return None
    if refused:
        return "not supported"
    return "well supported" if support >= WELL_SUPPORTED else "uncertain"


@dataclass(frozen=True)
class Answer:
    """An answer to one question, with its verified citations and the evidence seen."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    refused: bool
    mode: str
    settings_hash: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    support: float | None = None
    dropped: tuple[Dropped, ...] = ()
    usage: Usage | None = None
    index: str = ""  # the index generation answered from: its build time and id
    searched: str = ""  # the question as searched, when a follow-up was made standalone
    parts: tuple[str, ...] = ()  # the parts a many-part question was answered in, in order
    channels: tuple[str, ...] = ()  # retrieval channels searched: dense, bm25, bm25_zh

    @property
    def support_label(self) -> str | None:
        return support_label(self.support, self.refused)

    @property
    def uncertain(self) -> bool:
        return self.support_label == "uncertain"

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "mode": self.mode,
            "settings_hash": self.settings_hash,
            "index": self.index,
            "searched": self.searched or self.question,
            "parts": list(self.parts),
            "channels": list(self.channels),
            "citations": [
                {"exhibit": c.exhibit, "paragraph": c.paragraph, "quote": c.quote, "verified": c.verified}
                for c in self.citations
            ],
            "passages": [
                {
                    "exhibit": p.paragraph.exhibit,
                    "paragraph": p.paragraph.number,
                    "score": round(p.score, 6),
                    "text": p.paragraph.text,
                }
                for p in self.passages
            ],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "notes": list(self.notes),
            "support": None if self.support is None else round(self.support, 4),
            "support_label": self.support_label,
            "dropped": [{"sentence": d.sentence, "reason": d.reason} for d in self.dropped],
            "usage": None
            if self.usage is None
            else {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "model": self.usage.model,
                "estimated": self.usage.estimated,
            },
        }

    def passages_frame(self) -> Any:
        """The retrieved passages as a pandas DataFrame (exhibit, paragraph, page, score, cited, text)."""
        import pandas as pd  # the notebook extra; only this method needs it

        cited = {(c.exhibit, c.paragraph) for c in self.citations}
        return pd.DataFrame(
            [
                {
                    "exhibit": p.paragraph.exhibit,
                    "paragraph": p.paragraph.number,
                    "page": p.paragraph.page,
                    "score": p.score,
                    "cited": (p.paragraph.exhibit, p.paragraph.number) in cited,
                    "text": p.paragraph.text,
                }
                for p in self.passages
            ],
            columns=["exhibit", "paragraph", "page", "score", "cited", "text"],
        )

    def _repr_markdown_(self) -> str:
        lines = [self.text, ""]
        for i, c in enumerate(self.citations, 1):
            lines.append(f"{i}. Ex. {c.exhibit} \u00b6 {c.paragraph}: \u201c{c.quote}\u201d")
        if self.support_label is not None:
            lines.append(f"*{self.support_label} (support {self.support:.2f})*")
        if (self.refused or self.uncertain) and self.passages:
            lines.append("Closest passages, for you to check:")
            for p in self.passages[:3]:
                para = p.paragraph
                snippet = " ".join(para.text.split())[:200]
                lines.append(f"- Ex. {para.exhibit} \u00b6 {para.number}: {snippet}\u2026")
        for d in self.dropped:
            lines.append(f"- removed: \u201c{d.sentence}\u201d ({d.reason})")
        lines.append("")
        index = f" \u00b7 record indexed {self.index}" if self.index else ""
        lines.append(f"*mode: {self.mode} \u00b7 settings {self.settings_hash[:8]}{index}*")
        return "\n".join(lines)
