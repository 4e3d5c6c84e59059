"""ERP entity sync domain: per-entity validation, priority lanes, inbox keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from erp.entities import ROUTES, EntityType, ErpWebhook, validate_webhook
from erp.inbox import canonical_json, content_hash, identify
from erp.priority import Lane, lane_of, priority_of
from tests.support.erp import VALID_DATA, body

REQUIRED: dict[EntityType, set[str]] = {
    EntityType.PRODUCT: {"item_id", "name"},
    EntityType.CUSTOMER: {"contact_id", "contact_name"},
    EntityType.INVOICE: {"invoice_id", "customer_id", "total"},
    EntityType.BILL: {"bill_id", "vendor_id", "total"},
    EntityType.CREDIT_NOTE: {"creditnote_id", "customer_id", "total"},
    EntityType.STOCK: {"item_id", "warehouse_id", "quantity"},
    EntityType.PRICE: {"pricebook_id", "item_id", "rate"},
}


def test_the_seven_routes_map_to_their_entity_types_in_order() -> None:
    assert list(ROUTES) == [
        "products", "customers", "invoices", "bills", "credit-notes", "stock", "prices"
    ]  # fmt: skip
    assert [e.value for e in ROUTES.values()] == [
        "product", "customer", "invoice", "bill", "credit_note", "stock", "price"
    ]  # fmt: skip


@pytest.mark.parametrize("entity", list(EntityType))
def test_a_valid_body_passes_for_every_entity(entity: EntityType) -> None:
    webhook, problems = validate_webhook(entity, body(entity, VALID_DATA[entity]))
    assert problems == []
    assert webhook is not None
    assert webhook.entity_type is entity


@pytest.mark.parametrize("entity", list(EntityType))
def test_every_missing_required_field_is_listed(entity: EntityType) -> None:
    webhook, problems = validate_webhook(entity, body(entity, {"unrelated": 1}))
    assert webhook is None
    assert {p.field for p in problems} == {f"data.{name}" for name in REQUIRED[entity]}


def test_wrong_fields_anywhere_are_listed_together() -> None:
    document = body(
        EntityType.INVOICE,
        {"invoice_id": "", "customer_id": "C-1", "total": "lots"},
        event_type="upsert",
        entity_type="bill",
        occurred_at="yesterday",
    )
    _, problems = validate_webhook(EntityType.INVOICE, document)
    assert {p.field for p in problems} == {
        "event_type", "entity_type", "occurred_at", "data.invoice_id", "data.total"
    }  # fmt: skip
    [mismatch] = [p for p in problems if p.field == "entity_type" and "this route" in p.message]
    assert "'invoice'" in mismatch.message


def test_a_body_that_is_not_an_object_is_refused() -> None:
    _, problems = validate_webhook(EntityType.STOCK, ["not", "an", "object"])
    assert [p.field for p in problems] == ["body"]


@pytest.mark.parametrize(
    ("entity", "priority", "lane"),
    [
        ("invoice", 2, Lane.HIGH),
        ("order", 2, Lane.HIGH),
        ("product", 5, Lane.STANDARD),
        ("customer", 5, Lane.STANDARD),
        ("bill", 5, Lane.STANDARD),
        ("stock", 8, Lane.LOW),
        ("price", 8, Lane.LOW),
        ("credit_note", 8, Lane.LOW),
        ("anything_else", 8, Lane.LOW),
    ],
)
def test_priority_lanes(entity: str, priority: int, lane: Lane) -> None:
    assert priority_of(entity) == priority
    assert lane_of(entity) is lane


def test_canonical_json_ignores_key_order_and_whitespace() -> None:
    assert (
        canonical_json({"b": 1, "a": {"d": [1, 2], "c": "é"}}) == '{"a":{"c":"é","d":[1,2]},"b":1}'
    )
    assert content_hash({"b": 1, "a": 2}) == content_hash({"a": 2, "b": 1})


def _webhook(data: dict[str, Any], **changes: Any) -> ErpWebhook:
    webhook, problems = validate_webhook(
        EntityType.PRODUCT, body(EntityType.PRODUCT, data, **changes)
    )
    assert webhook is not None, problems
    return webhook


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=1)
A = {"item_id": "I-1", "name": "A"}
B = {"item_id": "I-1", "name": "B"}


def test_a_redelivery_with_the_same_body_and_source_time_has_the_same_key() -> None:
    first = identify(_webhook(A), None, now=NOW, window=WINDOW)
    # Same data in another key order, the same instant in another offset
    again = identify(
        _webhook(dict(reversed(list(A.items()))), occurred_at="2026-11-20T11:00:00+01:00"),
        None,
        now=NOW + timedelta(days=3),
        window=WINDOW,
    )
    assert first.idempotency_key == again.idempotency_key
    hash16 = content_hash(A)[:16]
    assert first.idempotency_key == (
        f"zoho:product:E-1:update:{hash16}:2026-11-20T10:00:00.000000Z"
    )
    assert first.source_timestamp == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert first.new_latest is None  # timestamped deliveries need no record of the latest


def test_a_change_back_to_an_earlier_state_is_a_new_event() -> None:
    # A -> B -> A, each with a later occurred_at
    keys = [
        identify(_webhook(data, occurred_at=at), None, now=NOW, window=WINDOW).idempotency_key
        for data, at in ((A, "2026-11-20T10:00:00Z"), (B, "2026-11-20T10:01:00Z"),
                         (A, "2026-11-20T10:02:00Z"))
    ]  # fmt: skip
    assert len(set(keys)) == 3


def test_create_delete_create_are_three_events() -> None:
    keys = {
        identify(
            _webhook(A, event_type=kind, occurred_at=at), None, now=NOW, window=WINDOW
        ).idempotency_key
        for kind, at in (("create", "2026-11-20T10:00:00Z"), ("delete", "2026-11-20T10:01:00Z"),
                         ("create", "2026-11-20T10:02:00Z"))
    }  # fmt: skip
    assert len(keys) == 3


def test_without_a_timestamp_a_repeat_of_the_latest_inside_the_window_is_the_same() -> None:
    first = identify(_webhook(A, occurred_at=None), None, now=NOW, window=WINDOW)
    assert first.new_latest is not None
    assert first.source_timestamp == NOW

    again = identify(
        _webhook(A, occurred_at=None),
        first.new_latest,
        now=NOW + timedelta(minutes=59),
        window=WINDOW,
    )

    assert again.idempotency_key == first.idempotency_key
    assert again.source_timestamp == NOW  # the first delivery's time
    assert again.new_latest is None


def test_without_a_timestamp_the_same_content_after_the_window_is_a_new_event() -> None:
    first = identify(_webhook(A, occurred_at=None), None, now=NOW, window=WINDOW)
    later = NOW + WINDOW
    again = identify(_webhook(A, occurred_at=None), first.new_latest, now=later, window=WINDOW)
    assert again.idempotency_key != first.idempotency_key
    assert again.new_latest is not None
    assert again.new_latest.first_seen_at == later


def test_without_a_timestamp_a_revert_after_another_change_is_a_new_event() -> None:
    # A, then B (now the latest), then A again within the window
    a1 = identify(_webhook(A, occurred_at=None), None, now=NOW, window=WINDOW)
    b = identify(_webhook(B, occurred_at=None), a1.new_latest, now=NOW + timedelta(minutes=1),
                 window=WINDOW)  # fmt: skip
    a2 = identify(_webhook(A, occurred_at=None), b.new_latest, now=NOW + timedelta(minutes=2),
                  window=WINDOW)  # fmt: skip
    assert len({a1.idempotency_key, b.idempotency_key, a2.idempotency_key}) == 3
    assert a2.new_latest is not None


def test_without_a_timestamp_another_event_type_is_not_a_repeat() -> None:
    created = identify(_webhook(A, event_type="create", occurred_at=None), None, now=NOW,
                       window=WINDOW)  # fmt: skip
    deleted = identify(_webhook(A, event_type="delete", occurred_at=None), created.new_latest,
                       now=NOW + timedelta(seconds=1), window=WINDOW)  # fmt: skip
    assert deleted.idempotency_key != created.idempotency_key
