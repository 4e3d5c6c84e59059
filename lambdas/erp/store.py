"""The ERP pipeline's own stores (its events are in the shared events table):

- `EntityStore`: the latest known state of each ERP entity (partition `entity_type`, sort
  `entity_id`). Writes are ordering-safe: an event older than what is stored does not overwrite it.
- `LatestDeliveries`: each entity's latest accepted delivery without a timestamp, kept beside the
  idempotency records (partition key `id`, TTL `expiration`) for as long as its dedupe window lasts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from erp.inbox import LatestDelivery
from shared.claim_check import ClaimRef
from shared.dynamo import expires_at, if_condition_holds, instant, stored, utc_now
from shared.item_table import ItemTable
from shared.sources import Source

_LATEST_PREFIX = "erp-latest-delivery#"


class Outcome(StrEnum):
    SYNCED = "synced"
    STALE_IGNORED = "stale_ignored"
    PING = "ping"  # a synthetic event: nothing was written


class EntityStore:
    def __init__(self, table_name: str) -> None:
        self._table = ItemTable(table_name)

    def apply(
        self,
        *,
        entity_type: str,
        entity_id: str,
        deleted: bool,
        data: dict[str, Any],
        source_timestamp: datetime,
        event_id: str,
        data_ref: ClaimRef | None = None,
    ) -> Outcome:
        """Upsert (or tombstone) the entity unless a newer event already wrote it. The same
        event applied twice is a no-op success, so redeliveries are safe. Data too large for an
        item is stored as its claim check (`data_ref`), the object the inbox already holds."""
        values: dict[str, Any] = {
            ":ts": instant(source_timestamp),
            ":event": event_id,
            ":deleted": deleted,
            ":now": utc_now(),
            ":one": 1,
        }
        sets = "#ts = :ts, last_event_id = :event, deleted = :deleted, updated_at = :now"
        if deleted:
            expression = f"SET {sets} REMOVE #data, data_ref ADD version :one"
        elif data_ref is not None:
            values[":ref"] = data_ref.model_dump()
            expression = f"SET {sets}, data_ref = :ref REMOVE #data ADD version :one"
        else:
            values[":data"] = stored(data)
            expression = f"SET {sets}, #data = :data REMOVE data_ref ADD version :one"
        written = if_condition_holds(
            lambda: self._table.update_item(
                Key={"entity_type": entity_type, "entity_id": entity_id},
                UpdateExpression=expression,
                ConditionExpression="attribute_not_exists(#ts) OR #ts < :ts",
                ExpressionAttributeNames={"#ts": "source_timestamp", "#data": "data"},
                ExpressionAttributeValues=values,
            )
        )
        if written is not None:
            return Outcome.SYNCED
        current = self.get(entity_type, entity_id) or {}
        if current.get("last_event_id") == event_id:
            return Outcome.SYNCED  # this very event was applied before: a redelivery
        return Outcome.STALE_IGNORED

    def get(self, entity_type: str, entity_id: str) -> dict[str, Any] | None:
        response = self._table.get_item(
            Key={"entity_type": entity_type, "entity_id": entity_id}, ConsistentRead=True
        )
        return response.get("Item")


class LatestDeliveries:
    def __init__(self, table_name: str, window: timedelta) -> None:
        self._table = ItemTable(table_name)
        self._window = window

    def get(self, entity_type: str, entity_id: str) -> LatestDelivery | None:
        item = self._table.get_item(
            Key={"id": _latest_id(entity_type, entity_id)}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return LatestDelivery(
            content_key=str(item["content_key"]),
            first_seen_at=datetime.fromisoformat(str(item["first_seen_at"])),
        )

    def replace(
        self,
        entity_type: str,
        entity_id: str,
        new: LatestDelivery,
        *,
        previous: LatestDelivery | None,
    ) -> bool:
        """Record `new` as the latest unless another delivery replaced `previous` since it was
        read (then read again). The window is checked on read; the TTL only cleans up."""
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(id)"}
            if previous is None
            else {
                "ConditionExpression": "content_key = :key AND first_seen_at = :seen",
                "ExpressionAttributeValues": {
                    ":key": previous.content_key,
                    ":seen": instant(previous.first_seen_at),
                },
            }
        )
        item: dict[str, Any] = {
            "id": _latest_id(entity_type, entity_id),
            "content_key": new.content_key,
            "first_seen_at": instant(new.first_seen_at),
            "expiration": expires_at(self._window + timedelta(days=1), start=new.first_seen_at),
        }
        written = if_condition_holds(lambda: self._table.put_item(Item=item, **condition))
        return written is not None


def _latest_id(entity_type: str, entity_id: str) -> str:
    return f"{_LATEST_PREFIX}{Source.ERP.value}:{entity_type}:{entity_id}"
