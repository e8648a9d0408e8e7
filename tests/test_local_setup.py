"""`make run` installs no local model (issue 17): choosing local mode without it says how to add it."""

from __future__ import annotations

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
