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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from local.peers import FaultRule, marketplace_order
from local.runtime import LocalRuntime, RuntimeOptions
from local.send import http_request, post, signed_headers
from ops_cli.events import settled

WAIT_SECONDS = 60


@dataclass
class Case:
    label: str
    expected_http: int
    expected_status: str  # final event status, or "-" when no event must exist
    body: bytes
    headers: dict[str, str]
    path: str = "webhooks/qualia"
    http: int = 0
    event_id: str | None = None
    sent_at: float = 0.0
    done_at: float | None = None
    status: str = "-"
    stages: list[str] = field(default_factory=list)
    note: str = ""  # the ERP lane and the sync outcome
    expected_outcome: str | None = None

    @property
    def matched(self) -> bool:
        outcome_ok = self.expected_outcome is None or self.expected_outcome in self.note
        return (
            self.http == self.expected_http and self.status == self.expected_status and outcome_ok
        )


def _order(order_id: str) -> bytes:
    return json.dumps(
        {
            "order_id": order_id,
            "event_type": "order.ready_for_download",
            "timestamp": datetime.now(UTC).isoformat(),
        }
    ).encode()


def _cases(runtime: LocalRuntime) -> list[Case]:
    secret = runtime.signing_secrets[0]

    def signed(body: bytes, webhook_id: str | None = None) -> dict[str, str]:
        return signed_headers(body, secret, webhook_id)

    valid = [_order(f"QO-71000{n}") for n in (1, 2, 3)]
    first_headers = signed(valid[0])
    invalid = json.dumps({"order_id": "QO-1", "event_type": "order.shipped"}).encode()
    unsigned, flaky, atlantis = _order("QO-710004"), _order("QO-710005"), _order("QO-710006")
    svix = _order("QO-710007")
    # The same signature under Svix's header names, as the `svix` libraries send it.
    svix_headers = {k.replace("webhook-", "svix-"): v for k, v in signed(svix).items()}
    wrong_secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTI="
    return [
        Case("valid order QO-710001", 202, "PROCESSED", valid[0], first_headers),
        Case("valid order QO-710002", 202, "PROCESSED", valid[1], signed(valid[1])),
        Case("valid order QO-710003", 202, "PROCESSED", valid[2], signed(valid[2])),
        Case("duplicate of QO-710001", 200, "PROCESSED", valid[0], first_headers),
        Case("bad signature", 401, "-", unsigned, signed_headers(unsigned, wrong_secret)),
        Case("invalid body", 400, "-", invalid, signed(invalid)),
        Case("download fails twice, then ok", 202, "PROCESSED", flaky, signed(flaky)),
        Case("unknown jurisdiction", 202, "DEAD_LETTERED", atlantis, signed(atlantis)),
        Case("order with svix-* headers", 202, "PROCESSED", svix, svix_headers),
        *_erp_cases(runtime.erp_webhook_keys[0]),
    ]


_ERP_DATA: dict[str, tuple[str, dict[str, Any]]] = {
    "invoices": ("invoice", {"invoice_id": "INV-9001", "customer_id": "C-7", "total": 1250.5}),
    "products": ("product", {"item_id": "I-42", "name": "Widget", "rate": 12.5}),
    "customers": ("customer", {"contact_id": "C-7", "contact_name": "Acme Corp"}),
    "bills": ("bill", {"bill_id": "B-300", "vendor_id": "V-9", "total": 99.9}),
    "credit-notes": ("credit_note", {"creditnote_id": "CN-5", "customer_id": "C-7", "total": 20}),
    "stock": ("stock", {"item_id": "I-42", "warehouse_id": "W-1", "quantity": 130}),
    "prices": ("price", {"pricebook_id": "PB-1", "item_id": "I-42", "rate": 11.75}),
}


def _erp(route: str, key: str, occurred_at: str, **data: Any) -> tuple[bytes, dict[str, str], str]:
    entity_type, base = _ERP_DATA[route]
    body = {
        "event_type": "update",
        "entity_type": entity_type,
        "entity_id": f"{entity_type}-1",
        "data": {**base, **data},
        "occurred_at": occurred_at,
    }
    headers = {"Content-Type": "application/json", "X-Webhook-Key": key}
    return json.dumps(body).encode(), headers, f"webhooks/zoho/{route}"


def _erp_cases(key: str) -> list[Case]:
    # Event times of yesterday, an hour apart: inside the env's plausible window, in order.
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    noon, later, earlier, renamed_at, back_at = (
        (base + timedelta(hours=h)).isoformat().replace("+00:00", "Z") for h in (0, 1, -1, 2, 3)
    )
    cases = []
    for route in _ERP_DATA:
        body, headers, path = _erp(route, key, noon)
        cases.append(Case(f"ERP {route}", 202, "PROCESSED", body, headers, path))
    invoice, invoice_headers, invoice_path = _erp("invoices", key, noon)
    changed = _erp("customers", key, later, contact_name="Acme Corporation")
    older = _erp("products", key, earlier, name="Old widget")
    renamed = _erp("products", key, renamed_at, name="Widget Pro")
    renamed_back = _erp("products", key, back_at)  # the noon data again
    wrong_key = _erp("bills", "not-the-key", noon)
    invalid_body = json.dumps(
        {"event_type": "create", "entity_type": "invoice", "entity_id": "inv-2", "data": {}}
    ).encode()
    unknown = _erp("stock", key, noon)
    return [
        *cases,
        Case("ERP invoice re-delivered", 200, "PROCESSED", invoice, invoice_headers, invoice_path),
        Case("ERP customer changed", 202, "PROCESSED", *changed),
        Case("ERP product update, older", 202, "PROCESSED", *older, expected_outcome="stale"),
        Case("ERP product renamed", 202, "PROCESSED", *renamed),
        Case(
            "ERP product renamed back", 202, "PROCESSED", *renamed_back, expected_outcome="synced"
        ),
        Case("ERP wrong key", 401, "-", *wrong_key),
        Case("ERP invoice, invalid", 400, "-", invalid_body, invoice_headers, invoice_path),
        Case("ERP unknown entity", 404, "-", unknown[0], unknown[1], "webhooks/zoho/orders"),
    ]


def _script_failures(runtime: LocalRuntime) -> None:
    marketplace = runtime.marketplace
    if marketplace is None:
        raise RuntimeError("runtime not started")
    # Each SQS delivery makes 1 + max_retries HTTP attempts: fail two whole deliveries.
    worker = runtime.function("DownloadWorker")
    attempts = 1 + int(json.loads(worker.spec.environment["HTTP_CLIENT"])["max_retries"])
    marketplace.add_fault(
        FaultRule(path="/orders/QO-710005", method="GET", status=503, count=2 * attempts)
    )
    status, text = http_request(
        "PUT",
        f"{marketplace.url}/_orders/QO-710006",
        json.dumps(_atlantis_order("QO-710006")).encode(),
        {"Content-Type": "application/json"},
    )
    if status != 204:
        raise RuntimeError(f"the marketplace stand-in refused the override: {status} {text}")


def _atlantis_order(order_id: str) -> dict[str, Any]:
    document = marketplace_order(order_id)
    document["property"]["address"]["state"] = "Atlantis"
    return document


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
        _script_failures(runtime)
        cases = _cases(runtime)
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
