"""The events table: one item per accepted event with its status and status history.

Status changes are conditional writes, so a redelivered message cannot move an event backwards
and two workers cannot both finish the same stage.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from shared import aws_clients


class EventStatus(StrEnum):
    RECEIVED = "RECEIVED"
    QUEUED = "QUEUED"
    DOWNLOADED = "DOWNLOADED"
    PROCESSED = "PROCESSED"
    DEAD_LETTERED = "DEAD_LETTERED"


TERMINAL_STATUSES = frozenset({EventStatus.PROCESSED})
# A status may be entered only from these; DEAD_LETTERED events re-enter a stage when redriven.
ALLOWED_FROM: dict[EventStatus, frozenset[EventStatus]] = {
    EventStatus.QUEUED: frozenset({EventStatus.RECEIVED}),
    EventStatus.DOWNLOADED: frozenset(
        {EventStatus.RECEIVED, EventStatus.QUEUED, EventStatus.DEAD_LETTERED}
    ),
    EventStatus.PROCESSED: frozenset({EventStatus.DOWNLOADED, EventStatus.DEAD_LETTERED}),
    EventStatus.DEAD_LETTERED: frozenset(
        {EventStatus.RECEIVED, EventStatus.QUEUED, EventStatus.DOWNLOADED}
    ),
}


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventStore:
    """Adapter over the events table (partition key `event_id`)."""

    def __init__(self, table_name: str, ttl_days: int = 365) -> None:
        self._table = aws_clients.dynamodb().Table(table_name)
        self._ttl_seconds = ttl_days * 86400

    def record_received(self, event_id: str, attributes: dict[str, Any]) -> bool:
        """Write a new event as RECEIVED. Returns False when it already moved past RECEIVED,
        i.e. it is a duplicate; an event still RECEIVED (its enqueue failed) is written again so
        the retry can queue it."""
        now = utc_now()
        item = {
            **attributes,
            "event_id": event_id,
            "status": EventStatus.RECEIVED.value,
            "status_history": [{"status": EventStatus.RECEIVED.value, "at": now}],
            "received_at": now,
            "updated_at": now,
            "expires_at": int(time.time()) + self._ttl_seconds,
        }
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(event_id) OR #status = :received",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":received": EventStatus.RECEIVED.value},
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def get(self, event_id: str) -> dict[str, Any] | None:
        response = self._table.get_item(Key={"event_id": event_id}, ConsistentRead=True)
        return response.get("Item")

    def transition(
        self,
        event_id: str,
        to_status: EventStatus,
        *,
        detail: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> bool:
        """Move the event to `to_status` if its current status allows it; False otherwise."""
        now = utc_now()
        entry: dict[str, Any] = {"status": to_status.value, "at": now}
        if detail:
            entry["detail"] = detail
        names = {"#status": "status", "#history": "status_history", "#updated": "updated_at"}
        values: dict[str, Any] = {
            ":to": to_status.value,
            ":entry": [entry],
            ":now": now,
        }
        sets = ["#status = :to", "#history = list_append(#history, :entry)", "#updated = :now"]
        for index, (key, value) in enumerate((attributes or {}).items()):
            names[f"#a{index}"] = key
            values[f":a{index}"] = value
            sets.append(f"#a{index} = :a{index}")
        allowed = sorted(ALLOWED_FROM[to_status])
        for index, status in enumerate(allowed):
            values[f":from{index}"] = status.value
        condition = f"#status IN ({', '.join(f':from{i}' for i in range(len(allowed)))})"
        try:
            self._table.update_item(
                Key={"event_id": event_id},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=f"attribute_exists(event_id) AND {condition}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
