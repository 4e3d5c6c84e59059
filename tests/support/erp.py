"""ERP entity webhooks as the ERP sends them (valid data for each of the seven entities), and
the ERP pipeline's steps as a test drives them: post a webhook, sync a lane, read an entity."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from erp.entities import EntityType
from tests.support import tables
from tests.support.aws import ERP_KEY
from tests.support.lambda_events import FakeLambdaContext, api_event, response_json
from tests.support.pump import deliver_one

VALID_DATA: dict[EntityType, dict[str, Any]] = {
    EntityType.PRODUCT: {"item_id": "I-1", "name": "Widget", "sku": "W-1"},
    EntityType.CUSTOMER: {"contact_id": "C-1", "contact_name": "Acme"},
    EntityType.INVOICE: {"invoice_id": "INV-1", "customer_id": "C-1", "total": 120.5},
    EntityType.BILL: {"bill_id": "B-1", "vendor_id": "V-1", "total": "99.90"},
    EntityType.CREDIT_NOTE: {"creditnote_id": "CN-1", "customer_id": "C-1", "total": 10},
    EntityType.STOCK: {"item_id": "I-1", "warehouse_id": "W-1", "quantity": 42},
    EntityType.PRICE: {"pricebook_id": "PB-1", "item_id": "I-1", "rate": 9.99},
}


def body(entity: EntityType, data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "event_type": "update",
        "entity_type": entity.value,
        "entity_id": "E-1",
        "data": data,
        "occurred_at": "2026-11-20T10:00:00Z",
        **changes,
    }


# The lane each route's priority maps to.
LANES = {"invoices": "high", "products": "standard", "customers": "standard", "bills": "standard",
         "credit-notes": "low", "stock": "low", "prices": "low"}  # fmt: skip


def post(route: str, document: Any, key: str | None = ERP_KEY, **headers: str) -> dict[str, Any]:
    """POST /webhooks/zoho/{route} through the ERP ingest handler."""
    from erp_ingest.handler import handler

    all_headers = {"Content-Type": "application/json", **headers}
    if key is not None:
        all_headers["X-Webhook-Key"] = key
    event = api_event(
        "POST",
        f"/webhooks/zoho/{route}",
        resource="/webhooks/zoho/{entity}",
        body=json.dumps(document),
        headers=all_headers,
        path_parameters={"entity": route},
    )
    return dict(handler(event, FakeLambdaContext()))


def accept(route: str, document: dict[str, Any]) -> str:
    """POST, expecting 202; returns the event id."""
    response = post(route, document)
    assert response["statusCode"] == 202, response["body"]
    return str(response_json(response)["data"]["event_id"])


def sync_one(lane_url: str, lane_arn: str) -> dict[str, Any]:
    """Deliver the next message of a lane to the sync worker, alone, as Lambda would."""
    from erp_sync_worker.handler import handler

    return deliver_one(handler, lane_url, lane_arn)


def entity(entity_type: str, entity_id: str) -> dict[str, Any]:
    """The entity store's item, or {} when there is none."""
    key = {"entity_type": entity_type, "entity_id": entity_id}
    return dict(tables.entities().get_item(Key=key).get("Item", {}))


def fail_entity_writes(monkeypatch: pytest.MonkeyPatch, code: str, times: int) -> list[str]:
    """The entity store's next `times` writes fail with `code`; returns the failures so far."""
    from shared import aws_clients

    client = aws_clients.dynamodb_client()
    original = client.update_item
    entities_table = tables.entities().name
    failures: list[str] = []

    def flaky(**kwargs: Any) -> Any:
        if kwargs.get("TableName") == entities_table and len(failures) < times:
            failures.append(code)
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, "UpdateItem")
        return original(**kwargs)

    monkeypatch.setattr(client, "update_item", flaky)
    return failures
