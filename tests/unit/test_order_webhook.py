"""Validation of the order webhook body."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from orders.webhook import OrderEventType, OrderWebhook

VALID = {
    "order_id": "QO-123456",
    "event_type": "order.created",
    "timestamp": "2026-11-20T10:00:00Z",
}


def errors_for(**changes: Any) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        OrderWebhook.model_validate({**VALID, **changes})
    return {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}


def test_a_valid_body_parses_and_ignores_unknown_fields() -> None:
    webhook = OrderWebhook.model_validate({**VALID, "extra": 1})
    assert webhook.order_id == "QO-123456"
    assert webhook.event_type is OrderEventType.CREATED


@pytest.mark.parametrize("order_id", ["QO-123", "QO-0000001"])
def test_order_ids_of_six_or_more_characters_pass(order_id: str) -> None:
    assert OrderWebhook.model_validate({**VALID, "order_id": order_id}).order_id == order_id


@pytest.mark.parametrize("order_id", ["QO-12", "qo-123456", "QO123456", "QO-12a456", "", 123456])
def test_bad_order_ids_fail(order_id: Any) -> None:
    assert errors_for(order_id=order_id) == {"order_id"}


@pytest.mark.parametrize("event_type", [e.value for e in OrderEventType])
def test_every_documented_event_type_passes(event_type: str) -> None:
    assert OrderWebhook.model_validate({**VALID, "event_type": event_type}).event_type == event_type


def test_an_undocumented_event_type_fails() -> None:
    assert errors_for(event_type="order.shipped") == {"event_type"}


@pytest.mark.parametrize("timestamp", ["2026-11-20T10:00:00", "yesterday", "2026-13-01T00:00:00Z"])
def test_timestamps_need_a_timezone_and_iso_8601(timestamp: str) -> None:
    assert errors_for(timestamp=timestamp) == {"timestamp"}


def test_an_offset_timezone_passes() -> None:
    webhook = OrderWebhook.model_validate({**VALID, "timestamp": "2026-11-20T10:00:00-05:00"})
    assert webhook.timestamp.utcoffset() is not None
