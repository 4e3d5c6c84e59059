"""Catalog enrichment end to end on the local runtime: the API, SendMessageBatch, the worker's
bounded concurrency against the provider stand-in, progress, and recovery from an outage."""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.conditions import Key

from local.send import http_request, post
from tests.support.catalog import products
from tests.support.local_runtime import table
from tests.support.waiting import wait_for

WAIT_SECONDS = 120
# The outage lasts until the provider has refused this many lookups: a wave of each of the
# worker's execution environments (2 in dev, up to 10 lookups at once each).
OUTAGE_REFUSALS = 20


def start(runtime: dict[str, Any], catalog_id: str, count: int, first: int = 0) -> dict[str, Any]:
    body = {"user_id": "e2e", "provider": "keepa", "batch_size": 20,
            "products": products(count, start=first)}  # fmt: skip
    status, text = post(
        f"{runtime['api_url']}catalogs/{catalog_id}/enrichments",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 202, text
    return dict(json.loads(text)["data"])


def progress(runtime: dict[str, Any], catalog_id: str) -> dict[str, Any]:
    status, text = http_request(
        "GET", f"{runtime['api_url']}catalogs/{catalog_id}/enrichments", None, {}
    )
    assert status == 200, text
    return dict(json.loads(text)["data"])


def wait_finished(runtime: dict[str, Any], catalog_id: str) -> dict[str, Any]:
    return wait_for(
        lambda: progress(runtime, catalog_id),
        lambda view: view["status"] not in ("QUEUEING", "RUNNING"),
        what=f"the enrichment of {catalog_id} to finish",
        timeout=WAIT_SECONDS,
        interval=0.5,
    )


def refused(runtime: dict[str, Any]) -> int:
    """Lookups the provider stand-in refused (its faults count as calls, not answers)."""
    report = provider(runtime, "GET", "/_calls")
    return int(sum(report["calls"].values()) - sum(report["answered"].values()))


def products_of(runtime: dict[str, Any], catalog_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {"KeyConditionExpression": Key("catalog_id").eq(catalog_id)}
    while True:
        page = table(runtime, "ProductsTable").query(**arguments)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def provider(runtime: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    status, text = http_request(
        method,
        runtime["provider_url"] + path,
        None if body is None else json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    assert status < 300, text
    return json.loads(text) if text else None


def test_a_thousand_products_are_queued_in_five_calls_and_all_enriched(
    runtime: dict[str, Any],
) -> None:
    answer = start(runtime, "e2e-1000", 1000)

    assert (answer["total_products"], answer["total_batches"]) == (1000, 50)
    summary = table(runtime, "EnrichmentTable").get_item(
        Key={"catalog_id": "e2e-1000", "batch_id": f"{answer['tracking_id']}#summary"}
    )["Item"]
    assert summary["send_calls"] == 5
    final = wait_finished(runtime, "e2e-1000")
    assert final["status"] == "COMPLETED"
    assert final["batches"]["completed"] == 50
    assert final["products"] == {"total": 1000, "enriched": 1000, "failed": 0, "pending": 0}
    stored = products_of(runtime, "e2e-1000")
    assert len(stored) == 1000
    assert {item["status"] for item in stored} == {"ENRICHED"}


def test_a_provider_outage_mid_run_is_recovered_without_enriching_anything_twice(
    runtime: dict[str, Any],
) -> None:
    provider(runtime, "DELETE", "/_calls")
    provider(runtime, "PUT", "/_latency", {"seconds": 0.02})
    answer = start(runtime, "e2e-outage", 400, first=5000)
    wait_for(
        lambda: progress(runtime, "e2e-outage")["products"]["enriched"],
        lambda enriched: enriched >= 60,
        what="60 products of e2e-outage to be enriched",
        timeout=WAIT_SECONDS,
        interval=0.1,
    )

    # The provider goes down for a moment (until it has refused a wave of lookups), then recovers
    provider(runtime, "POST", "/_faults", {"path": "/v1/products/.*", "status": 503})
    wait_for(
        lambda: refused(runtime),
        lambda count: count >= OUTAGE_REFUSALS,
        what=f"the provider's outage to refuse {OUTAGE_REFUSALS} lookups",
        timeout=30,
        interval=0.05,
    )
    provider(runtime, "DELETE", "/_faults")
    provider(runtime, "PUT", "/_latency", {"seconds": 0})

    final = wait_finished(runtime, "e2e-outage")
    assert final["status"] == "COMPLETED", final
    assert final["batches"]["completed"] == answer["total_batches"] == 20
    assert len(products_of(runtime, "e2e-outage")) == 400
    answered = provider(runtime, "GET", "/_calls")["answered"]
    asked = {p["asin"] for p in products(400, start=5000)}
    assert {asin: answered.get(asin) for asin in asked} == dict.fromkeys(asked, 1)
    calls = provider(runtime, "GET", "/_calls")["calls"]
    assert sum(calls.values()) > 400  # the outage did refuse some lookups
    # Each of the worker's execution environments (as many as the catalog queue's
    # MaximumConcurrency, 2 in dev) makes up to the dev HTTP pool_size (10) lookups at once.
    [worker] = [f for f in runtime["functions"].values() if "/Catalog/Worker/" in f["path"]]
    assert provider(runtime, "GET", "/_calls")["max_in_flight"] <= 10 * worker["pool_size"]
