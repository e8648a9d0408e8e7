"""Questions in parts: "When was the plan issued and which body issued it?", "How did the target
change between Exhibit 62 and Exhibit 63?". Each part is searched and answered on its own and
the answers are put together, each labelled with the part it answers.

Parts come from the question's form only: coordinated questions (a second question word after
"and", or two question marks), comparisons over documents (a comparison word and two or more
exhibits the question names or refers to), and comparisons of two things named in full ("How
did A compare with B?").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from qa.answering.base import REFUSAL, Draft
from qa.followup import Turn, condense
from qa.types import Part

# A question word, after at most a preposition ("since what year", "by when", "under which
# law") or a degree adverb ("about how many", "roughly what share"); or an auxiliary that
# opens a yes/no question.
_WH = (
    r"(?:(?:in|on|at|for|to|under|by|since|from|until|till|during|after|before|with|of|through|"
    r"within|over|about|roughly|approximately|around|nearly|exactly|also|then)\s+)?"
    r"(?:what|which|who|whom|whose|when|where|why|how)\b|(?:is|are|was|were|did|does|do)\b"
)
# "; which ...", ", and when ...", " and who ...": a comma alone ("According to USTR, how many
# ...") joins a phrase to its question, not two questions.
_JOIN_RE = re.compile(rf"(?:\s*;\s*(?:and\s+)?|\s*,?\s+(?:and|as well as)\s+(?:also\s+)?)(?={_WH})", re.I)
_COMPARE_RE = re.compile(
    r"\b(?:compare[sd]?|comparison|differ(?:s|ed|ent|ence|ences)?|change[sd]?|between|both|each|"
    r"respectively|versus|vs\.?|whereas|while)\b",
    re.I,
)
# "How did A compare with B?", "How does A differ from B?", "What was the difference between A
# and B?": two things named in full, each found and quoted on its own.
_NP_COMPARE_RES = (
    re.compile(
        r"^how (?P<aux>did|does|do|has|have|had|would|will|can) (?P<a>.+?) "
        r"(?:compare|differ|stack up|contrast) (?:with|to|from|against) (?P<b>.+?)\??$",
        re.I,
    ),
    re.compile(
        r"^what (?P<aux>is|was|are|were) the differences? between (?P<a>.+?) and (?P<b>.+?)\??$", re.I
    ),
)
_PAST = {"did", "had", "was", "were"}
# "Do the exhibits agree on ...?", "What do the documents say about ...?": the record's documents
# in the plural, none named: each of the documents that discuss it is answered on its own.
_ACROSS_RE = re.compile(
    r"\b(?:the|these|both|all|two|several|different|other|various) (?:exhibits|documents|sources|"
    r"reports|records|notices|articles|texts|accounts)\b",
    re.I,
)
# A piece with fewer words is a fragment of one question ("Which company and which agency
# signed it?"), not a question of its own.
_MIN_WORDS = 3


def coordinated(question: str) -> list[str]:
    """The questions a coordinated question joins, each made standalone against the one
    before it ("... and which body issued it?" -> "which body issued it — plan issued?");
    one item if it joins none."""
    pieces = [p.strip(" ,;") for p in re.split(r"\?\s+(?=\S)", question.strip()) if p.strip(" ,;?")]
    out: list[str] = []
    for piece in pieces:
        out.extend(s.strip(" ,;") for s in _JOIN_RE.split(piece.rstrip("?")) if s.strip(" ,;"))
    if len(out) < 2 or any(len(p.split()) < _MIN_WORDS for p in out):
        return [question]
    qs = [p[0].upper() + p[1:] + "?" for p in out]
    first = qs[0]
    return [first] + [condense(q, [Turn(first)], joined=True).text for q in qs[1:]]


def compared(question: str) -> list[str]:
    """The two things a comparison of noun phrases asks about, each as a question of its own
    ("How did the output the plan forecast compare with the output USTR reports?" -> "What was
    the output the plan forecast?", "What was the output USTR reports?"); [] if it is not one."""
    for pattern in _NP_COMPARE_RES:
        m = pattern.match(question.strip())
        if m is None:
            continue
        a, b = m.group("a").strip(" ,"), m.group("b").strip(" ,?")
        if len(a.split()) < _MIN_WORDS or len(b.split()) < _MIN_WORDS:
            return []  # "How did output compare with 2019?": one fact at two times, not two things
        verb = "was" if (m.groupdict().get("aux") or "").lower() in _PAST else "is"
        return [f"What {verb} {a}?", f"What {verb} {b}?"]
    return []


def across_documents(question: str) -> bool:
    """Whether ``question`` asks what several of the record's documents say, naming none."""
    return bool(_ACROSS_RE.search(question))


def is_comparison(question: str) -> bool:
    return bool(_COMPARE_RE.search(question))


def split(question: str, scoped: Sequence[int] | None, search: str = "") -> list[Part]:
    """The parts of ``question``; ``scoped`` are the exhibits its wording names or refers to,
    ``search`` the question with those references taken out.

    A comparison over two or more exhibits is one part per exhibit; otherwise each coordinated
    question is a part (keeping the question's own exhibits); otherwise the question is one part.
    """
    own = tuple(scoped) if scoped else None
    if own and len(own) >= 2 and is_comparison(question):
        return [Part(question, (n,), search if search != question else "") for n in own]
    texts = compared(question) or coordinated(question)
    return [Part(t, own) for t in texts]


def combine(parts: Sequence[Part], drafts: Sequence[Draft]) -> Draft:
    """One draft from each part's: every part labelled, an unanswered part said to be so.

    The support is the best part's, so that the answer is refused exactly when every part is
    (each part's own support is in the notes). A sentence that answers two parts is quoted under the first and referred to under the next.
    """
    lines: list[str] = []
    notes: list[str] = []
    cites = []
    seen: dict[str, int] = {}
    for i, (part, draft) in enumerate(zip(parts, drafts, strict=True), 1):
        label = f"({i}) {_label(part, parts)}"
        if draft.refused:
            lines.append(f"{label} \u2014 not answered: {REFUSAL[0].lower()}{REFUSAL[1:]}")
            notes.extend(f"part {i}: {n}" for n in draft.notes)
            continue
        body = []
        for c in draft.citations:
            if c.quote in seen:
                body.append(f"see ({seen[c.quote]}) {c.render()}")
                continue
            seen[c.quote] = i
            cites.append(c)
            body.append(f"\u201c{c.quote}\u201d {c.render()}")
        lines.append(f"{label} \u2014 " + " ".join(body))
        notes.extend(f"part {i}: {n}" for n in draft.notes)
        if draft.support is not None:
            notes.append(f"part {i}: support {draft.support:.2f}")
    answered = [d for d in drafts if not d.refused]
    supports = [d.support for d in drafts if d.support is not None]
    return Draft(
        "\n".join(lines) if answered else REFUSAL,
        tuple(cites),
        refused=not answered,
        notes=tuple(notes),
        support=max(supports) if supports else None,
        dropped=tuple(x for d in drafts for x in d.dropped),
        answered_by=next((d.answered_by for d in drafts if d.answered_by), None),
    )


def fill_in(parts: Sequence[Part], written: Draft, quoted: Sequence[Draft]) -> Draft:
    """A writing model's answer to a question in parts, with the quoted answer of each part it
    left out. A part is left out when the model cites none of the paragraphs that the part's
    own quoted (extractive) answer cites; a part with no quoted answer adds nothing."""
    if written.refused:
        return written
    cited = {(c.exhibit, c.paragraph) for c in written.citations}
    lines: list[str] = []
    cites = list(written.citations)
    notes = list(written.notes)
    for i, (part, draft) in enumerate(zip(parts, quoted, strict=True), 1):
        keys = {(c.exhibit, c.paragraph) for c in draft.citations}
        if draft.refused or not keys or keys & cited:
            continue
        body = " ".join(f"\u201c{c.quote}\u201d {c.render()}" for c in draft.citations)
        lines.append(f"({i}) {_label(part, parts)} \u2014 {body}")
        cites.extend(c for c in draft.citations if c not in cites)
        notes.append(f"part {i} is not in the written answer: its quoted answer is added")
    if not lines:
        return written
    return replace(
        written, text=written.text + "\n" + "\n".join(lines), citations=tuple(cites), notes=tuple(notes)
    )


def _label(part: Part, parts: Sequence[Part]) -> str:
    if all(p.text == parts[0].text for p in parts) and part.exhibits:
        return "Exhibit " + ", ".join(map(str, part.exhibits))
    return part.text.split(" \u2014 ")[0]
