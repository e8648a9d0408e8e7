"""The app as its users run it (``python app.py`` in a process of its own): a free port, waiting
for it to answer, and its memory. Shared by the soak and the launched-app tests."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_for_app(proc: subprocess.Popen[Any], url: str, seconds: float = 120) -> None:
    """Until ``python app.py`` in ``proc`` answers at ``url`` (a login refusal counts as up)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url + "config", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # up, and refusing us without a login
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"the app exited: {proc.stderr.read() if proc.stderr else ''!r}") from None
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not start") from None
            time.sleep(0.5)
