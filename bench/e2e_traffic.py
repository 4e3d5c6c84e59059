"""What `bench.local_e2e` sends to the local runtime, and how it sees the outcome: signed order
webhooks (local/send.py's signing), ERP webhooks and a catalog, each followed in the events table
(or the catalog API) until done. A delivery that is not accepted, or an event that does not reach
PROCESSED in time, fails the benchmark: a figure from a broken pipeline is no figure."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from local.runtime import LocalRuntime
from local.send import http_request, post, signed_headers

WAIT_SECONDS = 120
POLL_SECONDS = 0.01


def iso_seconds(text: str) -> float:
    """An event history's `at` (ISO 8601, Z) as a POSIX time."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


class Traffic:
    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self.api = runtime.api_url
        self.secret = runtime.signing_secrets[0]
        [self.events_table] = [
            name
            for logical_id, name in runtime.provisioned.tables.items()
            if "/EventsTable/" in runtime.template.path_of(logical_id)
        ]
        self.dynamodb = runtime.client("dynamodb", max_pool_connections=16)
        self.sent_orders: list[str] = []
        self._lock = threading.Lock()

    def accepted_order(self, *_: Any) -> str:
        """POST one signed order webhook; its event id once it is answered 202."""
        document = {
            "order_id": f"QO-{random.randrange(10**8)}",  # noqa: S311 - an order id, not a secret
            "event_type": "order.ready_for_download",
            "timestamp": datetime.now(UTC).isoformat(),
        }
        body = json.dumps(document).encode()
        status, text = post(self.api + "webhooks/qualia", body, signed_headers(body, self.secret))
        if status != 202:
            raise RuntimeError(f"order webhook answered {status}: {text[:300]}")
        event_id = str(json.loads(text)["data"]["event_id"])
        with self._lock:
            self.sent_orders.append(event_id)
        return event_id

    def _statuses(self, event_ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(event_ids), 100):
            keys = [{"event_id": {"S": e}} for e in event_ids[start : start + 100]]
            response = self.dynamodb.batch_get_item(
                RequestItems={self.events_table: {"Keys": keys}}
            )
            for item in response["Responses"].get(self.events_table, []):
                found[item["event_id"]["S"]] = item
        return found

    def wait_processed(self, event_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Every event once PROCESSED (raw DynamoDB items); raises on anything else."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            items = self._statuses(event_ids)
            statuses = {e: items.get(e, {}).get("status", {}).get("S") for e in event_ids}
            if all(s == "PROCESSED" for s in statuses.values()):
                return items
            dead = [e for e, s in statuses.items() if s == "DEAD_LETTERED"]
            if dead or time.monotonic() > deadline:
                waiting = {e: s for e, s in statuses.items() if s != "PROCESSED"}
                raise RuntimeError(f"events not PROCESSED: {dict(list(waiting.items())[:5])}")
            time.sleep(POLL_SECONDS if len(event_ids) == 1 else 0.2)

    def order_latency(self) -> float:
        """Seconds from one order's 202 to the PROCESSED entry of its history."""
        event_id = self.accepted_order()
        answered = time.time()
        item = self.wait_processed([event_id])[event_id]
        history = item.get("status_history", {}).get("L", [])
        times = [
            iso_seconds(entry["M"]["at"]["S"])
            for entry in history
            if entry["M"].get("status", {}).get("S") == "PROCESSED"
        ]
        if not times:
            raise RuntimeError(f"event {event_id} is PROCESSED with no PROCESSED history entry")
        return times[-1] - answered

    def peer_round_trip(self) -> None:
        """One loopback HTTP round trip to the marketplace stand-in (its fault list: a stage's
        peer call costs the same trip)."""
        marketplace = self.runtime.marketplace
        if marketplace is None:
            raise RuntimeError("the local runtime has no marketplace stand-in")
        http_request("GET", f"{marketplace.url}/_faults", None, {})

    def other_pipelines(self, *, erp: int, products: int) -> None:
        """ERP webhooks and one catalog, so their functions' invokes are timed too."""
        key = self.runtime.erp_webhook_keys[0]
        erp_events = []
        for n in range(erp):
            document = {
                "event_type": "update",
                "entity_type": "product",
                "entity_id": f"I-{uuid.uuid4().hex[:8]}",
                "data": {"item_id": f"I-{n}", "name": "Widget", "sku": f"W-{n}"},
                "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            }
            status, text = post(
                self.api + "webhooks/zoho/products",
                json.dumps(document).encode(),
                {"Content-Type": "application/json", "X-Webhook-Key": key},
            )
            if status != 202:
                raise RuntimeError(f"ERP webhook answered {status}: {text[:300]}")
            erp_events.append(str(json.loads(text)["data"]["event_id"]))
        self._enrich(products)
        self.wait_processed(erp_events)

    def _enrich(self, count: int) -> None:
        catalog = f"bench-{uuid.uuid4().hex[:8]}"
        url = f"{self.api}catalogs/{catalog}/enrichments"
        body = {
            "user_id": "bench",
            "provider": "keepa",
            "batch_size": 20,
            "products": [{"product_id": f"p-{n}", "asin": f"B{n:09d}"} for n in range(count)],
        }
        status, text = post(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
        if status != 202:
            raise RuntimeError(f"catalog enrichment answered {status}: {text[:300]}")
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            _, text = http_request("GET", url, None, {})
            view = json.loads(text)["data"]
            if view["status"] not in ("QUEUEING", "RUNNING"):
                if view["status"] != "COMPLETED":
                    raise RuntimeError(f"catalog enrichment ended {view['status']}")
                return
            time.sleep(0.2)
        raise RuntimeError("catalog enrichment did not finish in time")
