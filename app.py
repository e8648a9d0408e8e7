"""Gradio chat over the record. Widgets only: the answers come from ``qa.events``."""

from __future__ import annotations

import argparse
import html
import os
import tempfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr

from qa.events import (
    AnswerText,
    CitedParagraph,
    Done,
    Failed,
    Note,
    Status,
    Uncited,
    ask_events,
    exhibit_choices,
)
from qa.export import to_docx, to_markdown
from qa.settings import Settings
from qa.types import Citation, Paragraph


def _para_html(p: Paragraph, label: str, mark: str = "") -> str:
    # Everything from the record is escaped: an exhibit may contain markup or script.
    text = html.escape(p.text)
    quote = html.escape(mark)
    if quote and quote in text:
        text = text.replace(quote, f"<mark>{quote}</mark>", 1)
    page = f", p. {p.page}" if p.page else ""
    return (
        f"<div class='para {label}'><small>\u00b6 {p.number}{page}</small>"
        f"<div style='white-space:pre-wrap'>{text}</div></div>"
    )


def _evidence_html(cited: list[CitedParagraph], notes: list[str], uncited: tuple[Paragraph, ...] = ()) -> str:
    parts = []
    for item in cited:
        p, c = item.paragraph, item.citation
        body = [_para_html(x, "context") for x in (item.before,) if x is not None]
        body.append(_para_html(p, "cited", c.quote))
        body += [_para_html(x, "context") for x in (item.after,) if x is not None]
        for other in item.aligned:
            label = "Chinese original" if other.lang == "zh" else "English translation"
            body.append(f"<div class='aligned'><b>{label}</b>{_para_html(other, 'aligned')}</div>")
        parts.append(
            f"<details class='cite' open><summary><b>{html.escape(c.render())}</b> "
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


def _memo(event: Done) -> tuple[str, list[str]]:
    """The answer with numbered footnotes, as text to copy and as .md and .docx downloads."""
    md = to_markdown(event.answer)
    folder = Path(tempfile.mkdtemp(prefix="exhibitqa-answer-"))
    (folder / "answer.md").write_text(md, encoding="utf-8")
    docx = to_docx(event.answer, folder / "answer.docx")
    return md, [str(folder / "answer.md"), str(docx)]


MODES = [
    ("Extractive (offline, verbatim sentences)", "extractive"),
    ("Local model (Qwen2.5-Coder-1.5B, llama.cpp)", "local"),
    ("OpenAI-compatible endpoint", "openai"),
]


def _answered_by(event: Done) -> str:
    a = event.answer
    model = f" \u00b7 {a.usage.model}" if a.usage is not None else ""
    return f"\n\n<sub>answered by {a.mode}{model}</sub>"


def respond(
    question: str,
    history: list[dict[str, Any]],
    exhibits: list[int] | None,
    mode: str = "",
    k: float | None = None,
    *,
    settings: Settings,
) -> Iterator[tuple[Any, ...]]:
    """Chat handler: renders the events of ``ask_events`` into the chat and the evidence panel."""
    update: dict[str, Any] = {}
    if mode:
        update["mode"] = mode
    if k:
        update["k"] = int(k)
    settings = settings.model_copy(update=update) if update else settings
    history = [*history, {"role": "user", "content": question}]
    memo = ""
    files: list[str] = []
    cited: list[CitedParagraph] = []
    notes: list[str] = []
    uncited: tuple[Paragraph, ...] = ()
    reply = ""
    for event in ask_events(question, exhibits=exhibits or None, settings=settings):
        if isinstance(event, Status):
            yield (
                "",
                [*history, {"role": "assistant", "content": f"*{event.text}*"}],
                _evidence_html(cited, notes),
                memo,
                files,
            )
        elif isinstance(event, AnswerText):
            reply = event.text
        elif isinstance(event, CitedParagraph):
            cited.append(event)
        elif isinstance(event, Uncited):
            uncited = event.paragraphs
        elif isinstance(event, Note):
            notes.append(event.text)
        elif isinstance(event, Failed):
            reply = f"**Cannot answer:** {event.message}"
        elif isinstance(event, Done):
            reply += _answered_by(event)
            memo, files = _memo(event)
    history.append({"role": "assistant", "content": reply})
    yield "", history, _evidence_html(cited, notes, uncited), memo, files


def build_demo(settings: Settings) -> gr.Blocks:
    with gr.Blocks(title="ExhibitQA") as demo:
        gr.Markdown("## ExhibitQA\nAsk the record; every answer cites `[Ex. N ¶ P]` with the quoted words.")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Answers", height=480)
                question = gr.Textbox(
                    label="Question", placeholder="Ask about the exhibits\u2026", elem_id="question"
                )
                ask_btn = gr.Button("Ask", variant="primary", elem_id="ask")
            with gr.Column(scale=2):
                exhibits = gr.Dropdown(
                    choices=exhibit_choices(settings),
                    multiselect=True,
                    label="Only these exhibits (optional)",
                )
                with gr.Row():
                    mode = gr.Dropdown(choices=MODES, value=settings.mode, label="Answer mode")
                    k = gr.Slider(1, 20, value=settings.k, step=1, label="Passages (k)")
                evidence = gr.HTML(label="Citations", elem_id="evidence")
                with gr.Accordion("Copy with footnotes", open=False):
                    memo = gr.Textbox(
                        label="Answer with numbered footnotes (Markdown)",
                        lines=6,
                        buttons=["copy"],
                        elem_id="memo",
                    )
                    downloads = gr.File(label="Download (.md, .docx)", file_count="multiple")
        handler = partial(respond, settings=settings)
        inputs = [question, chat, exhibits, mode, k]
        outputs = [question, chat, evidence, memo, downloads]
        ask_btn.click(handler, inputs, outputs, api_name="ask")
        question.submit(handler, inputs, outputs, api_visibility="private")
    return demo


# Module level so that `gradio app.py` (reload mode) finds it.
demo = build_demo(Settings())

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="ExhibitQA chat")
    ap.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    ap.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    args = ap.parse_args()
    demo.queue(default_concurrency_limit=2).launch(server_name=args.host, server_port=args.port, share=False)
