"""Inbox identity: the idempotency key and the canonical content hash of an entity's data.

The key carries the content hash so that a later update of the same entity with different data
is a new event, while an identical re-delivery is recognised as a duplicate.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from erp.entities import SOURCE, ErpWebhook


def canonical_json(data: Any) -> str:
    """Sorted keys, no insignificant whitespace, UTF-8: equal data gives equal bytes."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_number
    )


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def content_hash(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def idempotency_key(webhook: ErpWebhook) -> str:
    """`zoho:{entity_type}:{entity_id}:{event_type}:{hash16}`."""
    hash16 = content_hash(webhook.data)[:16]
    return (
        f"{SOURCE}:{webhook.entity_type.value}:{webhook.entity_id}:"
        f"{webhook.event_type.value}:{hash16}"
    )
