"""The pooled HTTP client against a local stub server: retries, backoff, Retry-After, timeouts."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import urllib3.util.retry

from local.http_stub import StubResponse, StubServer
from shared.errors import NonRetryableError, RetryableError
from shared.http_client import HttpClient, HttpStatusError
from shared.http_settings import HttpClientSettings


class _RecordedSleeps:
    """Stands in for the `time` module inside urllib3's retry logic: records, does not sleep."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.time = time.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> _RecordedSleeps:
    recorded = _RecordedSleeps()
    monkeypatch.setattr(urllib3.util.retry, "time", recorded)
    return recorded


@pytest.fixture
def server() -> Iterator[StubServer]:
    with StubServer() as stub:
        yield stub


def client(**overrides: float) -> HttpClient:
    settings = {
        "connect_timeout_seconds": 1.0,
        "read_timeout_seconds": 2.0,
        "max_retries": 3,
        "backoff_factor_seconds": 0.5,
        "max_retry_after_seconds": 10.0,
        "pool_size": 2,
        **overrides,
    }
    return HttpClient(HttpClientSettings.model_validate(settings))


def test_429_with_retry_after_is_retried_after_the_asked_delay(
    server: StubServer, sleeps: _RecordedSleeps
) -> None:
    server.script("GET", "/orders/1", StubResponse(429, headers={"Retry-After": "2"}))
    server.route("GET", "/orders/1", lambda _: StubResponse(200, {"id": 1}))

    response = client().request("GET", f"{server.url}/orders/1")

    assert response.json() == {"id": 1}
    assert len(server.requests) == 2
    assert sleeps.sleeps == [2.0]


def test_a_long_retry_after_is_capped_at_the_configured_cap_on_every_retry(
    server: StubServer, sleeps: _RecordedSleeps
) -> None:
    # Given a cap no default has (a client ignoring it would sleep the hour, or another value)
    cap = 3.25
    server.script(
        "GET",
        "/x",
        StubResponse(503, headers={"Retry-After": "3600"}),
        StubResponse(429, headers={"Retry-After": "3600"}),
    )
    server.route("GET", "/x", lambda _: StubResponse(200, {}))

    # When the peer asks for an hour twice
    client(max_retry_after_seconds=cap).request("GET", f"{server.url}/x")

    # Then each pause is the cap: the second retry (a new urllib3 Retry) kept it too
    assert sleeps.sleeps == [cap, cap]


def test_a_retry_after_shorter_than_the_cap_is_honoured(
    server: StubServer, sleeps: _RecordedSleeps
) -> None:
    server.script("GET", "/x", StubResponse(503, headers={"Retry-After": "1"}))
    server.route("GET", "/x", lambda _: StubResponse(200, {}))

    client(max_retry_after_seconds=3.25).request("GET", f"{server.url}/x")

    assert sleeps.sleeps == [1.0]


def test_503_then_200_succeeds_with_exponential_backoff(
    server: StubServer, sleeps: _RecordedSleeps
) -> None:
    server.script("GET", "/x", StubResponse(503), StubResponse(502), StubResponse(504))
    server.route("GET", "/x", lambda _: StubResponse(200, {"ok": True}))

    response = client(backoff_factor_seconds=0.5).request("GET", f"{server.url}/x")

    assert response.status == 200
    assert len(server.requests) == 4
    # urllib3 retries the first failure at once, then sleeps factor * 2 ** (errors - 1).
    assert sleeps.sleeps == [1.0, 2.0]


def test_persistent_5xx_raises_retryable_after_all_retries(
    server: StubServer, sleeps: _RecordedSleeps
) -> None:
    server.route("GET", "/x", lambda _: StubResponse(500))

    with pytest.raises(RetryableError, match="500 after retries"):
        client(max_retries=2).request("GET", f"{server.url}/x")

    assert len(server.requests) == 3


def test_a_read_timeout_is_retried_then_raises_retryable(server: StubServer) -> None:
    server.route("GET", "/slow", lambda _: StubResponse(200, {}, delay_seconds=0.5))

    with pytest.raises(RetryableError, match="failed after retries"):
        client(read_timeout_seconds=0.1, max_retries=1, backoff_factor_seconds=0).request(
            "GET", f"{server.url}/slow"
        )

    assert len(server.requests) == 2


def test_a_connection_refused_is_retryable() -> None:
    with StubServer() as gone:
        url = gone.url
    with pytest.raises(RetryableError):
        client(max_retries=1, backoff_factor_seconds=0).request("GET", f"{url}/x")


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
def test_other_4xx_are_not_retried(server: StubServer, status: int) -> None:
    server.route("GET", "/x", lambda _: StubResponse(status))

    with pytest.raises(NonRetryableError) as caught:
        client().request("GET", f"{server.url}/x")

    assert isinstance(caught.value, HttpStatusError)
    assert caught.value.response.status == status
    assert len(server.requests) == 1


def test_post_with_an_idempotency_key_is_retried(
    server: StubServer, sleeps: _RecordedSleeps
) -> None:
    server.script("POST", "/orders", StubResponse(503))
    server.route("POST", "/orders", lambda _: StubResponse(201, {"id": "INT-1"}))

    response = client().request(
        "POST", f"{server.url}/orders", headers={"Idempotency-Key": "k"}, json_body={"a": 1}
    )

    assert response.json() == {"id": "INT-1"}
    assert [r.headers["Idempotency-Key"] for r in server.requests] == ["k", "k"]
    assert server.requests[-1].json() == {"a": 1}
