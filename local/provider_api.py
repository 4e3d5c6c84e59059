"""A stand-in for the product-data provider (Keepa-style), on loopback.

- `GET /v1/products/{asin|upc|ean}/{value}` with `X-Api-Key`: deterministic data per identifier;
  identifiers starting with `UNKNOWN` or `0000` are unknown (404).
- `PUT /_latency {"seconds": 0.05}`: how long each answer takes.
- `GET /_calls`: calls and successful answers per identifier, and the most requests it ever had
  in flight at once (how tests observe concurrency); `DELETE /_calls` resets them.
- The same `/_faults` rules as the other stand-ins.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from typing import Any

from local.http_stub import RecordedRequest, StubResponse
from local.peers import PeerServer

UNKNOWN_PREFIXES = ("UNKNOWN", "0000")
_BRANDS = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne")
_CATEGORIES = (
    ["Home & Kitchen", "Kitchen", "Cookware"],
    ["Electronics", "Audio", "Headphones"],
    ["Toys & Games", "Puzzles"],
    ["Sports & Outdoors", "Cycling"],
    ["Office Products", "Paper"],
)


def provider_product(identifier_type: str, value: str) -> dict[str, Any]:
    """The provider's document for one identifier: the same for the same identifier."""
    seed = int(hashlib.sha256(f"{identifier_type}:{value}".encode()).hexdigest()[:12], 16)
    pick = random.Random(seed)  # noqa: S311 - made-up test data, not security
    return {
        "product": {
            identifier_type: value,
            "title": f"{pick.choice(_BRANDS)} product {value}",
            "brand": pick.choice(_BRANDS),
            "categoryTree": pick.choice(_CATEGORIES),
            "buyBoxPriceCents": pick.randrange(199, 49999),
            "currency": "USD",
            "rating": round(pick.uniform(1, 5), 1),
            "reviewCount": pick.randrange(0, 20000),
            "salesRank": pick.randrange(1, 500000),
            "imageUrl": f"https://images.example.com/{value}.jpg",
        }
    }


class ProductDataApi(PeerServer):
    def __init__(self, api_key: str) -> None:
        super().__init__()
        self._api_key = api_key
        self._lock = threading.Lock()
        self.latency_seconds = 0.0
        self.calls: dict[str, int] = {}
        self.answered: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.route("GET", r"/v1/products/(asin|upc|ean)/([^/]+)", self._lookup)
        self.route("PUT", r"/_latency", self._set_latency)
        self.route("GET", r"/_calls", lambda _: StubResponse(200, self.call_report()))
        self.route("DELETE", r"/_calls", self._reset_calls)

    def call_report(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(self.calls),
                "answered": dict(self.answered),
                "max_in_flight": self.max_in_flight,
            }

    def intercept(self, request: RecordedRequest) -> StubResponse | None:
        # Faults count as calls too: a test can see what an outage was asked.
        if request.path.startswith("/v1/products/"):
            value = request.path.rsplit("/", 1)[-1]
            with self._lock:
                self.calls[value] = self.calls.get(value, 0) + 1
        return super().intercept(request)

    def _lookup(self, request: RecordedRequest) -> StubResponse:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.latency_seconds)
            if request.headers.get("X-Api-Key") != self._api_key:
                return StubResponse(401, {"error": "invalid api key"})
            _, _, _, identifier_type, value = request.path.split("/", 4)
            if value.startswith(UNKNOWN_PREFIXES):
                return StubResponse(404, {"error": f"no product for {identifier_type} {value}"})
            with self._lock:
                self.answered[value] = self.answered.get(value, 0) + 1
            return StubResponse(200, provider_product(identifier_type, value))
        finally:
            with self._lock:
                self.in_flight -= 1

    def _set_latency(self, request: RecordedRequest) -> StubResponse:
        try:
            seconds = float(json.loads(request.body)["seconds"])
        except (ValueError, KeyError, TypeError):
            return StubResponse(400, {"error": 'body must be {"seconds": <number>}'})
        if not 0 <= seconds <= 30:
            return StubResponse(400, {"error": "seconds must be 0 to 30"})
        self.latency_seconds = seconds
        return StubResponse(204)

    def _reset_calls(self, _: RecordedRequest) -> StubResponse:
        with self._lock:
            self.calls.clear()
            self.answered.clear()
            self.max_in_flight = 0
        return StubResponse(204)
