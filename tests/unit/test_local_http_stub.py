"""The stub server under the local stand-ins takes load and bounds what it reads, like the API."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from local.http_server import LISTEN_BACKLOG, MIB, Limits
from local.http_stub import StubResponse, StubServer
from local.peers import InternalOrdersApi

LIMITS = Limits(read_timeout_seconds=0.5, max_target_length=1024, max_body_bytes=MIB)


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer(LIMITS) as server:
        server.route("POST", "/echo", lambda r: StubResponse(200, {"length": len(r.body)}))
        server.route("PATCH", "/things/1", lambda _: StubResponse(204))
        yield server


def address(stub: StubServer) -> tuple[str, int]:
    host, port = stub.url.split("//", 1)[1].split(":")
    return host, int(port)


def request(
    stub: StubServer, method: str, path: str, body: bytes | None = None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(*address(stub), timeout=10)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def raw(stub: StubServer, data: bytes) -> bytes:
    with socket.create_connection(address(stub), timeout=10) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


def test_the_stand_ins_take_a_burst_of_connections() -> None:
    with InternalOrdersApi() as internal:
        assert internal._server.request_queue_size == LISTEN_BACKLOG >= 128
        host, port = internal.url.split("//", 1)[1].split(":")

        def post(n: int) -> int:
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            try:
                connection.request("POST", "/orders", b"{}", {"Idempotency-Key": f"k-{n}"})
                return connection.getresponse().status
            finally:
                connection.close()

        with ThreadPoolExecutor(100) as pool:
            assert list(pool.map(post, range(100))) == [201] * 100


def test_a_body_shorter_than_its_content_length_is_a_400_after_the_read_timeout(
    stub: StubServer,
) -> None:
    answer = raw(stub, b"POST /echo HTTP/1.1\r\nContent-Length: 50\r\n\r\n{}")
    assert answer.startswith(b"HTTP/1.0 400 ")
    assert b"announced length" in answer
    assert stub.requests == []


def test_any_method_is_served(stub: StubServer) -> None:
    assert request(stub, "PATCH", "/things/1", b"{}")[0] == 204
    assert request(stub, "OPTIONS", "/things/1") == (404, b'{"error": "no stub route"}')
    assert request(stub, "HEAD", "/things/1") == (404, b"")
    assert [r.method for r in stub.requests] == ["PATCH", "OPTIONS", "HEAD"]


@pytest.mark.parametrize(("data", "status"), [
    (b"POST /echo HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", 413),
    (b"GET /" + b"a" * 1100 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nX-Big: " + b"v" * 70_000 + b"\r\n\r\n", 431),
    (b"POST /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
])  # fmt: skip
def test_a_request_over_the_limits_is_refused_with_a_json_error(
    stub: StubServer, data: bytes, status: int
) -> None:
    head, _, body = raw(stub, data).partition(b"\r\n\r\n")
    assert head.split()[1] == str(status).encode()
    assert "error" in json.loads(body)
    assert stub.requests == []


def test_a_body_over_the_limit_is_answered_not_reset(stub: StubServer) -> None:
    assert request(stub, "POST", "/echo", b"x" * MIB) == (200, b'{"length": 1048576}')
    status, body = request(stub, "POST", "/echo", b"x" * (MIB + 1))
    assert status == 413
    assert "larger than" in json.loads(body)["error"]


def test_non_ascii_header_values_are_recorded_not_fatal(stub: StubServer) -> None:
    answer = raw(
        stub,
        b"POST /echo HTTP/1.1\r\nContent-Length: 0\r\n"
        + "X-Name: José\r\n".encode()
        + b"X-Raw: \xff\xfe\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.0 200 ")
    [recorded] = stub.requests
    assert (recorded.headers["X-Name"], recorded.headers["X-Raw"]) == ("José", "\xff\xfe")
