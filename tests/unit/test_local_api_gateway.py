"""The local REST API takes load as API Gateway would: a burst of connections, slow or stalled
clients, chunked bodies, keep-alive, headers either way, a failed invoke answered by the
gateway, and the OpenAPI document at the root."""

from __future__ import annotations

import http.client
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local.api_gateway import LocalApi
from local.http_server import LISTEN_BACKLOG
from tests.support.local_api import (
    READ_TIMEOUT,
    FakeFunction,
    address,
    error_code,
    exchange,
    request,
)


def test_the_listen_backlog_takes_a_burst(api: LocalApi, function: FakeFunction) -> None:
    assert api.listen_backlog == LISTEN_BACKLOG >= 128

    def post(n: int) -> int:
        return request(api, "POST", "/dev/webhooks/qualia", f'{{"n": {n}}}'.encode())[0]

    with ThreadPoolExecutor(100) as pool:
        statuses = list(pool.map(post, range(100)))

    assert statuses == [202] * 100
    assert len(function.events) == 100


def test_a_body_shorter_than_its_content_length_is_a_400_after_the_read_timeout(
    api: LocalApi, function: FakeFunction
) -> None:
    status, headers, body = exchange(
        api,
        b"POST /dev/webhooks/qualia HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}",
        timeout=20 * READ_TIMEOUT,  # the server answers after its own read timeout
    )

    assert status == 400
    assert error_code(body) == "BAD_REQUEST_BODY"
    assert headers["Connection"] == "close"
    assert function.events == []


def test_a_stalled_connection_does_not_hold_the_server(api: LocalApi) -> None:
    # Connections that never finish their request...
    stalled = [socket.create_connection(address(api)) for _ in range(20)]
    for connection in stalled:
        connection.sendall(b"POST /dev/webhooks/qualia HTTP/1.1\r\nContent-Length: 10\r\n")
    # ...do not keep others from being served, and are closed after the read timeout
    assert request(api, "POST", "/dev/webhooks/qualia", b"{}")[0] == 202
    for connection in stalled:
        connection.settimeout(20 * READ_TIMEOUT)
        assert connection.recv(100) == b""  # closed by the server, without an answer
        connection.close()


def test_a_chunked_body_reaches_the_function(api: LocalApi, function: FakeFunction) -> None:
    status, _, _ = exchange(
        api,
        b"POST /dev/webhooks/qualia HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n',
    )
    assert status == 202
    assert function.events[0]["body"] == '{"a": 1}'


def test_non_ascii_header_values_reach_the_function_utf8_decoded_where_possible(
    api: LocalApi, function: FakeFunction
) -> None:
    status, _, body = exchange(
        api,
        b"POST /dev/webhooks/qualia HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n"
        + "X-Name: José 日本\r\n".encode()
        + b"X-Raw: caf\xe9\xff\r\n\r\n{}",
    )

    assert status == 202
    received = function.events[0]["headers"]
    assert received["X-Name"] == "José 日本"
    assert received["X-Raw"] == "caf\xe9\xff"  # not UTF-8: one character per byte
    assert json.loads(body)["headers"]["X-Name"] == "José 日本"


def test_a_function_s_non_latin1_header_value_is_sent_as_utf8(
    api: LocalApi, function: FakeFunction
) -> None:
    def invoke(event: dict[str, Any]) -> Any:
        return {"statusCode": 200, "headers": {"X-Greeting": "Grüße 👋\r\nX-Injected: no"}}

    function.invoke = invoke  # type: ignore[method-assign]
    status, headers, _ = exchange(
        api, b"POST /dev/webhooks/qualia HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    assert status == 200
    assert headers["X-Greeting"].encode("latin-1").decode() == "Grüße 👋  X-Injected: no"
    assert "X-Injected" not in headers


def test_a_keep_alive_connection_serves_several_requests(api: LocalApi) -> None:
    connection = http.client.HTTPConnection(*address(api), timeout=10)
    try:
        for n in range(3):
            connection.request("POST", "/dev/webhooks/qualia", body=f"[{n}]".encode())
            response = connection.getresponse()
            assert response.status == 202
            response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(("kind", "status", "code"), [
    ("crash", 502, "INTEGRATION_FAILURE"),
    ("timeout", 504, "INTEGRATION_TIMEOUT"),
])  # fmt: skip
def test_a_failed_invoke_is_answered_by_the_gateway(
    api: LocalApi, function: FakeFunction, kind: str, status: int, code: str
) -> None:
    function.fail = kind
    answered, _, body = request(api, "POST", "/dev/webhooks/qualia", b"{}")
    assert (answered, error_code(body)) == (status, code)


def test_openapi_json_is_served_at_the_root_when_it_exists(api: LocalApi, tmp_path: Path) -> None:
    status, _, body = request(api, "GET", "/openapi.json")
    assert status == 404
    assert error_code(body) == "RESOURCE_NOT_FOUND"

    (tmp_path / "openapi.json").write_text('{"openapi": "3.0.1"}')

    status, headers, body = request(api, "GET", "/openapi.json")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"openapi": "3.0.1"}
    assert request(api, "GET", "/dev/openapi.json")[0] == 403  # not under the stage
    assert request(api, "POST", "/openapi.json", b"{}")[0] == 403
