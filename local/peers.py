"""Local stand-ins for the external APIs, with fault rules so demos and tests can script failures.

- Marketplace API: `GET /orders/{QO-id}` serves a realistic order, the same for the same id;
  `PUT /_orders/{QO-id}` replaces the document served for that id.
- Internal orders API: `POST /orders` answers an internal id (the same id again for a repeated
  `Idempotency-Key`), and `GET /_received` lists every delivery with its key.
- Both: `POST /_faults` adds a rule, `GET /_faults` lists them, `DELETE /_faults` clears them.
- Lambda's event source mapping API, for the runtime's own mappings (`LambdaMappingsApi`).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from local.event_sources import MappingStates
from local.http_stub import RecordedRequest, StubResponse, StubServer

CONTROL_PREFIX = "/_"


class FaultRule(BaseModel):
    """Answer matching requests with `status` (or stall `timeout_seconds`, then 504)."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="regular expression matched against the whole path")
    method: str | None = None
    status: int | None = Field(default=None, ge=400, le=599)
    timeout_seconds: float | None = Field(default=None, gt=0, le=120)
    probability: float = Field(default=1.0, gt=0, le=1)
    count: int | None = Field(default=None, ge=1, description="apply this many times, then stop")
    retry_after: str | None = None

    @model_validator(mode="after")
    def _status_or_timeout(self) -> FaultRule:
        if (self.status is None) == (self.timeout_seconds is None):
            raise ValueError("give exactly one of status or timeout_seconds")
        try:
            re.compile(self.path)
        except re.error as exc:
            raise ValueError(f"path is not a regular expression: {exc}") from exc
        return self

    def response(self) -> StubResponse:
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        if self.timeout_seconds is not None:
            return StubResponse(504, {"error": "injected timeout"}, headers, self.timeout_seconds)
        return StubResponse(self.status or 500, {"error": "injected fault"}, headers)


class PeerServer(StubServer):
    """A stub server whose fault rules are managed over HTTP."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self._faults: list[FaultRule] = []
        self._fault_lock = threading.Lock()
        self._random = random.Random(seed)
        self.route("POST", r"/_faults", self._add_fault)
        self.route("GET", r"/_faults", lambda _: StubResponse(200, self._fault_list()))
        self.route("DELETE", r"/_faults", self._clear_faults)

    def add_fault(self, rule: FaultRule) -> None:
        with self._fault_lock:
            self._faults.append(rule)

    def intercept(self, request: RecordedRequest) -> StubResponse | None:
        path = request.path.split("?", 1)[0]
        if path.startswith(CONTROL_PREFIX):
            return None
        with self._fault_lock:
            for rule in self._faults:
                if rule.method and rule.method.upper() != request.method:
                    continue
                if not re.fullmatch(rule.path, path):
                    continue
                if rule.probability < 1 and self._random.random() >= rule.probability:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count == 0:
                        self._faults.remove(rule)
                return rule.response()
        return None

    def _add_fault(self, request: RecordedRequest) -> StubResponse:
        try:
            rule = FaultRule.model_validate_json(request.body)
        except (ValidationError, ValueError) as exc:
            return StubResponse(400, {"error": str(exc)})
        self.add_fault(rule)
        return StubResponse(201, rule.model_dump(exclude_none=True))

    def _fault_list(self) -> list[dict[str, Any]]:
        with self._fault_lock:
            return [rule.model_dump(exclude_none=True) for rule in self._faults]

    def clear_faults(self) -> None:
        with self._fault_lock:
            self._faults.clear()

    def _clear_faults(self, _: RecordedRequest) -> StubResponse:
        self.clear_faults()
        return StubResponse(204)


_STATES = (
    "Texas", "California", "New York", "FL", "il", "Washington", "District of Columbia",
    "Puerto Rico", "ohio", "GA", "Colorado", "Arizona",
)  # fmt: skip
_PRODUCTS = (("title_search", "Full title search"), ("closing", "Closing services"))
_STREETS = ("Congress Ave", "Market St", "Main St", "Peachtree St", "Pine St", "Elm St")
_PEOPLE = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Edsger Dijkstra")


def marketplace_order(order_id: str) -> dict[str, Any]:
    """A realistic order document, deterministic for `order_id` (states vary in spelling and
    case, as the real marketplace's do)."""
    seed = int(hashlib.sha256(order_id.encode()).hexdigest()[:12], 16)
    pick = random.Random(seed)
    created = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=pick.randrange(30 * 24 * 60))
    product_code, product_name = pick.choice(_PRODUCTS)
    buyer, seller = pick.sample(_PEOPLE, 2)
    return {
        "id": order_id,
        "orderNumber": f"{created:%Y}-{order_id[3:]}",
        "status": "ready_for_download",
        "createdAt": created.isoformat().replace("+00:00", "Z"),
        "product": {"code": product_code, "name": product_name},
        "property": {
            "address": {
                "line1": f"{pick.randrange(1, 9999)} {pick.choice(_STREETS)}",
                "line2": None,
                "city": "Springfield",
                "state": pick.choice(_STATES),
                "postalCode": f"{pick.randrange(10000, 99999)}",
                "county": "Greene",
            },
            "parcelNumber": f"{pick.randrange(1000, 9999)}-{pick.randrange(100, 999)}",
        },
        "parties": [{"role": "Buyer", "name": buyer}, {"role": "Seller", "name": seller}],
        "fees": [
            {"description": "Search fee", "amount": f"{pick.randrange(50, 400)}.00"},
            {"description": "Recording", "amount": f"{pick.randrange(10, 90)}.50"},
        ],
        "dueDate": (created + timedelta(days=14)).date().isoformat(),
    }


class MarketplaceApi(PeerServer):
    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token
        self._overrides: dict[str, Any] = {}
        self.route("GET", r"/orders/(QO-\d+)", self._get_order)
        self.route("PUT", r"/_orders/(QO-\d+)", self._override)

    def _get_order(self, request: RecordedRequest) -> StubResponse:
        if request.headers.get("Authorization") != f"Bearer {self._token}":
            return StubResponse(401, {"error": "invalid or missing bearer token"})
        order_id = request.path.rsplit("/", 1)[-1]
        return StubResponse(200, self._overrides.get(order_id) or marketplace_order(order_id))

    def _override(self, request: RecordedRequest) -> StubResponse:
        order_id = request.path.rsplit("/", 1)[-1]
        self._overrides[order_id] = json.loads(request.body)
        return StubResponse(204)


class InternalOrdersApi(PeerServer):
    def __init__(self) -> None:
        super().__init__()
        self._ids: dict[str, str] = {}
        self.received: list[dict[str, Any]] = []
        self.route("POST", r"/orders", self._create)
        self.route("GET", r"/_received", lambda _: StubResponse(200, self.received))

    def _create(self, request: RecordedRequest) -> StubResponse:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return StubResponse(400, {"error": "Idempotency-Key is required"})
        try:
            order = json.loads(request.body)
        except ValueError:
            return StubResponse(400, {"error": "body is not JSON"})
        with self._fault_lock:
            replay = key in self._ids
            internal_id = self._ids.setdefault(key, f"INT-{len(self._ids) + 1:06d}")
            self.received.append(
                {"idempotency_key": key, "id": internal_id, "replay": replay, "at": time.time(),
                 "order": order}
            )  # fmt: skip
        return StubResponse(200 if replay else 201, {"id": internal_id})


_MAPPINGS_PATH = "/2015-03-31/event-source-mappings/"


class LambdaMappingsApi(StubServer):
    """Lambda's event source mapping API (Get, List, Update) for the runtime's own mappings:
    what the functions' circuit breakers and `ops breaker` pause and resume. The functions
    reach it through `AWS_ENDPOINT_URL_LAMBDA`; the pollers read the same `MappingStates`."""

    def __init__(self, states: MappingStates, function_arns: dict[str, str]) -> None:
        super().__init__()
        self._states = states
        self._function_arns = function_arns  # mapping UUID → its function's ARN
        self.route("GET", re.escape(_MAPPINGS_PATH) + r"?(\?.*)?", self._list)
        self.route("GET", re.escape(_MAPPINGS_PATH) + r"([0-9a-f-]+)", self._get)
        self.route("PUT", re.escape(_MAPPINGS_PATH) + r"([0-9a-f-]+)", self._update)

    def describe(self, uuid: str) -> dict[str, Any]:
        mapping = self._states.mappings[uuid]
        return {
            "UUID": uuid,
            "EventSourceArn": mapping.queue_arn,
            "FunctionArn": self._function_arns[uuid],
            "BatchSize": mapping.batch_size,
            "State": "Enabled" if self._states.enabled(uuid) else "Disabled",
            "LastModified": time.time(),
        }

    def _list(self, request: RecordedRequest) -> StubResponse:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
        function = (query.get("FunctionName") or [""])[0]
        source = (query.get("EventSourceArn") or [""])[0]
        found = [
            self.describe(uuid)
            for uuid, mapping in self._states.mappings.items()
            if (not source or mapping.queue_arn == source)
            and (
                not function or self._function_arns[uuid].split(":")[-1] == function.split(":")[-1]
            )
        ]
        return StubResponse(200, {"EventSourceMappings": found})

    def _get(self, request: RecordedRequest) -> StubResponse:
        uuid = request.path.rsplit("/", 1)[-1]
        if uuid not in self._states.mappings:
            return _not_found(uuid)
        return StubResponse(200, self.describe(uuid))

    def _update(self, request: RecordedRequest) -> StubResponse:
        uuid = request.path.rsplit("/", 1)[-1]
        if uuid not in self._states.mappings:
            return _not_found(uuid)
        enabled = json.loads(request.body or b"{}").get("Enabled")
        if isinstance(enabled, bool):
            self._states.set_enabled(uuid, enabled)
        return StubResponse(202, self.describe(uuid))


def mappings_api(template: Any, states: MappingStates) -> LambdaMappingsApi:
    """Register each mapping's UUID with the template (so a `Ref` to it resolves, in the probe's
    environment) and serve their API."""
    arns = {}
    for uuid, mapping in states.mappings.items():
        arn = template.arn("lambda", f"event-source-mapping:{uuid}")
        template.register(mapping.logical_id, uuid, EventSourceMappingArn=arn)
        arns[uuid] = template.physical[mapping.function_logical_id].attributes["Arn"]
    return LambdaMappingsApi(states, arns)


def breaker_outputs(template: Any) -> dict[str, Any]:
    """The stack's circuit breaker outputs (its table, each peer's mappings), resolved locally:
    what `ops breaker` reads from a deployed stack's outputs."""
    outputs = template.raw.get("Outputs", {})
    names = ("CircuitBreakerTableName", "CircuitBreakerMappings")
    if not all(name in outputs for name in names):
        return {}
    return {name: template.resolve(outputs[name]["Value"]) for name in names}


def _not_found(uuid: str) -> StubResponse:
    return StubResponse(
        404,
        {"Type": "User", "message": f"The resource you requested does not exist. ({uuid})"},
        {"x-amzn-ErrorType": "ResourceNotFoundException"},
    )
