"""The product-data provider (Keepa-style) behind an anti-corruption layer: its answers become
`EnrichedFields` or a clear failure; its outages become `RetryableError`."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import RetryableError
from shared.http_client import HttpClient, HttpStatusError
from shared.metric_names import Metric
from shared.metrics import record

API_KEY_HEADER = "X-Api-Key"


class UnknownProductError(Exception):
    """The provider does not know this identifier."""


class InvalidProviderDataError(Exception):
    """The provider answered, but not with data we can store."""


class EnrichedFields(BaseModel):
    """What the catalog gets back for one product."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    brand: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=300)
    price: float | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    rating: float | None = Field(default=None, ge=0, le=5)
    review_count: int | None = Field(default=None, ge=0)
    sales_rank: int | None = Field(default=None, ge=1)
    image_url: str | None = Field(default=None, max_length=1000)


def to_enriched(raw: Any) -> EnrichedFields:
    """The provider's product document → our fields. Prices come in cents."""
    product = raw.get("product") if isinstance(raw, dict) else None
    if not isinstance(product, dict):
        raise InvalidProviderDataError("no product object in the answer")
    cents = product.get("buyBoxPriceCents")
    try:
        return EnrichedFields(
            title=product.get("title"),
            brand=product.get("brand"),
            category=" > ".join(product.get("categoryTree") or []) or None,
            price=None if cents is None else round(int(cents) / 100, 2),
            currency=product.get("currency"),
            rating=product.get("rating"),
            review_count=product.get("reviewCount"),
            sales_rank=product.get("salesRank"),
            image_url=product.get("imageUrl"),
        )
    except (ValidationError, TypeError, ValueError) as exc:
        raise InvalidProviderDataError(f"invalid provider data: {exc}") from exc


PING_PROVIDER = "ping"


class PingProvider:
    """Stands in for the provider in a ping enrichment: every stage runs, no partner is called."""

    def lookup(self, identifier_type: str, value: str) -> EnrichedFields:
        return EnrichedFields(title=f"ping {identifier_type} {value}")


@dataclass(frozen=True)
class ProviderClient:
    http: HttpClient
    base_url: str
    api_key: Callable[[], str]  # read from Secrets Manager (cached), never from the env

    def lookup(self, identifier_type: str, value: str) -> EnrichedFields:
        """Raises UnknownProductError (404), InvalidProviderDataError, or RetryableError when
        the provider is unavailable, throttling past its retries or refusing our key."""
        url = f"{self.base_url.rstrip('/')}/v1/products/{identifier_type}/" + urllib.parse.quote(
            value, safe=""
        )
        started = time.monotonic()
        try:
            response = self.http.request("GET", url, headers={API_KEY_HEADER: self.api_key()})
        except HttpStatusError as exc:
            if exc.response.status == 404:
                raise UnknownProductError(f"{identifier_type} {value} is unknown") from exc
            if exc.response.status in (401, 403):
                # Every product would fail the same way: provider trouble, not product trouble.
                raise RetryableError(
                    f"the provider refused our key ({exc.response.status})"
                ) from exc
            raise InvalidProviderDataError(f"the provider answered {exc.response.status}") from exc
        finally:
            record(Metric.PROVIDER_LATENCY, (time.monotonic() - started) * 1000)
        try:
            return to_enriched(response.json())
        except ValueError as exc:
            raise InvalidProviderDataError(f"invalid provider data: {exc}") from exc
