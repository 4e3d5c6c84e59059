"""Inbox identity: when two ERP deliveries are the same delivery, and when they are two changes.

A delivery is identified by its entity, event type, the canonical hash of its data and its source
time. With `occurred_at` that is the ERP's own timestamp: a re-delivery carries the same one, and
a later change back to an earlier state (A → B → A) carries a later one, so it is a new event.
Without `occurred_at`, a delivery repeats the entity's latest accepted delivery without a
timestamp when it has the same content and arrives inside the dedupe window; its source time is
when that latest delivery was first seen. Anything else (other content, a change in between, the
window passed) is a new event, first seen now.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from erp.entities import ErpWebhook
from shared.dynamo import instant, json_number
from shared.sources import Source


def canonical_json(data: Any) -> str:
    """Sorted keys, no insignificant whitespace, UTF-8: equal data gives equal bytes."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=json_number
    )


def content_hash(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def large_data_key(data: Any) -> str:
    """Where data too large for an item is kept, by its content hash: the object never changes."""
    return f"{Source.ERP.value}/data/{content_hash(data)}.json"


def content_key(webhook: ErpWebhook) -> str:
    """`zoho:{entity_type}:{entity_id}:{event_type}:{hash16}`: what the delivery says."""
    hash16 = content_hash(webhook.data)[:16]
    return (
        f"{Source.ERP.value}:{webhook.entity_type.value}:{webhook.entity_id}:"
        f"{webhook.event_type.value}:{hash16}"
    )


@dataclass(frozen=True)
class LatestDelivery:
    """An entity's latest accepted delivery without a timestamp."""

    content_key: str
    first_seen_at: datetime

    @property
    def idempotency_key(self) -> str:
        return f"{self.content_key}:{instant(self.first_seen_at)}"


@dataclass(frozen=True)
class DeliveryIdentity:
    idempotency_key: str  # `{content_key}:{source time}`: one event per key
    source_timestamp: datetime  # what orders the entity's updates in the entity store
    # The entity's new latest delivery to record first (a new delivery without a timestamp).
    new_latest: LatestDelivery | None = None


def identify(
    webhook: ErpWebhook, latest: LatestDelivery | None, *, now: datetime, window: timedelta
) -> DeliveryIdentity:
    """Which delivery `webhook` is, given the entity's latest delivery without a timestamp."""
    key = content_key(webhook)
    if webhook.occurred_at is not None:
        at = webhook.occurred_at
        return DeliveryIdentity(f"{key}:{instant(at)}", at)
    if latest is not None and latest.content_key == key and now - latest.first_seen_at < window:
        return DeliveryIdentity(latest.idempotency_key, latest.first_seen_at)
    new = LatestDelivery(content_key=key, first_seen_at=now)
    return DeliveryIdentity(new.idempotency_key, now, new_latest=new)
