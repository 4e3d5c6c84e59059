"""ERP entity sync domain: per-entity validation, priority lanes, inbox keys, backoff."""

from __future__ import annotations

import math
import random

import pytest

from erp.entities import ROUTES, EntityType, validate_webhook
from erp.inbox import canonical_json, content_hash, idempotency_key
from erp.priority import Lane, lane_of, priority_of
from shared.backoff import Backoff
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


def test_the_idempotency_key_carries_the_content_hash() -> None:
    first, _ = validate_webhook(
        EntityType.PRODUCT, body(EntityType.PRODUCT, VALID_DATA[EntityType.PRODUCT])
    )
    same, _ = validate_webhook(
        EntityType.PRODUCT,
        body(EntityType.PRODUCT, dict(reversed(list(VALID_DATA[EntityType.PRODUCT].items())))),
    )
    changed, _ = validate_webhook(
        EntityType.PRODUCT,
        body(EntityType.PRODUCT, {**VALID_DATA[EntityType.PRODUCT], "name": "Widget v2"}),
    )
    assert first is not None
    assert same is not None
    assert changed is not None
    key = idempotency_key(first)
    assert key == f"zoho:product:E-1:update:{content_hash(first.data)[:16]}"
    assert idempotency_key(same) == key  # an identical re-delivery: a duplicate
    # A later update of the same entity with different data is a new event
    assert idempotency_key(changed) != key
    assert idempotency_key(changed).rsplit(":", 1)[0] == key.rsplit(":", 1)[0]


def test_backoff_doubles_from_the_base_up_to_the_cap_without_jitter() -> None:
    backoff = Backoff(base_seconds=1, cap_seconds=60, jitter_ratio=0)
    assert [backoff.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.delay(500) == 60


@pytest.mark.parametrize("attempt", [1, 2, 3, 6, 7, 20])
def test_backoff_jitter_stays_within_its_bounds(attempt: int) -> None:
    backoff = Backoff(base_seconds=1, cap_seconds=60, jitter_ratio=0.2)
    planned = min(2 ** (attempt - 1), 60)
    rng = random.Random(attempt)  # noqa: S311 - seeded, for a repeatable test
    delays = [backoff.delay(attempt, rng) for _ in range(200)]
    assert min(delays) >= planned
    assert max(delays) <= math.ceil(planned * 1.2)
    if planned >= 5:
        assert len(set(delays)) > 1  # jitter actually spreads retries


def test_backoff_refuses_attempt_zero() -> None:
    with pytest.raises(ValueError, match="attempt starts at 1"):
        Backoff().delay(0)
