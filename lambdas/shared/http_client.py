"""One pooled HTTP client per container: timeouts, and retries with backoff that honour Retry-After.

urllib3's `Retry` does the retrying; this module only caps how long a `Retry-After` may make a
Lambda sleep and turns the final outcome into `RetryableError` / `NonRetryableError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError as TransportError
from urllib3.util.retry import Retry

from shared.errors import NonRetryableError, RetryableError
from shared.http_settings import HttpClientSettings

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class _CappedRetry(Retry):
    """`Retry` whose Retry-After sleep never exceeds `max_retry_after` seconds.

    A peer asking for a longer pause gets the cap: the Lambda must not sleep past its timeout;
    if the peer is still busy after the last retry, SQS redelivers the message later.
    """

    def __init__(self, *, max_retry_after: float, **kw: Any) -> None:
        super().__init__(**kw)
        self.max_retry_after = max_retry_after

    def get_retry_after(self, response: Any) -> float | None:
        retry_after = super().get_retry_after(response)
        if retry_after is None:
            return None
        return min(retry_after, self.max_retry_after)

    def new(self, **kw: Any) -> _CappedRetry:
        # urllib3 makes a new Retry after every attempt: the cap must travel with it.
        return super().new(max_retry_after=self.max_retry_after, **kw)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class HttpClient:
    """Thread-safe: one instance serves every concurrent record of a batch."""

    def __init__(self, settings: HttpClientSettings) -> None:
        retry = _CappedRetry(
            total=settings.max_retries,
            connect=settings.max_retries,
            read=settings.max_retries,
            status=settings.max_retries,
            backoff_factor=settings.backoff_factor_seconds,
            status_forcelist=RETRYABLE_STATUSES,
            # Every call we make is idempotent (GET, or POST with an Idempotency-Key).
            allowed_methods=frozenset({"GET", "POST", "PUT"}),
            respect_retry_after_header=True,
            raise_on_status=False,
            max_retry_after=settings.max_retry_after_seconds,
        )
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=settings.pool_size,
            block=True,
            timeout=urllib3.Timeout(
                connect=settings.connect_timeout_seconds, read=settings.read_timeout_seconds
            ),
            retries=retry,
        )
        self.pool_size = settings.pool_size

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> HttpResponse:
        """Send with retries; 2xx returns, 429/5xx/transport errors raise RetryableError,
        any other status raises NonRetryableError (or `HttpStatusError` for callers to inspect)."""
        body = None
        all_headers = {"Accept": "application/json", **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
            all_headers["Content-Type"] = "application/json"
        try:
            raw = self._pool.request(method, url, body=body, headers=all_headers)
        except TransportError as exc:
            raise RetryableError(f"{method} {_redact(url)} failed after retries: {exc}") from exc
        response = HttpResponse(status=raw.status, body=raw.data, headers=dict(raw.headers))
        if 200 <= raw.status < 300:
            return response
        if raw.status in RETRYABLE_STATUSES:
            raise RetryableError(f"{method} {_redact(url)} answered {raw.status} after retries")
        raise HttpStatusError(method, url, response)


class HttpStatusError(NonRetryableError):
    """A 4xx (other than 429) that retrying cannot fix."""

    def __init__(self, method: str, url: str, response: HttpResponse) -> None:
        super().__init__(f"{method} {_redact(url)} answered {response.status}")
        self.response = response


def _redact(url: str) -> str:
    """Drop the query string: it may carry identifiers we do not want in logs."""
    return url.split("?", 1)[0]
