"""A planted API key must never surface: not in answers, notes, logs, CLI output or eval reports."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from qa import ask
from qa.answering.llm import redact
from qa.settings import Settings
from tests.conftest import ROOT
from tests.fake_openai import FakeOpenAI, Reply

PLANTED = "sk-planted-7f3a9c1e5b2d4086aa11"
QUESTION = "When did China become a member of the WTO?"


def _leaks(text: str) -> list[str]:
    """Pieces of the planted key (8+ characters) found in ``text``."""
    return [PLANTED[i : i + 8] for i in range(len(PLANTED) - 7) if PLANTED[i : i + 8] in text]


def test_an_echoed_key_is_masked_in_notes_logs_and_the_answer(
    sample_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeOpenAI([Reply(status=401, echo_key=True)]) as fake:
        settings = sample_settings.model_copy(
            update={"mode": "openai", "llm_base_url": fake.base_url, "llm_api_key": SecretStr(PLANTED)}
        )
        answer = ask(QUESTION, settings=settings)
        assert fake.requests  # the key did go where it belongs: to the endpoint
    assert answer.mode == "extractive" and any("HTTP 401" in n for n in answer.notes)
    everything = repr(answer) + caplog.text + repr(settings) + settings.model_dump_json()
    assert _leaks(everything) == [], _leaks(everything)
    assert settings.hash() == settings.model_copy(update={"llm_api_key": SecretStr("other")}).hash()


def test_the_command_line_and_the_eval_report_never_print_the_key(
    sample_settings: Settings, tmp_path: Path
) -> None:
    with FakeOpenAI([], default=Reply(status=401, echo_key=True)) as fake:
        env = {**os.environ, "OPENAI_API_KEY": PLANTED, "OPENAI_BASE_URL": fake.base_url}
        common = ["--store", str(sample_settings.store), "--mode", "openai"]
        asked = subprocess.run(
            [sys.executable, "-m", "qa.cli", "ask", QUESTION, "--json", *common],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        evaluated = subprocess.run(
            [sys.executable, "-m", "qa.cli", "eval", "--limit", "2", "--out", str(tmp_path / "rep"), *common],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["mode"] == "extractive"
    assert evaluated.returncode == 0, evaluated.stderr
    outputs = asked.stdout + asked.stderr + evaluated.stdout + evaluated.stderr
    outputs += "".join(
        p.read_text(errors="replace") for p in (tmp_path / "rep").iterdir() if p.suffix != ".png"
    )
    assert _leaks(outputs) == []


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"Incorrect API key provided: {PLANTED}", "Incorrect API key provided: ***"),
        # OpenAI-style masking keeps the ends; a piece under 8 characters identifies nothing.
        (f"key {PLANTED[:12]}...{PLANTED[-6:]} rejected", f"key ***...{PLANTED[-6:]} rejected"),
        ("Incorrect API key provided: sk-proj-abcd****wxyz", "Incorrect API key provided: ***"),
        ("HTTP 500: upstream failure", "HTTP 500: upstream failure"),
    ],
)
def test_redact(text: str, shown: str) -> None:
    assert redact(text, PLANTED) == shown
