"""What every local HTTP server shares (the API and the external API stand-ins).

- A thread per connection and a listen backlog of `LISTEN_BACKLOG`, so a burst of connections
  queues instead of being reset (the standard library's backlog is 5).
- Bounded reads: the request head (request line and headers) must arrive within the read
  timeout of its first byte, and the body within the read timeout of the head, so a client
  that stalls, or sends less than its `Content-Length`, never holds a thread; an idle
  keep-alive connection is closed after the read timeout too.
- Caps on the request target, on the header values together, on the raw head as read and on
  the body. A request over a cap, or one that breaks HTTP, is refused with a `RequestRefusedError`
  the server words (`BoundedRequestHandler.error_payload`); the connection is then closed
  after the rest of what the client sends is read and dropped for a moment, so the client
  gets the answer rather than a reset.
- Header values are handed on UTF-8 decoded when they are UTF-8, otherwise one character per
  byte (Latin-1): never an error.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import time
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any

from local.http_body import CHUNK, MIB, BodyReading, Limits, RequestRefusedError

__all__ = [
    "MIB",
    "BoundedRequestHandler",
    "Limits",
    "LocalHTTPServer",
    "RequestRefusedError",
    "header_text",
]

LISTEN_BACKLOG = 1024
# After refusing a request: how long, and how much, of what the client still sends is read
# and dropped before the connection closes (closing on unread data makes the kernel reset it).
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 * MIB
log = logging.getLogger("local.http")


class LocalHTTPServer(ThreadingHTTPServer):
    """Loopback only, a free port, a thread per connection."""

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True

    def __init__(self, handler_class: type[BoundedRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler_class)

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002
        log.exception("unexpected error serving %s", client_address)


def header_text(value: str) -> str:
    """A header value as parsed (one character per byte) → UTF-8 decoded when it is UTF-8."""
    raw = value.encode("latin-1", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return value


def _wire_text(value: str) -> str:
    """A response header value that can be sent: no line breaks; UTF-8 bytes beyond Latin-1."""
    value = value.replace("\r", " ").replace("\n", " ")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8").decode("latin-1")
    return value


class BoundedRequestHandler(BodyReading):
    """Serves every method through `handle_request`, within `limits`."""

    _linger = False
    _responded = False

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.limits.read_timeout_seconds)

    # -- what subclasses provide ---------------------------------------------------------------

    def handle_request(self) -> None:
        raise NotImplementedError

    def error_payload(self, error: RequestRefusedError) -> tuple[str, bytes]:
        """Content type and body of the answer to a refused request."""
        return "application/json", json.dumps({"error": error.message}).encode()

    # -- what subclasses use -------------------------------------------------------------------

    def header_items(self) -> list[tuple[str, str]]:
        return [(name, header_text(str(value))) for name, value in self.headers.items()]

    def respond(
        self,
        status: int,
        headers: list[tuple[str, str]],
        payload: bytes,
        *,
        close: bool = False,
    ) -> None:
        """Send an answer; `Content-Length` is the payload's, no body for HEAD."""
        self._responded = True
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)

    def refuse(self, error: RequestRefusedError) -> None:
        content_type, payload = self.error_payload(error)
        # What the client still sends is read and dropped before closing, except when it
        # is the client that stalled.
        self._linger = error.kind != "body_incomplete"
        self.respond(error.status, [("Content-Type", content_type)], payload, close=True)

    # -- the protocol --------------------------------------------------------------------------

    def handle_one_request(self) -> None:
        try:
            self._serve_one()
        except RequestRefusedError as refused:
            if not self._responded:
                self.refuse(refused)
            self.close_connection = True
        except (TimeoutError, ConnectionError):
            # A head that stalls, an idle keep-alive connection, a client that went away.
            self.close_connection = True

    def _serve_one(self) -> None:
        self._responded = False
        self.connection.settimeout(self.limits.read_timeout_seconds)
        max_line = self.limits.max_target_length + 64  # method, spaces, version, CRLF
        self.raw_requestline = self.rfile.readline(max_line + 1)
        if not self.raw_requestline:
            self.close_connection = True
            return
        deadline = time.monotonic() + self.limits.read_timeout_seconds
        if len(self.raw_requestline) > max_line:
            self.requestline, self.request_version, self.command = "", "HTTP/1.1", ""
            raise RequestRefusedError(414, "uri_too_long", "the request URI is too long")
        block = self._read_head(deadline)
        connection_file = self.rfile
        self.rfile = io.BytesIO(block)  # parse_request reads the headers from rfile
        try:
            parsed = self.parse_request()
        finally:
            self.rfile = connection_file
        if not parsed:
            return
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
            raise RequestRefusedError(400, "malformed", "HTTP/0.9 requests are not served")
        if len(self.path) > self.limits.max_target_length:
            raise RequestRefusedError(414, "uri_too_long", "the request URI is too long")
        if sum(len(str(v)) for v in self.headers.values()) > self.limits.max_header_values_bytes:
            raise RequestRefusedError(
                431,
                "headers_too_large",
                f"HTTP header is larger than {self.limits.max_header_values_bytes} bytes.",
            )
        self.connection.settimeout(self.limits.read_timeout_seconds)
        self.handle_request()
        self.wfile.flush()

    def _read_head(self, deadline: float) -> bytes:
        lines: list[bytes] = []
        size = 0
        while True:
            self._timeout_until(deadline)
            line = self.rfile.readline(self.limits.max_head_bytes - size + 1)
            size += len(line)
            if size > self.limits.max_head_bytes:
                raise RequestRefusedError(
                    431, "headers_too_large", "the request headers are too large"
                )
            lines.append(line)
            if line in (b"\r\n", b"\n", b""):
                return b"".join(lines)

    # -- the standard library's hooks ----------------------------------------------------------

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:  # noqa: ARG002
        """What `parse_request` refuses (a bad request line or version, too many headers)."""
        status = int(code)
        kind = {414: "uri_too_long", 431: "headers_too_large"}.get(status, "malformed")
        if not getattr(self, "request_version", None) or self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # so that a status line is written
        self.refuse(RequestRefusedError(status, kind, message or HTTPStatus(status).phrase))

    def send_header(self, keyword: str, value: str) -> None:
        super().send_header(keyword, _wire_text(str(value)))

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        if self._linger:
            self._drain()

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            left = LINGER_BYTES
            while left > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.connection.settimeout(remaining)
                chunk = self.connection.recv(CHUNK)
                if not chunk:
                    return
                left -= len(chunk)

    def log_message(self, *_: Any) -> None:
        return
