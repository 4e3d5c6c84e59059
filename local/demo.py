"""`make demo`: the whole platform on this machine, driven through a scripted mix of webhooks.

Marketplace orders: valid orders, a duplicate delivery, a bad signature, an invalid body, an order
whose download fails twice before it succeeds, an order with an unknown jurisdiction
(dead-lettered) and one signed under Svix's header names. ERP entity sync: one webhook for each
of the seven entities (each in its priority lane), a re-delivery, a changed update, an older
update sent late, a product renamed and renamed back to its first name (a new event, synced),
a wrong key, an invalid invoice and an unknown entity. Catalog enrichment: a catalog of 300
products (6 unknown to the provider) enriched in batches of 20, its progress shown as it goes.
Prints progress, then a table of expected and actual outcomes, ERP events by entity, the
enrichment's result and the DLQ depths; exits 0 only if every outcome matched.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from local.demo_cases import Case, order_cases, script_failures
from local.runtime import LocalRuntime, RuntimeOptions
from local.send import http_request, post
from ops_cli.events import settled

WAIT_SECONDS = 60


def _get_event(runtime: LocalRuntime, event_id: str) -> dict[str, Any]:
    """The event as operators see it: GET /events/{event_id} on the local API."""
    status, text = http_request("GET", f"{runtime.api_url}events/{event_id}", None, {})
    return dict(json.loads(text)["data"]) if status == 200 else {}


def run_demo(options: RuntimeOptions) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
    started = time.monotonic()
    print("starting the local runtime (synth, moto, functions, pollers, API)...", flush=True)
    with LocalRuntime(options) as runtime:
        print(f"up in {time.monotonic() - started:.1f}s at {runtime.api_url}", flush=True)
        script_failures(runtime)
        cases = order_cases(runtime)
        for case in cases:
            case.sent_at = time.monotonic()
            case.http, text = post(f"{runtime.api_url}{case.path}", case.body, case.headers)
            data = json.loads(text).get("data") or {}
            case.event_id = data.get("event_id")
            print(f"  sent {case.label:<32} HTTP {case.http}", flush=True)
            if case.label in ("ERP products", "ERP product renamed"):
                time.sleep(1.5)  # let this product update sync before the next one arrives
        _follow(runtime, cases)
        enrichment_ok = _enrich_catalog(runtime)
        _report(runtime, cases)
        ok = all(case.matched for case in cases) and _dlq_depths_match(runtime) and enrichment_ok
    print(
        f"\n{'all outcomes matched' if ok else 'MISMATCH'}; total {time.monotonic() - started:.1f}s"
    )
    return 0 if ok else 1


CATALOG_PRODUCTS, UNKNOWN_PRODUCTS = 300, 6


def _enrich_catalog(runtime: LocalRuntime) -> bool:
    """POST a catalog for enrichment and follow GET .../enrichments until it finishes."""
    products = [
        {"product_id": f"sku-{n:04d}",
         "asin": f"UNKNOWN{n:03d}" if n % 50 == 49 else f"B{n:09d}"}
        for n in range(CATALOG_PRODUCTS)
    ]  # fmt: skip
    url = f"{runtime.api_url}catalogs/demo-catalog/enrichments"
    body = {"user_id": "demo", "provider": "keepa", "batch_size": 20, "products": products}
    status, text = post(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    print(f"\ncatalog demo-catalog: {CATALOG_PRODUCTS} products → HTTP {status} {text[:120]}")
    if status != 202:
        return False
    started = time.monotonic()
    view: dict[str, Any] = {}
    last = ""
    while time.monotonic() - started < WAIT_SECONDS:
        _, text = http_request("GET", url, None, {})
        view = json.loads(text)["data"]
        line = (
            f"  [{time.monotonic() - started:5.1f}s] {view['status']:<24} "
            f"{view['percent_complete']:5.1f}%  batches {view['batches']['completed']}+"
            f"{view['batches']['partial']} partial/{view['batches']['total']}  "
            f"enriched {view['products']['enriched']} failed {view['products']['failed']}"
        )
        if line.split("]", 1)[1] != last:
            print(line, flush=True)
            last = line.split("]", 1)[1]
        if view["status"] not in ("QUEUEING", "RUNNING"):
            break
        time.sleep(0.3)
    failed = [f["product_id"] for f in view.get("failed_products", [])]
    print(f"  failed products: {', '.join(failed) or '-'}")
    expected_failed = {p["product_id"] for p in products if p["asin"].startswith("UNKNOWN")}
    ok = (
        view.get("status") == "COMPLETED_WITH_FAILURES"
        and view["products"]["enriched"] == CATALOG_PRODUCTS - UNKNOWN_PRODUCTS
        and set(failed) == expected_failed
    )
    print(f"  expected {CATALOG_PRODUCTS - UNKNOWN_PRODUCTS} enriched, {UNKNOWN_PRODUCTS} unknown: "
          f"{'ok' if ok else 'MISMATCH'}")  # fmt: skip
    return ok


def _follow(runtime: LocalRuntime, cases: list[Case]) -> None:
    tracked = [c for c in cases if c.event_id]
    deadline = time.monotonic() + WAIT_SECONDS
    last = ""
    while time.monotonic() < deadline:
        for case in tracked:
            if case.done_at is not None:
                continue
            event = _get_event(runtime, str(case.event_id))
            case.status = event.get("status", "-")
            case.stages = [entry["status"] for entry in event.get("status_history", [])]
            if event.get("lane"):
                case.note = (
                    f"[{event['lane']} lane{', ' + event['outcome'] if 'outcome' in event else ''}]"
                )
            if settled(event):
                case.done_at = time.monotonic()
        counts: dict[str, int] = {}
        for case in {c.event_id: c for c in tracked}.values():
            counts[case.status] = counts.get(case.status, 0) + 1
        line = "  ".join(f"{status} {n}" for status, n in sorted(counts.items()))
        if line != last:
            print(f"  [{time.monotonic() - tracked[0].sent_at:5.1f}s] {line}", flush=True)
            last = line
        if all(c.done_at is not None for c in tracked):
            return
        time.sleep(0.3)


def _report(runtime: LocalRuntime, cases: list[Case]) -> None:
    header = (
        f"{'scenario':<32} {'expected':<18} {'HTTP':>4}  {'event':<8} {'final status':<14} "
        f"{'time':>6}  stages"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for case in cases:
        expected = f"{case.expected_http} {case.expected_status}"
        took = f"{case.done_at - case.sent_at:5.1f}s" if case.done_at else "     -"
        mark = "ok" if case.matched else "MISMATCH"
        print(
            f"{case.label:<32} {expected:<18} {case.http:>4}  {(case.event_id or '-')[:8]:<8} "
            f"{case.status:<14} {took:>6}  {' > '.join(case.stages) or '-'} {case.note}  {mark}"
        )
    _erp_summary(runtime)
    print("\ndead-letter queues:")
    for path, depth in _dlq_depths(runtime).items():
        print(f"  {path:<40} {depth}")


def _erp_summary(runtime: LocalRuntime) -> None:
    """ERP events by entity and status, as `GET /stats` (and `ops status`) report them."""
    status, text = http_request("GET", f"{runtime.api_url}stats", None, {})
    if status != 200:
        print(f"\nGET /stats answered {status}")
        return
    by_entity = json.loads(text)["data"].get("events_by_entity", {})
    print("\nERP events by entity (GET /stats):")
    for entity, counts in sorted(by_entity.items()):
        print(f"  {entity:<12} " + ", ".join(f"{s} {n}" for s, n in sorted(counts.items())))


def _dlq_depths(runtime: LocalRuntime) -> dict[str, int]:
    sqs = runtime.client("sqs")
    depths = {}
    for logical_id, url in runtime.provisioned.dead_letter_queues.items():
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        path = runtime.template.path_of(logical_id).split("/", 1)[1].removesuffix("/Resource")
        depths[path] = int(attributes["ApproximateNumberOfMessages"])
    return depths


def _dlq_depths_match(runtime: LocalRuntime) -> bool:
    depths = _dlq_depths(runtime)
    expected = {path: (1 if path.startswith("ProcessingQueue/") else 0) for path in depths}
    return depths == expected
