"""The ``exhibitqa`` command, run as a real subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qa.settings import Settings
from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_ask_json(sample_settings: Settings) -> None:
    out = run(
        "--store", str(sample_settings.store), "ask", "When did China become a member of the WTO?", "--json"
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"question", "answer", "refused", "mode", "citations", "passages", "timings_ms"}
    assert data["refused"] is False and data["mode"] == "extractive"
    assert "December 11, 2001" in data["answer"]
    assert data["citations"] and all(c["verified"] for c in data["citations"])
    assert {"exhibit", "paragraph", "quote", "verified"} == set(data["citations"][0])
    assert {"exhibit", "paragraph", "score", "text"} == set(data["passages"][0])
    cited = {(c["exhibit"], c["paragraph"]) for c in data["citations"]}
    assert cited <= {(p["exhibit"], p["paragraph"]) for p in data["passages"]}
    assert 0.0 <= data["support"] <= 1.0
    assert data["support_label"] in {"well supported", "uncertain"}


def test_ask_prints_the_support_and_for_an_uncertain_answer_the_closest_passages(
    sample_settings: Settings,
) -> None:
    out = run("--store", str(sample_settings.store), "ask", "When did China become a member of the WTO?")
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.strip().startswith("support:"))
    assert re.fullmatch(r"\s*support: [01]\.\d\d, (well supported|uncertain.*)", line)
    if "uncertain" in line:
        assert "closest passages, for you to check:" in out.stdout


def test_ask_json_with_exhibit_filter(sample_settings: Settings) -> None:
    out = run(
        "--store", str(sample_settings.store), "ask", "Who signed the agreement?", "--exhibit", "67", "--json"
    )
    assert out.returncode == 0, out.stderr
    assert {p["exhibit"] for p in json.loads(out.stdout)["passages"]} == {67}


def test_show_and_exhibits(sample_settings: Settings) -> None:
    out = run("--store", str(sample_settings.store), "show", "61", "1")
    assert out.returncode == 0 and out.stdout.startswith("[Ex. 61 \u00b6 1]")
    out = run("--store", str(sample_settings.store), "exhibits")
    assert out.returncode == 0
    assert "2022 Report to Congress On China's WTO Compliance" in out.stdout
    assert len(out.stdout.strip().splitlines()) == 11


def test_a_reader_that_stops_early_gets_no_traceback(sample_settings: Settings) -> None:
    # `exhibitqa show 62 55 | head -3`: the pipe closes before the command writes.
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "--store", str(sample_settings.store), "show", "61", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=600)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 0


def test_errors_are_actionable_with_their_exit_codes(sample_settings: Settings, tmp_path: Path) -> None:
    out = run("--store", str(sample_settings.store), "show", "61", "99999")
    assert out.returncode == 2 and "Exhibit 61 has paragraphs 1-" in out.stderr
    out = run("--store", str(tmp_path / "none"), "ask", "anything")
    assert out.returncode == 1 and "exhibitqa index" in out.stderr  # no index: not a usage error
    assert "Traceback" not in out.stderr


def test_index_command_builds_and_is_idempotent(tmp_path: Path) -> None:
    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / "Exhibit 3.txt").write_text(
        "Title Line Here\n\nThe fleet had 12 ships.\n", encoding="utf-8"
    )
    store = str(tmp_path / "store")
    out = run("index", str(tmp_path / "rec"), "--store", store)
    assert out.returncode == 0, out.stderr
    assert "Indexed 1 exhibits, 2 paragraphs" in out.stdout
    out = run("index", str(tmp_path / "rec"), "--store", store)
    assert "up to date" in out.stdout


def test_a_refusal_shows_the_closest_passages(sample_settings: Settings) -> None:
    out = run(
        "--store",
        str(sample_settings.store),
        "ask",
        "What was the total value of Chinese steel exports to Vietnam in 2022?",
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "The exhibits do not answer this."
    assert "closest passages, for you to check:" in out.stdout
    shown = [ln for ln in lines if ln.startswith("    [Ex. ")]
    assert len(shown) == 3
    assert "note: the record never mentions Vietnam" in out.stdout


def test_local_server_status_when_none_runs(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "EXHIBITQA_LOCAL_MODEL_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "qa.cli", "local", "status"], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert out.returncode == 0 and out.stdout.strip() == "not running"


def test_help_documents_the_exit_codes() -> None:
    out = run("--help")
    assert out.returncode == 0
    assert (
        "exit status:" in out.stdout
        and "2  usage error" in out.stdout
        and "1  what the command" in out.stdout
    )


@pytest.mark.parametrize("question", ["", "\t\n"])
def test_an_empty_question_is_a_usage_error(sample_settings: Settings, question: str) -> None:
    out = run("--store", str(sample_settings.store), "ask", question)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.strip() == "error: Ask a question about the exhibits."


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["ask", "   "], 2, "Ask a question about the exhibits."),
        (["ask", "Who signed it?", "--exhibit", "999"], 2, "No exhibit 999 in this index"),
        (["ask", "Who signed it?", "--mode", "telepathy"], 2, "Unknown answer mode 'telepathy'"),
        (["ask", "Who signed it?", "--exhibit", "sixty"], 2, "invalid int value"),
        (["ask"], 2, "the following arguments are required: question"),
    ],
    ids=["empty", "unknown-exhibit", "unknown-mode", "bad-number", "no-question"],
)
def test_usage_errors_exit_2_and_json_stays_json(
    sample_settings: Settings, args: list[str], code: int, said: str
) -> None:
    out = run("--store", str(sample_settings.store), *args)
    assert out.returncode == code and said in out.stderr and out.stdout == "", out
    out = run("--store", str(sample_settings.store), *args, "--json")
    assert out.returncode == code and said in out.stderr
    assert json.loads(out.stdout) == {"error": json.loads(out.stdout)["error"], "exit_code": code}
    assert said in json.loads(out.stdout)["error"]


def test_a_refusal_exits_0_and_a_missing_index_1_also_in_json(
    sample_settings: Settings, tmp_path: Path
) -> None:
    question = "What was the total value of Chinese steel exports to Vietnam in 2022?"
    out = run("--store", str(sample_settings.store), "ask", question, "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["refused"] is True
    out = run("--store", str(tmp_path / "none"), "ask", question, "--json")
    assert out.returncode == 1
    assert "No index found" in json.loads(out.stdout)["error"] and "Traceback" not in out.stderr


def test_an_unreachable_chroma_server_exits_1(tmp_path: Path) -> None:
    import os
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / "Exhibit 1.txt").write_text("Some text to index.", encoding="utf-8")
    env = {**os.environ, "EXHIBITQA_CHROMA_URL": f"http://127.0.0.1:{port}"}
    out = subprocess.run(
        [sys.executable, "-m", "qa.cli", "index", str(tmp_path / "rec"), "--store", str(tmp_path / "s")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 1 and "Cannot reach the Chroma server" in out.stderr, out.stderr
