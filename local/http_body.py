"""Reading a request body within limits and a deadline: `Content-Length` or chunked, refused
with a `RequestRefusedError` when it is too large, malformed, or slower than the read timeout."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

MIB = 1024 * 1024
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    read_timeout_seconds: float = 10.0
    max_target_length: int = 16384  # characters of the request target (path and query)
    max_header_values_bytes: int = 65536  # every header value, together
    max_head_bytes: int = 128 * 1024  # the header block as read (names, values, line ends)
    max_body_bytes: int = 5 * MIB


class RequestRefusedError(Exception):
    """A request the server will not serve. `kind`: `uri_too_long`, `headers_too_large`,
    `body_too_large`, `body_incomplete` (shorter than announced, or too slow), `body_malformed`
    (a bad `Content-Length` or chunk), `malformed` (the request line or headers)."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


class BodyReading(BaseHTTPRequestHandler):
    limits: ClassVar[Limits] = Limits()

    def read_body(self) -> bytes:
        """The request body (`Content-Length` or chunked), within the limits and the read
        timeout; `RequestRefusedError` otherwise."""
        deadline = time.monotonic() + self.limits.read_timeout_seconds
        try:
            encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
            if encoding:
                if encoding != "chunked":
                    raise RequestRefusedError(
                        400, "body_malformed", f"unsupported Transfer-Encoding {encoding!r}"
                    )
                self.close_connection = True  # whatever Content-Length also said
                return self._read_chunked(deadline)
            lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
            if not lengths:
                return b""
            if len(lengths) > 1 or not next(iter(lengths)).isdigit():
                raise RequestRefusedError(400, "body_malformed", "invalid Content-Length")
            length = int(lengths.pop())
            if length > self.limits.max_body_bytes:
                raise RequestRefusedError(
                    413,
                    "body_too_large",
                    f"the body is larger than {self.limits.max_body_bytes} bytes",
                )
            return self._read_exactly(length, deadline)
        finally:
            with contextlib.suppress(OSError):
                self.connection.settimeout(self.limits.read_timeout_seconds)

    def _timeout_until(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.connection.settimeout(remaining)

    def _read_exactly(self, length: int, deadline: float) -> bytes:
        parts: list[bytes] = []
        left = length
        try:
            while left > 0:
                self._timeout_until(deadline)
                chunk = self.rfile.read1(min(left, CHUNK))
                if not chunk:
                    break
                parts.append(chunk)
                left -= len(chunk)
        except TimeoutError:
            pass
        if left > 0:
            raise RequestRefusedError(
                400,
                "body_incomplete",
                f"the request body ended before its announced length ({length} bytes)",
            )
        return b"".join(parts)

    def _read_chunked(self, deadline: float) -> bytes:
        body = bytearray()
        while True:
            size = self._chunk_size(deadline)
            if size == 0:
                for _ in range(100):  # trailers
                    if self._line(deadline, 8192) in (b"\r\n", b"\n"):
                        return bytes(body)
                raise RequestRefusedError(400, "body_malformed", "too many trailer lines")
            if len(body) + size > self.limits.max_body_bytes:
                raise RequestRefusedError(
                    413,
                    "body_too_large",
                    f"the body is larger than {self.limits.max_body_bytes} bytes",
                )
            body += self._read_exactly(size, deadline)
            if self._line(deadline, 2) not in (b"\r\n", b"\n"):
                raise RequestRefusedError(400, "body_malformed", "a chunk is longer than its size")

    def _chunk_size(self, deadline: float) -> int:
        text = self._line(deadline, 1024).split(b";", 1)[0].strip()
        try:
            size = int(text, 16)
        except ValueError:
            size = -1
        if size < 0 or not text:
            raise RequestRefusedError(400, "body_malformed", "invalid chunk size")
        return size

    def _line(self, deadline: float, limit: int) -> bytes:
        try:
            self._timeout_until(deadline)
            line = self.rfile.readline(limit + 1)
        except TimeoutError:
            line = b""
        if not line:
            raise RequestRefusedError(
                400, "body_incomplete", "the chunked request body ended early"
            )
        if not line.endswith(b"\n"):
            raise RequestRefusedError(400, "body_malformed", "a chunk line is too long")
        return line
