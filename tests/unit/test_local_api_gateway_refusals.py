"""The local REST API answers bad requests as API Gateway would: in the project's envelope, its
code the gateway response type (methods and resources it does not define, URIs, headers and
bodies over the quotas, invalid lengths, malformed request lines)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.api_gateway import PAYLOAD_QUOTA_BYTES, LocalApi
from tests.support.local_api import (
    FakeFunction,
    error_code,
    exchange,
    request,
    start_api,
)


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


def test_a_malformed_request_line_is_400_in_the_envelope(api: LocalApi) -> None:
    status, _, body = exchange(api, b"POST /dev/webhooks/qualia HTTP/x.y\r\n\r\n")
    assert status == 400
    assert error_code(body) == "DEFAULT_4XX"
