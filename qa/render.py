"""The chat's and evidence panel's HTML and markdown, from the typed events of ``qa.events``.

Pure functions of an answer (no Gradio), so the app stays wiring and these are tested alone.
Everything taken from the record is escaped for where it goes: an exhibit may contain markup or
script. Text for the HTML panels is HTML-escaped only; text for the chat, which renders Markdown,
is HTML-escaped and has its ``$`` escaped for Markdown as well (``markdown_text``).
"""

from __future__ import annotations

import html
import re

from qa.events import CitedParagraph, Done
from qa.types import Citation, Paragraph


def paragraph_html(p: Paragraph, label: str, marks: tuple[str, ...] = ()) -> str:
    """One paragraph as a block, with each of ``marks`` (quotes) highlighted once."""
    text = html.escape(p.text)
    for mark in marks:
        quote = html.escape(mark)
        if quote and quote in text:
            text = text.replace(quote, f"<mark>{quote}</mark>", 1)
    page = f", p. {p.page}" if p.page else ""
    return (
        f"<div class='para {label}'><small>\u00b6 {p.number}{page}</small>"
        f"<div style='white-space:pre-wrap'>{text}</div></div>"
    )


def evidence_html(cited: list[CitedParagraph], notes: list[str], uncited: tuple[Paragraph, ...] = ()) -> str:
    """The evidence panel: each cited paragraph with its neighbours and aligned original, then
    the passages retrieved but not cited, then the answer's notes."""
    parts = []
    # One entry per paragraph, however many sentences cite it, each quote highlighted.
    groups: dict[tuple[int, int], list[CitedParagraph]] = {}
    for item in cited:
        groups.setdefault((item.citation.exhibit, item.citation.paragraph), []).append(item)
    for (ex, n), items in groups.items():
        item, p, c = items[0], items[0].paragraph, items[0].citation
        body = [paragraph_html(x, "context") for x in (item.before,) if x is not None]
        body.append(paragraph_html(p, "cited", tuple(i.citation.quote for i in items)))
        body += [paragraph_html(x, "context") for x in (item.after,) if x is not None]
        for other in item.aligned:
            label = "Chinese original" if other.lang == "zh" else "English translation"
            body.append(f"<div class='aligned'><b>{label}</b>{paragraph_html(other, 'aligned')}</div>")
        parts.append(
            f"<details class='cite' id='cite-{ex}-{n}' open><summary><b>{html.escape(c.render())}</b> "
            f"{html.escape(p.title)}</summary>{''.join(body)}</details>"
        )
    if uncited:
        rows = "".join(
            f"<li><b>{html.escape(Citation(x.exhibit, x.number, '').render())}</b> "
            f"{html.escape(' '.join(x.text.split())[:240])}</li>"
            for x in uncited
        )
        parts.append(
            f"<details class='uncited'><summary>Also retrieved ({len(uncited)})</summary><ul>{rows}</ul></details>"
        )
    if notes:
        parts.append("<ul class='notes'>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    return "\n".join(parts) or "<i>No citations.</i>"


_CHIP_RE = re.compile(r"\[Ex\. (\d+) \u00b6 (\d+)( \(Chinese original\))?\]")


def markdown_text(text: str) -> str:
    """Text for the chat's Markdown: markup shown as text, and each ``$`` written ``\\$``, which
    Markdown shows as ``$`` and Gradio never takes for a LaTeX delimiter (``$$``)."""
    return html.escape(text, quote=False).replace("$", "\\$")


def chat_text(text: str) -> str:
    """The answer for the chat (``markdown_text``), each pin cite a link that opens its
    paragraph in the evidence panel."""
    safe = markdown_text(text)
    return _CHIP_RE.sub(
        lambda m: (
            f"[\\[Ex. {m.group(1)} \u00b6 {m.group(2)}{m.group(3) or ''}\\]](#cite-{m.group(1)}-{m.group(2)})"
        ),
        safe,
    )


def answered_by(event: Done) -> str:
    """The line under an answer: support, mode, model, index date and the searched question."""
    a = event.answer
    model = f" \u00b7 {a.usage.model}" if a.usage is not None else ""
    index = f" \u00b7 record indexed {a.index}" if a.index else ""
    support = f"{a.support_label} (support {a.support:.2f}) \u00b7 " if a.support_label else ""
    searched = f"<sub>searched for: {markdown_text(a.searched)}</sub>\n\n" if a.searched else ""
    return f"\n\n{searched}<sub>{support}answered by {a.mode}{model}{index}</sub>"


def caution(event: Done) -> str:
    """Above an uncertain answer: what the figure means and where to look."""
    a = event.answer
    if not a.uncertain:
        return ""
    return (
        f"**Uncertain** (support {a.support:.2f}: answers scored like this are right less than "
        "7 times in 10). Check it against the closest passages in the evidence panel.\n\n"
    )
