"""A scriptable HTTP server on 127.0.0.1: answers by route, records every request it gets.

The base of the local stand-ins for external APIs, and of the tests' HTTP peers."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass(frozen=True)
class StubResponse:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[RecordedRequest], StubResponse]


class StubServer:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._routes: list[tuple[str, re.Pattern[str], Responder]] = []
        self._scripts: list[tuple[str, re.Pattern[str], list[StubResponse]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def route(self, method: str, pattern: str, responder: Responder) -> None:
        """Answer every `method` request whose path fully matches `pattern`."""
        self._routes.append((method, re.compile(pattern), responder))

    def script(self, method: str, pattern: str, *responses: StubResponse) -> None:
        """Answer the next requests with `responses` in order, before the routes."""
        self._scripts.append((method, re.compile(pattern), list(responses)))

    def intercept(self, request: RecordedRequest) -> StubResponse | None:  # noqa: ARG002
        """Subclasses may answer before the routes (fault injection); None lets them answer."""
        return None

    def requests_to(self, method: str, pattern: str) -> list[RecordedRequest]:
        regex = re.compile(pattern)
        return [r for r in self.requests if r.method == method and regex.fullmatch(r.path)]

    def _answer(self, request: RecordedRequest) -> StubResponse:
        with self._lock:
            self.requests.append(request)
            for method, pattern, queued in self._scripts:
                if queued and method == request.method and pattern.fullmatch(request.path):
                    return queued.pop(0)
        intercepted = self.intercept(request)
        if intercepted is not None:
            return intercepted
        for method, pattern, responder in self._routes:
            if method == request.method and pattern.fullmatch(request.path):
                return responder(request)
        return StubResponse(404, {"error": "no stub route"})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = RecordedRequest(
                    method=self.command,
                    path=self.path,
                    headers=dict(self.headers.items()),
                    body=self.rfile.read(length) if length else b"",
                )
                response = stub._answer(request)
                if response.delay_seconds:
                    time.sleep(response.delay_seconds)
                body = response.encoded()
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in response.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and went away: that is the test's point

            do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815 - http.server names

            def log_message(self, *_: Any) -> None:
                return

        return Handler
