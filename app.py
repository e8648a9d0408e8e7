"""Gradio chat over the record. Widgets only: the answers come from ``qa.events``."""

from __future__ import annotations

import argparse
import ctypes
import html
import os
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr

from index.progressive import build_status
from qa.browse import exhibit_paragraphs, parse_jump
from qa.errors import ExhibitQAError
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
from qa.export import downloads_folder, write_downloads
from qa.render import answered_by, caution, chat_text, evidence_html, paragraph_html
from qa.settings import Settings
from qa.types import Answer, Paragraph
from qa.uploads import ALLOWED, add_exhibit


def _memo(event: Done) -> tuple[str, list[str]]:
    """The answer with numbered footnotes, as text to copy and as .md and .docx downloads."""
    text, md, docx = write_downloads(event.answer, downloads_folder())
    return text, [str(md), str(docx)]


_BROWSE_LIMIT = 200
# How often the app looks at the store for a dense build's progress.
_STATUS_EVERY_S = 2.0


def browse(exhibit: int | None, search: str, jump: str, *, settings: Settings) -> str:
    """The Exhibits tab: an exhibit's numbered paragraphs, a search within it, or a jump."""
    target = parse_jump(jump) if jump.strip() else None
    if jump.strip() and target is None:
        return f"<p><b>Cannot jump to \u201c{html.escape(jump)}\u201d.</b> Type it like 61 \u00b6 12 or 61.12.</p>"
    if target is not None:
        exhibit = target[0]
    if exhibit is None:
        return "<i>Choose an exhibit, or jump to a paragraph such as 61 \u00b6 12.</i>"
    try:
        paras = exhibit_paragraphs(settings, int(exhibit), "" if target else search)
    except ExhibitQAError as e:
        return f"<p><b>{html.escape(str(e))}</b></p>"
    if target is not None:
        if all(p.number != target[1] for p in paras):
            return f"<p><b>Exhibit {exhibit} has paragraphs 1\u2013{paras[-1].number}.</b></p>"
        paras = [p for p in paras if abs(p.number - target[1]) <= 3]
    shown = paras[:_BROWSE_LIMIT]
    rows = []
    for p in shown:
        block = paragraph_html(p, "para")
        if p.boilerplate:
            block = block.replace("</small>", " \u00b7 web boilerplate</small>", 1)
        if target and p.number == target[1]:
            block = (
                f"<div class='jumped' style='border-left:4px solid #f59e0b;padding-left:6px'>{block}</div>"
            )
        rows.append(block)
    more = (
        f"<p><i>{len(paras) - len(shown)} more paragraphs: search or jump to see them.</i></p>"
        if len(paras) > len(shown)
        else ""
    )
    found = (
        f"<p>{len(paras)} paragraph(s) contain \u201c{html.escape(search)}\u201d.</p>"
        if search and not target
        else ""
    )
    return found + "".join(rows) + more


def add_exhibit_ui(
    file: str | None, number: float | None, *, settings: Settings
) -> Iterator[tuple[Any, ...]]:
    """The Add-exhibits tab: index an uploaded file in the background, reporting progress."""
    no_change = (gr.update(), gr.update())
    if not file:
        yield ("Choose a file (PDF, TXT, MD, HTML or DOCX).", *no_change)
        return
    if number is None or int(number) != number:
        yield ("Give the exhibit a whole number.", *no_change)
        return
    state: dict[str, Any] = {"done": 0, "total": 0}

    def work() -> None:
        try:
            state["result"] = add_exhibit(
                settings, Path(file), int(number), progress=track, on_lexical=lambda: state.update(lexical=1)
            )
        except Exception as e:  # shown to the user; nothing was changed
            state["error"] = e

    def track(done: int, total: int) -> None:
        state["done"], state["total"] = done, total

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.5)
        if state.get("lexical"):
            # A progressive build: the exhibit can be asked about (BM25) while its vectors are made;
            # the exhibit lists take it once, when that starts.
            choices = exhibit_choices(settings) if state["lexical"] == 1 else None
            state["lexical"] = 2
            lists = (gr.update(choices=choices),) * 2 if choices is not None else no_change
            yield (
                f"Exhibit {int(number)} can be asked about now (keyword search); embedding it for "
                f"dense search\u2026 {state['done']}/{state['total']}",
                *lists,
            )
        elif state["total"]:
            yield (
                f"Indexing Exhibit {int(number)}\u2026 {state['done']}/{state['total']} embedded",
                *no_change,
            )
        else:
            yield (f"Reading Exhibit {int(number)}\u2026", *no_change)
    if "error" in state:
        yield (f"**Not added:** {html.escape(str(state['error']))}", *no_change)
        return
    summary, warnings = state["result"]
    text = summary + "".join(f"\n- warning: {html.escape(w)}" for w in warnings)
    choices = exhibit_choices(settings)
    yield (text, gr.update(choices=choices), gr.update(choices=choices))


MODES = [
    ("Extractive (offline, verbatim sentences)", "extractive"),
    ("Extractive, checked by the local model", "extractive+check"),
    ("Local model (Qwen2.5-Coder-1.5B, llama.cpp)", "local"),
    ("OpenAI-compatible endpoint", "openai"),
]


def respond(
    question: str,
    history: list[dict[str, Any]],
    exhibits: list[int] | None,
    mode: str = "",
    k: float | None = None,
    turns: list[Answer] | None = None,
    *,
    settings: Settings,
) -> Iterator[tuple[Any, ...]]:
    """Chat handler: renders the events of ``ask_events`` into the chat and the evidence panel.

    ``turns`` are this conversation's earlier answers (a session State, cleared with the chat):
    a follow-up is answered against them."""
    turns = list(turns or [])
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
    for event in ask_events(question, exhibits=exhibits or None, settings=settings, history=turns):
        if isinstance(event, Status):
            yield (
                "",
                [*history, {"role": "assistant", "content": f"*{event.text}*"}],
                evidence_html(cited, notes),
                memo,
                files,
                turns,
            )
        elif isinstance(event, AnswerText):
            reply = chat_text(event.text)
            if event.partial:  # verified sentences appear while the model is still writing
                yield (
                    "",
                    [*history, {"role": "assistant", "content": reply + " \u2026"}],
                    "",
                    memo,
                    files,
                    turns,
                )
        elif isinstance(event, CitedParagraph):
            cited.append(event)
        elif isinstance(event, Uncited):
            uncited = event.paragraphs
        elif isinstance(event, Note):
            notes.append(event.text)
        elif isinstance(event, Failed):
            reply = f"**Cannot answer:** {event.message}"
        elif isinstance(event, Done):
            reply = caution(event) + reply + answered_by(event)
            memo, files = _memo(event)
            turns.append(event.answer)
    history.append({"role": "assistant", "content": reply})
    yield "", history, evidence_html(cited, notes, uncited), memo, files, turns


def build_demo(settings: Settings) -> gr.Blocks:
    # Gradio keeps a copy of every download it served; a day's worth is kept, checked hourly.
    with gr.Blocks(title="ExhibitQA", delete_cache=(3600, 86400)) as demo:
        gr.Markdown("## ExhibitQA\nAsk the record; every answer cites `[Ex. N ¶ P]` with the quoted words.")
        # A build started outside the app (`make run`, `exhibitqa index`) is known from its files.
        building = gr.Markdown(build_status(Path(settings.store)), elem_id="index-status")
        gr.Timer(_STATUS_EVERY_S).tick(
            lambda: build_status(Path(settings.store)), None, building, api_visibility="private"
        )
        with gr.Tab("Ask"), gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Answers", height=480, elem_id="chat")
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
        with gr.Tab("Exhibits"):
            with gr.Row():
                which = gr.Dropdown(
                    choices=exhibit_choices(settings), label="Exhibit", elem_id="browse-exhibit"
                )
                within = gr.Textbox(label="Search within it", elem_id="browse-search")
                jump = gr.Textbox(label="Jump to", placeholder="61 \u00b6 12", elem_id="browse-jump")
            page = gr.HTML(elem_id="browse-view")
            show = partial(browse, settings=settings)
            for trigger in (which.change, within.submit, jump.submit):
                trigger(show, [which, within, jump], page, api_visibility="private")
            gr.Button("Show", elem_id="browse-show").click(
                show, [which, within, jump], page, api_name="browse"
            )
        with gr.Tab("Add exhibits"):
            upload = gr.File(
                label=f"Exhibit file ({', '.join(ALLOWED)}; up to {settings.upload_max_mb} MB)",
                file_types=list(ALLOWED),
                elem_id="upload",
            )
            number = gr.Number(label="Exhibit number", precision=0, elem_id="upload-number")
            add_status = gr.Markdown(elem_id="upload-status")
            gr.Button("Add and index", elem_id="upload-add").click(
                partial(add_exhibit_ui, settings=settings),
                [upload, number],
                [add_status, exhibits, which],
                api_name="add_exhibit",
            )
        # The conversation's Answers, for follow-ups; a State is per browser session and is not
        # part of the HTTP API (an API caller's question stands alone).
        turns = gr.State([])
        chat.clear(lambda: [], None, turns, api_visibility="private")
        handler = partial(respond, settings=settings)
        inputs = [question, chat, exhibits, mode, k, turns]
        outputs = [question, chat, evidence, memo, downloads, turns]
        ask_btn.click(handler, inputs, outputs, api_name="ask")
        question.submit(handler, inputs, outputs, api_visibility="private")
    return demo


def auth_pair(settings: Settings) -> tuple[str, str] | None:
    """(user, password) from ``EXHIBITQA_AUTH=user:password``, or None for no login."""
    if settings.auth is None:
        return None
    user, sep, password = settings.auth.get_secret_value().partition(":")
    if not sep or not user or not password:
        raise SystemExit("EXHIBITQA_AUTH must look like user:password (both parts non-empty).")
    return user, password


# Module level so that `gradio app.py` (reload mode) finds it.
SETTINGS = Settings()
demo = build_demo(SETTINGS)


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas before the server's worker threads start.

    glibc gives threads that allocate at once arenas of their own (up to 8 a core), and the
    memory freed in them is rarely returned: under 20 simulated users the app grew from 441 to
    717 MB over 150 s with the default, and levelled off at ~510 MB with 2 arenas (tests/test_load.py).
    """
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(-8, arenas))  # -8: M_ARENA_MAX
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
        return False


if __name__ == "__main__":
    limit_malloc_arenas()
    ap = argparse.ArgumentParser(description="ExhibitQA chat")
    ap.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    ap.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    args = ap.parse_args()
    # Never share=True: the record may be confidential; binding beyond loopback is a choice.
    demo.queue(default_concurrency_limit=2).launch(
        server_name=args.host, server_port=args.port, share=False, auth=auth_pair(SETTINGS)
    )
