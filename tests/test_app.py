"""The Gradio app, launched for real and driven over HTTP with gradio_client."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eval.procs import free_port as _free_port
from eval.procs import wait_for_app
from qa import render
from qa.settings import Settings


@pytest.fixture(scope="module")
def app_url(sample_settings: Settings) -> Iterator[str]:
    import app

    demo = app.build_demo(sample_settings)
    demo.queue().launch(
        server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True, quiet=True
    )
    try:
        yield str(demo.local_url)
    finally:
        demo.close()


def test_app_does_not_import_chromadb_or_openai() -> None:
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parent.parent / "app.py").read_text())
    imported = {
        (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    assert not {m for m in imported if m.split(".")[0] in {"chromadb", "openai"}}


def _hex_dirs(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if re.fullmatch(r"[0-9a-f]{40}", p.name)}


def test_chat_answers_with_cites_and_evidence(app_url: str) -> None:
    from gradio_client import Client

    system_temp = Path(os.environ.get("TMPDIR") or "/tmp")
    before = _hex_dirs(system_temp)
    client = Client(app_url, verbose=False)
    box, history, evidence, memo, files = client.predict(
        "When did China become a member of the WTO?", [], [], "extractive", 8, api_name="/ask"
    )
    # The client's downloads leave their empty directories inside pytest's temp dir (conftest).
    assert _hex_dirs(system_temp) <= before
    assert box == ""
    answer: dict[str, Any] = history[-1]
    assert answer["role"] == "assistant"
    content = str(answer["content"])
    assert "December 11, 2001" in content and "[Ex. 61 \u00b6" in content
    assert "<details" in evidence and "<mark>" in evidence
    assert "answered by extractive" in content
    assert "[^1]" in memo and "[^1]: Ex. 61 \u00b6" in memo and "December 11, 2001" in memo
    names = sorted(Path(str(f)).name for f in files)
    assert names == ["answer.docx", "answer.md"]


def test_a_mode_that_cannot_work_is_explained(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    _, history, *_ = client.predict("When did China join the WTO?", [], [], "openai", 8, api_name="/ask")
    content = str(history[-1]["content"])
    assert "**Cannot answer:** openai mode needs an endpoint" in content and "OPENAI_API_KEY" in content


def test_exhibit_filter_only_takes_exhibits_of_the_record(app_url: str) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(app_url, verbose=False)
    _, history, evidence, *_ = client.predict(
        "What did the steel and shipbuilding industries agree?", [], [67], "extractive", 8, api_name="/ask"
    )
    cites = re.findall(r"#cite-(\d+)-(\d+)", str(history[-1]["content"]))
    assert cites and {ex for ex, _ in cites} == {"67"}  # every cite from the chosen exhibit
    assert set(re.findall(r"\[Ex\. (\d+) \u00b6", evidence)) == {"67"}
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict("Who signed?", [], [99], "extractive", 8, api_name="/ask")


def test_a_named_exhibit_shows_the_filter_it_implied(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    _, history, evidence, *_ = client.predict(
        "In Exhibit 69, where was the cooperation meeting held?", [], [], "extractive", 8, api_name="/ask"
    )
    assert "searched only Exhibit 69, which the question names" in evidence
    assert set(re.findall(r"#cite-(\d+)-", str(history[-1]["content"]))) == {"69"}


def test_missing_index_is_explained_not_a_traceback(tmp_path: Any) -> None:
    import app

    replies = list(app.respond("Anything?", [], None, settings=Settings(store=tmp_path / "none")))
    content = str(replies[-1][1][-1]["content"])
    assert content.startswith("**Cannot answer:**") and "exhibitqa index" in content


def test_evidence_shows_context_the_aligned_original_and_uncited_passages(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    _, history, evidence, *_ = client.predict(
        "By how much did China plan to reduce crude steel production capacity starting in 2016?",
        [],
        [],
        "extractive",
        8,
        api_name="/ask",
    )
    assert "(#cite-62-11)" in str(history[-1]["content"])
    assert "<b>Chinese original</b>" in evidence and "1亿—1.5亿吨" in evidence
    assert "\u00b6 10" in evidence and "\u00b6 12" in evidence  # the paragraphs before and after
    assert "Also retrieved (" in evidence


def test_exhibit_text_is_escaped_in_the_evidence_panel() -> None:
    from qa.events import CitedParagraph
    from qa.types import Citation, Paragraph

    hostile = "Steel <img src=x onerror=alert(1)> and <script>alert(2)</script> exports rose."
    p = Paragraph(70, 3, hostile, "en", 0, len(hostile), title="<b>T</b>")
    out = render.evidence_html([CitedParagraph(Citation(70, 3, "exports rose", True), p)], ["<i>n</i>"], (p,))
    assert "<img" not in out and "<script" not in out and "<i>n</i>" not in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out and "<mark>exports rose</mark>" in out


def test_exhibits_tab_browses_searches_and_jumps(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    whole = client.predict(69, "", "", api_name="/browse")
    assert whole.count("class='para") >= 20 and "\u00b6 1<" in whole
    found = client.predict(69, "Nantong", "", api_name="/browse")
    assert "paragraph(s) contain \u201cNantong\u201d" in found and found.count("class='para") < whole.count(
        "class='para"
    )
    jumped = client.predict(None, "", "62 \u00b6 11", api_name="/browse")
    assert "class='jumped'" in jumped and "100 million to 150 million tons" in jumped
    assert jumped.count("class='para") == 7  # \u00b6 8-14: three either side
    assert "Cannot jump" in client.predict(None, "", "sixty-one", api_name="/browse")
    assert "has paragraphs 1\u2013" in client.predict(None, "", "69 \u00b6 999", api_name="/browse")


def test_python_app_py_honours_the_port_variable_and_auth(sample_settings: Settings) -> None:
    import os
    import subprocess
    import sys
    import urllib.request

    from gradio_client import Client

    from tests.conftest import ROOT

    port = _free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "EXHIBITQA_STORE": str(sample_settings.store),
        "EXHIBITQA_AUTH": "counsel:s3cret",
    }
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_app(proc, url)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "config", timeout=10)
        assert refused.value.code == 401  # nothing of the record without a login
        call = urllib.request.Request(
            url + "gradio_api/call/ask",
            data=json.dumps({"data": ["When did China join the WTO?", [], [], "extractive", 8]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused_api:
            urllib.request.urlopen(call, timeout=10)
        assert refused_api.value.code in (401, 403)  # nor of its API
        with pytest.raises(Exception):  # noqa: B017 - any refusal will do; a result would not
            Client(url, verbose=False).predict(
                "When did China join the WTO?", [], [], "extractive", 8, api_name="/ask"
            )
        assert _listening_addresses(port) == {"127.0.0.1"}  # loopback only unless told otherwise
        client = Client(url, auth=("counsel", "s3cret"), verbose=False)
        _, history, *_ = client.predict(
            "When did China become a member of the WTO?", [], [], "extractive", 8, api_name="/ask"
        )
        assert "December 11, 2001" in str(history[-1]["content"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _listening_addresses(port: int) -> set[str]:
    """The local addresses the kernel has a listening TCP socket on ``port`` for (Linux)."""
    import ipaddress
    from pathlib import Path

    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(addr)
                # /proc prints each 32-bit word in host (little-endian) order.
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, size, 4))
                found.add(str(ipaddress.ip_address(words)))
    return found


def test_auth_must_have_both_parts() -> None:
    import app

    with pytest.raises(SystemExit, match="user:password"):
        app.auth_pair(Settings(auth="justauser"))
    assert app.auth_pair(Settings(auth="a:b:c")) == ("a", "b:c")
    assert app.auth_pair(Settings()) is None


def test_upload_an_exhibit_and_ask_about_it(sample_settings: Settings, tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    import app
    from index.store import build
    from tests.conftest import write

    write(
        tmp_path / "src" / "Exhibit 1.txt",
        "EXHIBIT 1\n\nPort Notice\n\nThe port of Tianjin handled 500 ships in 2019.\n",
    )
    settings = sample_settings.model_copy(update={"store": tmp_path / "store"})
    build([tmp_path / "src"], settings)
    demo = app.build_demo(settings)
    demo.queue().launch(
        server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True, quiet=True
    )
    try:
        client = Client(str(demo.local_url), verbose=False)
        upload = write(
            tmp_path / "in" / "rail.txt", "Rail Notice\n\nThe Harbin rail yard loaded 70 trains in 2020.\n"
        )
        status, *_ = client.predict(handle_file(str(upload)), 7, api_name="/add_exhibit")
        assert status.startswith("Added Exhibit 7 (rail.txt)")
        _, history, *_ = client.predict(
            "How many trains did the Harbin rail yard load in 2020?",
            [],
            [7],
            "extractive",
            8,
            api_name="/ask",
        )
        assert "(#cite-7-2)" in str(history[-1]["content"])  # searchable without a restart
        status, *_ = client.predict(handle_file(str(upload)), 1, api_name="/add_exhibit")
        assert status.startswith("**Not added:**") and "Exhibit 1 is already in the record" in status
    finally:
        demo.close()


@pytest.mark.parametrize(
    ("support", "refused", "caution", "label"),
    [
        (0.91, False, "", "well supported (support 0.91)"),
        (0.42, False, "**Uncertain** (support 0.42", "uncertain (support 0.42)"),
        (0.02, True, "", "not supported (support 0.02)"),
        (None, False, "", "answered by"),
    ],
)
def test_the_chat_states_the_answers_support(
    support: float | None, refused: bool, caution: str, label: str
) -> None:
    from qa.events import Done
    from qa.types import Answer

    event = Done(Answer("q", "a", (), (), refused, "extractive", "h", support=support))
    assert render.caution(event).startswith(caution) and (caution or render.caution(event) == "")
    assert label in render.answered_by(event)
