"""HTTP adapters for the marketplace API and the internal orders API."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from shared.errors import RetryableError
from shared.http_client import HttpClient, HttpStatusError

if TYPE_CHECKING:  # the processing stage's model: not loaded by the download worker
    from orders.internal import InternalOrder


class MarketplaceClient:
    def __init__(self, http: HttpClient, base_url: str, token: Callable[[bool], str]) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._token = token  # token(force_refresh) -> bearer token

    def fetch_order(self, order_id: str) -> bytes:
        """The order document's raw bytes. A 401 refreshes the token once (it may have been
        rotated); other 4xx are non-retryable, 429/5xx/timeouts retryable."""
        url = f"{self._base_url}/orders/{quote(order_id, safe='')}"
        try:
            return self._get(url, force_refresh=False)
        except HttpStatusError as exc:
            if exc.response.status != 401:
                raise
            return self._get(url, force_refresh=True)

    def _get(self, url: str, *, force_refresh: bool) -> bytes:
        headers = {"Authorization": f"Bearer {self._token(force_refresh)}"}
        return self._http.request("GET", url, headers=headers).body


class InternalOrdersClient:
    def __init__(self, http: HttpClient, base_url: str) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")

    def create_order(self, order: InternalOrder, *, idempotency_key: str) -> str:
        """POST the order; the key makes a redelivery return the first answer, not a copy."""
        response = self._http.request(
            "POST",
            f"{self._base_url}/orders",
            headers={"Idempotency-Key": idempotency_key},
            json_body=order.model_dump(mode="json"),
        )
        try:
            body = response.json()
        except ValueError as exc:
            # Safe to retry: the Idempotency-Key makes the internal API answer the same order.
            raise RetryableError(f"internal API answered {response.status} with no JSON") from exc
        internal_id = body.get("id") if isinstance(body, dict) else None
        if not internal_id:
            raise RetryableError(f"internal API answered {response.status} without an order id")
        return str(internal_id)
