"""The local REST API takes load and answers bad requests as API Gateway would: in the
project's envelope, its code the gateway response type, never holding a thread or crashing."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local.api_gateway import PAYLOAD_QUOTA_BYTES, LocalApi, routes_from
from local.functions import InvocationError
from local.http_server import LISTEN_BACKLOG
from local.template import StackTemplate

# The shape of infra.constructs.rest_api.GATEWAY_ERROR_TEMPLATE (importing infra starts jsii).
ENVELOPE = (
    '{"status": "failure", "data": null, "error": {"code": "$context.error.responseType", '
    '"message": $context.error.messageString, "details": null}, '
    '"request_id": "$context.requestId"}'
)
FUNCTION_URI = (
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:123456789012:function:stack-ingest/invocations"
)
READ_TIMEOUT = 0.5


def template(endpoint_type: str = "REGIONAL") -> StackTemplate:
    def gateway_response(kind: str) -> dict[str, Any]:
        return {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {
                "ResponseType": kind,
                "ResponseTemplates": {"application/json": ENVELOPE},
            },
        }

    raw = {
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {"EndpointConfiguration": {"Types": [endpoint_type]}},
            },
            "Webhooks": {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {
                    "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                    "PathPart": "webhooks",
                },
            },
            "Qualia": {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {"ParentId": {"Ref": "Webhooks"}, "PathPart": "qualia"},
            },
            "QualiaPost": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "HttpMethod": "POST",
                    "ResourceId": {"Ref": "Qualia"},
                    "AuthorizationType": "NONE",
                    "Integration": {"Type": "AWS_PROXY", "Uri": FUNCTION_URI},
                },
            },
            "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {"StageName": "dev"}},
            "Default4xx": gateway_response("DEFAULT_4XX"),
            "Default5xx": gateway_response("DEFAULT_5XX"),
        }
    }
    return StackTemplate(raw, stack_name="stack", region="us-east-1")


class FakeFunction:
    """Answers 202 with what it was given; `fail` makes the next invokes crash."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail: str | None = None
        self._lock = threading.Lock()

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            self.events.append(event)
        if self.fail:
            raise InvocationError(self.fail, "the fake says so")
        body = {"body_length": len(event["body"] or ""), "headers": event["headers"]}
        return {"statusCode": 202, "headers": {"X-Fake": "yes"}, "body": json.dumps(body)}


@pytest.fixture
def function() -> FakeFunction:
    return FakeFunction()


def start_api(function: FakeFunction, tmp_path: Path, endpoint_type: str = "REGIONAL") -> LocalApi:
    stack = template(endpoint_type)
    api = LocalApi(
        stack,
        routes_from(stack, {"stack-ingest": "Ingest"}),
        {"Ingest": function},
        openapi_file=tmp_path / "openapi.json",
        read_timeout_seconds=READ_TIMEOUT,
    )
    api.start()
    return api


@pytest.fixture
def api(function: FakeFunction, tmp_path: Path) -> Iterator[LocalApi]:
    running = start_api(function, tmp_path)
    yield running
    running.stop()


def address(api: LocalApi) -> tuple[str, int]:
    host, port = api.url.split("//", 1)[1].split("/", 1)[0].split(":")
    return host, int(port)


def exchange(api: LocalApi, data: bytes, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the answer until the server closes (or the answer is complete)."""
    with socket.create_connection(address(api), timeout=timeout) as connection:
        connection.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        length = int(headers.get("Content-Length", "0"))
        while len(body) < length and not data.startswith(b"HEAD"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(lines[0].split()[1]), headers, body


def request(
    api: LocalApi,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(*address(api), timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def error_code(body: bytes) -> str:
    envelope = json.loads(body)
    assert envelope["status"] == "failure"
    assert envelope["data"] is None
    assert envelope["request_id"]
    return str(envelope["error"]["code"])


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


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "GET"])
def test_a_method_the_resource_does_not_define_is_403_missing_authentication_token(
    api: LocalApi, function: FakeFunction, method: str
) -> None:
    status, headers, body = request(api, method, "/dev/webhooks/qualia")

    assert status == 403
    if method == "HEAD":
        assert body == b""
        assert int(headers["Content-Length"]) > 0  # what GET would have answered
    else:
        assert error_code(body) == "MISSING_AUTHENTICATION_TOKEN"
    assert function.events == []


@pytest.mark.parametrize("path", ["/dev/nope", "/webhooks/qualia", "/", "/dev", "/prod/webhooks"])
def test_an_undefined_resource_or_stage_is_403_missing_authentication_token(
    api: LocalApi, path: str
) -> None:
    status, _, body = request(api, "POST", path, b"{}")
    assert status == 403
    assert error_code(body) == "MISSING_AUTHENTICATION_TOKEN"


def test_a_method_outside_http_s_usual_set_is_answered_in_the_envelope(api: LocalApi) -> None:
    status, _, body = exchange(api, b"BREW /dev/webhooks/qualia HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 403
    assert error_code(body) == "MISSING_AUTHENTICATION_TOKEN"


@pytest.mark.parametrize(("endpoint_type", "quota"), [("REGIONAL", 10240), ("EDGE", 8192)])
def test_a_uri_over_the_url_quota_is_414_in_the_envelope(
    function: FakeFunction, tmp_path: Path, endpoint_type: str, quota: int
) -> None:
    api = start_api(function, tmp_path, endpoint_type)
    try:
        within = "/dev/webhooks/qualia?" + "a" * (quota - len("/dev/webhooks/qualia?"))
        assert request(api, "POST", within, b"{}")[0] == 202
        status, headers, body = request(api, "POST", within + "a", b"{}")
        assert status == 414
        assert error_code(body) == "REQUEST_TOO_LARGE"
        assert headers["Connection"] == "close"
        # a request line far over any limit is answered too, not reset
        status, _, body = exchange(api, b"GET /dev/" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n")
        assert (status, error_code(body)) == (414, "REQUEST_TOO_LARGE")
    finally:
        api.stop()
    assert len(function.events) == 1


def test_header_values_over_10240_bytes_are_431_in_the_envelope(
    api: LocalApi, function: FakeFunction
) -> None:
    headers = {f"X-Big-{n}": "v" * 1000 for n in range(11)}
    status, _, body = request(api, "POST", "/dev/webhooks/qualia", b"{}", headers)

    assert status == 431
    assert error_code(body) == "REQUEST_TOO_LARGE"
    assert json.loads(body)["error"]["message"] == "HTTP header is larger than 10240 bytes."
    assert function.events == []


def test_a_body_over_the_payload_quota_is_413_and_the_client_gets_the_answer(
    api: LocalApi, function: FakeFunction
) -> None:
    assert request(api, "POST", "/dev/webhooks/qualia", b"x" * PAYLOAD_QUOTA_BYTES)[0] == 202

    status, _, body = request(api, "POST", "/dev/webhooks/qualia", b"x" * (PAYLOAD_QUOTA_BYTES + 1))

    assert status == 413
    assert error_code(body) == "REQUEST_TOO_LARGE"
    assert len(function.events) == 1


@pytest.mark.parametrize("length", ["abc", "-1", "1, 2"])
def test_an_invalid_content_length_is_400_bad_request_body(api: LocalApi, length: str) -> None:
    status, _, body = exchange(
        api,
        f"POST /dev/webhooks/qualia HTTP/1.1\r\nContent-Length: {length}\r\n\r\n{{}}".encode(),
    )
    assert status == 400
    assert error_code(body) == "BAD_REQUEST_BODY"


def test_a_chunked_body_reaches_the_function(api: LocalApi, function: FakeFunction) -> None:
    status, _, _ = exchange(
        api,
        b"POST /dev/webhooks/qualia HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n',
    )
    assert status == 202
    assert function.events[0]["body"] == '{"a": 1}'


def test_a_malformed_request_line_is_400_in_the_envelope(api: LocalApi) -> None:
    status, _, body = exchange(api, b"POST /dev/webhooks/qualia HTTP/x.y\r\n\r\n")
    assert status == 400
    assert error_code(body) == "DEFAULT_4XX"


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
