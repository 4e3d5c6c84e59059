"""A scriptable HTTP server on 127.0.0.1: answers by route, records every request it gets.

The base of the local stand-ins for external APIs, and of the tests' HTTP peers. It takes load
as the local API does (`local.http_server`: a thread per connection, a listen backlog of
1024, bounded reads); a request over its limits (bodies up to 5 MiB) is answered
`{"error": ...}` with the matching 4xx, any method is served (an unrouted one is 404)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from local.http_server import BoundedRequestHandler, Limits, LocalHTTPServer

STUB_LIMITS = Limits()  # 10 s reads, 16 KiB request targets, 64 KiB of header values, 5 MiB bodies


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
    def __init__(self, limits: Limits = STUB_LIMITS) -> None:
        self.limits = limits
        self.requests: list[RecordedRequest] = []
        self._routes: list[tuple[str, re.Pattern[str], Responder]] = []
        self._scripts: list[tuple[str, re.Pattern[str], list[StubResponse]]] = []
        self._lock = threading.Lock()
        self._server = LocalHTTPServer(self._handler_class())
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

    def _handler_class(self) -> type[BoundedRequestHandler]:
        stub = self

        class Handler(BoundedRequestHandler):
            limits = stub.limits

            def handle_request(self) -> None:
                body = self.read_body()
                request = RecordedRequest(
                    method=self.command,
                    path=self.path,
                    headers=dict(self.header_items()),
                    body=body,
                )
                response = stub._answer(request)
                if response.delay_seconds:
                    time.sleep(response.delay_seconds)
                self.respond(
                    response.status,
                    [("Content-Type", "application/json"), *response.headers.items()],
                    response.encoded(),
                )

        return Handler
