"""The entity store: the latest known state of each ERP entity (partition `entity_type`, sort
`entity_id`). Writes are ordering-safe: an event older than what is stored does not overwrite it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from erp.inbox import instant
from shared import aws_clients
from shared.claim_check import ClaimRef
from shared.event_store import stored, utc_now


class Outcome(StrEnum):
    SYNCED = "synced"
    STALE_IGNORED = "stale_ignored"
    PING = "ping"  # a synthetic event: nothing was written


class EntityStore:
    def __init__(self, table_name: str) -> None:
        self._table = aws_clients.dynamodb().Table(table_name)

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
        try:
            self._table.update_item(
                Key={"entity_type": entity_type, "entity_id": entity_id},
                UpdateExpression=expression,
                ConditionExpression="attribute_not_exists(#ts) OR #ts < :ts",
                ExpressionAttributeNames={"#ts": "source_timestamp", "#data": "data"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            current = self.get(entity_type, entity_id) or {}
            if current.get("last_event_id") == event_id:
                return Outcome.SYNCED  # this very event was applied before: a redelivery
            return Outcome.STALE_IGNORED
        return Outcome.SYNCED

    def get(self, entity_type: str, entity_id: str) -> dict[str, Any] | None:
        response = self._table.get_item(
            Key={"entity_type": entity_type, "entity_id": entity_id}, ConsistentRead=True
        )
        return response.get("Item")
