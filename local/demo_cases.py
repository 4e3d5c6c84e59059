"""The scripted webhooks of `make demo`, each with the outcome it must reach."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from local.peers import FaultRule, marketplace_order
from local.runtime import LocalRuntime
from local.send import http_request, signed_headers


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


def order_cases(runtime: LocalRuntime) -> list[Case]:
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
        *erp_cases(runtime.erp_webhook_keys[0]),
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


def erp_cases(key: str) -> list[Case]:
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


def script_failures(runtime: LocalRuntime) -> None:
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
