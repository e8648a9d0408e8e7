"""The app in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Screenshots go to ``EXHIBITQA_ARTIFACTS`` (default ``build/test-artifacts``) for people to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qa.settings import Settings
from tests.conftest import ROOT, write

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("EXHIBITQA_ARTIFACTS", ROOT / "build" / "test-artifacts"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

if not Path(CHROMIUM).exists():
    if os.environ.get("EXHIBITQA_REQUIRE_BROWSER"):
        raise RuntimeError(f"EXHIBITQA_REQUIRE_BROWSER is set but there is no Chromium at {CHROMIUM}")
    pytest.skip("no Chromium (make test installs Debian's chromium)", allow_module_level=True)


def _launch(settings: Settings) -> Any:
    import app

    demo = app.build_demo(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return demo


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _ask(page: Any, url: str, question: str) -> None:
    page.goto(url)
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    page.wait_for_selector("#evidence details.cite, #evidence i", timeout=120_000)


def _ask_next(page: Any, question: str, shown_text: str, timeout_s: float = 120.0) -> Any:
    """Asks ``question`` in the open chat; the chat, once it shows ``shown_text``.

    The Ask button ignores a click while the previous answer's event is still finishing (Gradio's
    trigger mode "once"), and on a loaded machine that can outlast the last cite appearing: a
    dropped click is made again. A click that was taken is not repeated: the next one, made while
    its answer is pending, is ignored the same way.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    shown = page.locator("#chat", has_text=shown_text)
    deadline = time.monotonic() + timeout_s
    while True:
        page.locator("#question textarea").fill(question)
        page.locator("#ask").click()
        try:
            shown.wait_for(timeout=15_000)
            return shown
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise


def test_ask_click_a_cite_and_see_the_quote_highlighted(browser: Any, sample_settings: Settings) -> None:
    demo = _launch(sample_settings)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _ask(page, demo.local_url, "When did China become a member of the WTO?")
        chip = page.locator("a[href^='#cite-61-']").first
        chip.wait_for(timeout=60_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "answer-with-cites.png"), full_page=True)
        target = chip.get_attribute("href")
        assert target is not None
        chip.click()
        panel = page.locator(target)
        assert panel.is_visible()
        marks = panel.locator("mark").all_inner_texts()
        assert any("December 11, 2001" in m for m in marks), marks
        panel.screenshot(path=str(ARTIFACTS / "evidence-panel.png"))
    finally:
        demo.close()


def test_dollar_amounts_show_as_written_in_the_evidence_panel_and_the_chat(
    browser: Any, sample_settings: Settings
) -> None:
    import re

    demo = _launch(sample_settings)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _ask(
            page,
            demo.local_url,
            "What tariffs did the United States keep in place on Chinese imports after the Phase One Agreement?",
        )
        page.wait_for_selector("#evidence mark", timeout=60_000)
        marks = " ".join(page.locator("#evidence mark").all_inner_texts())
        evidence = page.locator("#evidence").inner_text()
        assert re.search(r"(?<!\\)\$370 billion", marks), marks
        assert re.search(r"(?<!\\)\$\d", evidence) and not re.search(r"\\\$", evidence), evidence
        chat = page.locator("#chat")
        chat.filter(has_text="answered by").wait_for(timeout=60_000)
        said = chat.inner_text()
        assert "$370 billion" in said and "\\$" not in said, said
        assert chat.locator(".katex").count() == 0  # no dollar sign taken for LaTeX
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dollar-amounts.png"), full_page=True)
    finally:
        demo.close()


def test_markup_in_an_exhibit_is_shown_as_text_and_never_runs(
    browser: Any, sample_settings: Settings, tmp_path: Path
) -> None:
    from index.store import build

    write(
        tmp_path / "src" / "Exhibit 1.txt",
        "EXHIBIT 1\n\nPort Notice\n\n"
        'The port of Tianjin handled 500 ships in 2019 <img src=x onerror="window.__pwned=1"> '
        "<script>window.__pwned=2</script> according to the port authority "
        "[see the notice](javascript:window.__pwned=3) and "
        '<a href="javascript:window.__pwned=4">the details</a>.\n',
    )
    settings = sample_settings.model_copy(update={"store": tmp_path / "store"})
    build([tmp_path / "src"], settings)
    demo = _launch(settings)
    try:
        page = browser.new_page()
        _ask(page, demo.local_url, "How many ships did the port of Tianjin handle in 2019?")
        page.wait_for_selector("#evidence mark", timeout=60_000)
        page.wait_for_timeout(500)
        assert page.evaluate("window.__pwned") is None
        assert "<img src=x" in page.locator("#evidence").inner_text()
        assert page.locator("#evidence img").count() == 0 and page.locator("#evidence script").count() == 0
        # The answer quotes the sentence in the chat, which renders Markdown: no live link may
        # come of it anywhere on the page, and clicking what is there runs nothing.
        assert "500 ships" in page.locator("#chat").inner_text()
        assert page.locator("a[href^='javascript' i]").count() == 0
        for link in page.locator("#chat a, #evidence a").all():
            if link.is_visible() and not (link.get_attribute("href") or "").startswith("#"):
                link.click(no_wait_after=True)
        page.wait_for_timeout(300)
        assert page.evaluate("window.__pwned") is None
        page.screenshot(path=str(ARTIFACTS / "escaped-markup.png"), full_page=True)
    finally:
        demo.close()


def test_a_followup_in_the_chat_is_answered_against_the_earlier_turn(
    browser: Any, sample_settings: Settings
) -> None:
    demo = _launch(sample_settings)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _ask(page, demo.local_url, "When did China become a member of the WTO?")
        page.locator("a[href^='#cite-61-']").first.wait_for(timeout=60_000)
        shown = _ask_next(page, "Who wrote that report?", "searched for: Who wrote that report")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "follow-up.png"), full_page=True)
        assert "WTO" in shown.inner_text()
        page.wait_for_selector("#evidence", timeout=60_000)
        notes = page.locator("#evidence").inner_text()
        assert "as the earlier question did" in notes, notes
    finally:
        demo.close()


def test_the_app_shows_a_dense_build_started_outside_it(browser: Any, tmp_path: Path) -> None:
    import json

    from index.atomic import current
    from index.progressive import PROGRESS
    from index.store import build

    record = tmp_path / "record"
    write(record / "Exhibit 7.txt", "Steel Report\n\nThe plant made 5 million tons of steel in 2020.\n")
    settings = Settings(store=tmp_path / "store", progressive_min_texts=0)

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    # What `exhibitqa index` leaves while it embeds: the lexical generation, serving.
    with pytest.raises(KeyboardInterrupt):
        build([record], settings, progress=stop)
    demo = _launch(settings)
    try:
        page = browser.new_page()
        page.goto(demo.local_url)
        status = page.locator("#index-status")
        status.filter(has_text="keyword search (BM25) while dense search is built").wait_for(timeout=30_000)
        gen = current(settings.store)
        assert gen is not None
        (gen / PROGRESS).write_text(json.dumps({"done": 2, "total": 5}), encoding="utf-8")
        status.filter(has_text="40% (2/5 texts)").wait_for(timeout=30_000)  # the page was not reloaded
        build([record], settings)  # the build finishes
        page.wait_for_function(
            "() => !document.querySelector('#index-status').innerText.includes('keyword search')",
            timeout=30_000,
        )
    finally:
        demo.close()
