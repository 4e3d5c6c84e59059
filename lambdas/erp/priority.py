"""Business priority of each entity, and the queue lane it travels in."""

from __future__ import annotations

from enum import StrEnum

from erp.entities import EntityType


class Lane(StrEnum):
    HIGH = "high"
    STANDARD = "standard"
    LOW = "low"


# Lower is more urgent. Orders, if the ERP adds them, are as urgent as invoices.
PRIORITIES: dict[str, int] = {
    EntityType.INVOICE.value: 2,
    "order": 2,
    EntityType.PRODUCT.value: 5,
    EntityType.CUSTOMER.value: 5,
    EntityType.BILL.value: 5,
    EntityType.STOCK.value: 8,
    EntityType.PRICE.value: 8,
    EntityType.CREDIT_NOTE.value: 8,
}
DEFAULT_PRIORITY = 8


def priority_of(entity_type: str) -> int:
    return PRIORITIES.get(entity_type, DEFAULT_PRIORITY)


def lane_of(entity_type: str) -> Lane:
    priority = priority_of(entity_type)
    if priority <= 2:
        return Lane.HIGH
    if priority <= 5:
        return Lane.STANDARD
    return Lane.LOW
