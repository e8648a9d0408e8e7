"""A scripted OpenAI-compatible HTTP server for tests: real sockets, real wire protocol.

It speaks ``POST /v1/chat/completions`` (JSON, and server-sent events when ``stream`` is true,
with chunked transfer encoding as OpenAI sends it) and ``GET /v1/models``. Each request takes
the next scripted ``Reply``; every request body is recorded for assertions.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """What the server does with one request."""

    content: str = ""
    status: int = 200
    delay: float = 0.0  # seconds before the first byte
    cut_after: int | None = None  # stream: drop the connection after this many content chunks
    finish_reason: str = "stop"
    usage: tuple[int, int] = (120, 30)
    chunk_chars: int = 12
    chunk_delay: float = 0.0  # stream: seconds before each content chunk (a slow, trickling model)
    headers: tuple[tuple[str, str], ...] = ()  # extra response headers, e.g. Retry-After
    echo_key: bool = False  # an error message that quotes the key, as some servers' 401s do
    # Non-streamed replies to a request asking for logprobs: the first token's alternatives
    # as (token, logprob), most likely first; the first one is the token sent.
    top_logprobs: tuple[tuple[str, float], ...] = ()


class FakeOpenAI:
    """The server; use as a context manager. ``base_url`` ends in ``/v1``."""

    def __init__(
        self,
        replies: list[Reply] | None = None,
        default: Reply | Callable[[dict], Reply] | None = None,
        embed: Callable[[list[str]], list[list[float]]] | None = None,
    ):
        self.embed = embed
        self.replies = list(replies or [])
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            if self.replies:
                return self.replies.pop(0)
        if callable(self.default):
            return self.default(body)
        return self.default or Reply('{"sentences": []}')

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _json(
                self, status: int, payload: dict[str, Any], headers: tuple[tuple[str, str], ...] = ()
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") == "/v1/embeddings" and fake.embed is not None:
                    with fake._lock:
                        fake.requests.append(body)
                    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    vectors = fake.embed(texts)
                    self._json(
                        200,
                        {
                            "object": "list",
                            "model": body.get("model", "fake"),
                            "data": [
                                {"object": "embedding", "index": i, "embedding": v}
                                for i, v in enumerate(vectors)
                            ],
                            "usage": {"prompt_tokens": 1, "total_tokens": 1},
                        },
                    )
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "not found"}})
                    return
                reply = fake._next(body)
                time.sleep(reply.delay)
                if reply.status != 200:
                    self._json(
                        reply.status,
                        {
                            "error": {
                                "message": (
                                    "Incorrect API key provided: "
                                    + self.headers.get("Authorization", "").removeprefix("Bearer ")
                                    if reply.echo_key
                                    else f"scripted {reply.status}"
                                ),
                                "type": "server_error",
                            }
                        },
                        reply.headers,
                    )
                    return
                if body.get("stream"):
                    # The client may hang up first (a test's timeout): nothing is left to send then.
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self._stream(body, reply)
                else:
                    self._json(200, _completion(body, reply))

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                model = body.get("model", "fake")
                pieces = [
                    reply.content[i : i + reply.chunk_chars]
                    for i in range(0, len(reply.content), reply.chunk_chars)
                ]
                for n, piece in enumerate(pieces):
                    if reply.cut_after is not None and n >= reply.cut_after:
                        # A connection lost mid-answer: no final chunk, no [DONE].
                        self.close_connection = True
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        return
                    time.sleep(reply.chunk_delay)
                    self._chunk(_sse(_delta(model, {"content": piece}, None)))
                self._chunk(_sse(_delta(model, {}, reply.finish_reason)))
                if (body.get("stream_options") or {}).get("include_usage"):
                    usage_chunk = _delta(model, None, None)
                    usage_chunk["usage"] = _usage(reply)
                    self._chunk(_sse(usage_chunk))
                self._chunk(b"data: [DONE]\n\n")
                self._chunk(b"")

        return Handler


def _usage(reply: Reply) -> dict[str, int]:
    p, c = reply.usage
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _delta(model: str, delta: dict[str, Any] | None, finish: str | None) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _logprobs(body: dict[str, Any], reply: Reply) -> dict[str, Any] | None:
    if not body.get("logprobs") or not reply.top_logprobs:
        return None
    top = [
        {"token": t, "logprob": lp, "bytes": list(t.encode())}
        for t, lp in reply.top_logprobs[: int(body.get("top_logprobs") or 1)]
    ]
    return {"content": [{**top[0], "top_logprobs": top}], "refusal": None}


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": reply.finish_reason,
                "logprobs": _logprobs(body, reply),
            }
        ],
        "usage": _usage(reply),
    }
