"""The seven ERP entity webhooks: routes, entity types, and what each one's `data` must hold.

Validation lists every missing or wrong field at once, with its path, so the sender (and the
operator reading the REJECTED inbox record) can fix everything in one go.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)

from shared.fields import AsciiDecimal, AsciiId


class EntityType(StrEnum):
    PRODUCT = "product"
    CUSTOMER = "customer"
    INVOICE = "invoice"
    BILL = "bill"
    CREDIT_NOTE = "credit_note"
    STOCK = "stock"
    PRICE = "price"


class ErpEventType(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    # Ours, not the ERP's: a synthetic event (`ops smoke`) that passes every stage without
    # writing the entity store; its `data` is not validated.
    PING = "ping"


# The route segment of POST /webhooks/zoho/{entity} → the entity_type its body must carry.
ROUTES: dict[str, EntityType] = {
    "products": EntityType.PRODUCT,
    "customers": EntityType.CUSTOMER,
    "invoices": EntityType.INVOICE,
    "bills": EntityType.BILL,
    "credit-notes": EntityType.CREDIT_NOTE,
    "stock": EntityType.STOCK,
    "prices": EntityType.PRICE,
}


class _EntityData(BaseModel):
    """Required fields are checked; everything else the ERP sends is kept as it is."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class ProductData(_EntityData):
    item_id: AsciiId
    name: str = Field(min_length=1)


class CustomerData(_EntityData):
    contact_id: AsciiId
    contact_name: str = Field(min_length=1)


class InvoiceData(_EntityData):
    invoice_id: AsciiId
    customer_id: AsciiId
    total: AsciiDecimal


class BillData(_EntityData):
    bill_id: AsciiId
    vendor_id: AsciiId
    total: AsciiDecimal


class CreditNoteData(_EntityData):
    creditnote_id: AsciiId
    customer_id: AsciiId
    total: AsciiDecimal


class StockData(_EntityData):
    item_id: AsciiId
    warehouse_id: AsciiId
    quantity: AsciiDecimal


class PriceData(_EntityData):
    pricebook_id: AsciiId
    item_id: AsciiId
    rate: AsciiDecimal = Field(ge=0)


DATA_MODELS: dict[EntityType, type[_EntityData]] = {
    EntityType.PRODUCT: ProductData,
    EntityType.CUSTOMER: CustomerData,
    EntityType.INVOICE: InvoiceData,
    EntityType.BILL: BillData,
    EntityType.CREDIT_NOTE: CreditNoteData,
    EntityType.STOCK: StockData,
    EntityType.PRICE: PriceData,
}


class ErpWebhook(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ErpEventType
    entity_type: EntityType
    entity_id: AsciiId
    data: dict[str, Any]
    occurred_at: AwareDatetime | None = None


class FieldError(BaseModel):
    field: str
    message: str


def _errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    return [
        FieldError(field=prefix + (".".join(str(p) for p in e["loc"]) or "body"), message=e["msg"])
        for e in exc.errors()
    ]


def validate_webhook(
    route_entity: EntityType, document: Any
) -> tuple[ErpWebhook | None, list[FieldError]]:
    """The parsed webhook, or None and every problem found (envelope and `data` together)."""
    if not isinstance(document, dict):
        return None, [FieldError(field="body", message="must be a JSON object")]
    problems: list[FieldError] = []
    webhook: ErpWebhook | None = None
    try:
        webhook = ErpWebhook.model_validate(document)
    except ValidationError as exc:
        problems += _errors(exc)
    declared = document.get("entity_type")
    if declared is not None and declared != route_entity.value:
        problems.append(
            FieldError(field="entity_type", message=f"must be {route_entity.value!r} on this route")
        )
    data = document.get("data")
    if isinstance(data, dict) and document.get("event_type") != ErpEventType.PING.value:
        try:
            DATA_MODELS[route_entity].model_validate(data)
        except ValidationError as exc:
            problems += _errors(exc, prefix="data.")
    if problems:
        return None, _dedupe(problems)
    return webhook, []


def _dedupe(problems: list[FieldError]) -> list[FieldError]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.field, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique
