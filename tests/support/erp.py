"""ERP entity webhooks as the ERP sends them: valid data for each of the seven entities."""

from __future__ import annotations

from typing import Any

from erp.entities import EntityType

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
