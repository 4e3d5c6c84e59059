"""The events table: one item per accepted event with its status and status history.

Status changes are conditional writes, so a redelivered message cannot move an event backwards
and two workers cannot both finish the same stage.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from shared import aws_clients


class EventStatus(StrEnum):
    RECEIVED = "RECEIVED"
    QUEUED = "QUEUED"
    DOWNLOADED = "DOWNLOADED"
    PROCESSING = "PROCESSING"  # a worker is on it (one entry per attempt)
    RETRYING = "RETRYING"  # the attempt failed; the next one is scheduled
    PROCESSED = "PROCESSED"
    DEAD_LETTERED = "DEAD_LETTERED"
    REJECTED = "REJECTED"  # refused at ingest (invalid); kept so operators see what was refused


TERMINAL_STATUSES = frozenset({EventStatus.PROCESSED})
IN_FLIGHT_STATUSES = (
    EventStatus.RECEIVED,
    EventStatus.QUEUED,
    EventStatus.DOWNLOADED,
    EventStatus.PROCESSING,
    EventStatus.RETRYING,
)
STATUS_INDEX = "by-status"
PIPELINE_INDEX = "by-pipeline"
_CURSOR_KEYS = frozenset({"event_id", "status", "pipeline", "received_at"})
# A status may be entered only from these. DEAD_LETTERED events re-enter a stage when redriven;
# RETRYING is entered from whatever status the failing stage found (and again on each failure).
_RETRYABLE_FROM = frozenset(
    {
        EventStatus.RECEIVED,  # a worker may run before the ingest wrote QUEUED
        EventStatus.QUEUED,
        EventStatus.DOWNLOADED,
        EventStatus.PROCESSING,
        EventStatus.RETRYING,
        EventStatus.DEAD_LETTERED,
    }
)
ALLOWED_FROM: dict[EventStatus, frozenset[EventStatus]] = {
    EventStatus.QUEUED: frozenset({EventStatus.RECEIVED}),
    EventStatus.DOWNLOADED: frozenset(
        {
            EventStatus.RECEIVED,
            EventStatus.QUEUED,
            EventStatus.RETRYING,
            EventStatus.DEAD_LETTERED,
        }
    ),
    EventStatus.PROCESSING: frozenset(
        {
            EventStatus.RECEIVED,
            EventStatus.QUEUED,
            EventStatus.RETRYING,
            EventStatus.PROCESSING,  # redelivered after a crash mid-attempt
            EventStatus.DEAD_LETTERED,
        }
    ),
    EventStatus.RETRYING: _RETRYABLE_FROM,
    EventStatus.PROCESSED: frozenset(
        {
            EventStatus.DOWNLOADED,
            EventStatus.PROCESSING,
            EventStatus.RETRYING,
            EventStatus.DEAD_LETTERED,
        }
    ),
    # Again from DEAD_LETTERED: a redriven event that fails again gets its new reason.
    EventStatus.DEAD_LETTERED: _RETRYABLE_FROM,
}


@dataclass(frozen=True)
class FinalAttemptMark:
    """Where the DEAD_LETTERED entry written before a final attempt sits in the history, and
    the token that proves it is still that entry."""

    index: int
    token: str


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; JSON and pydantic want int or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def stored(value: Any) -> Any:
    """The inverse of `plain`: DynamoDB takes numbers as Decimal, never float."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def iso_time(moment: datetime) -> str:
    """The tables' time format (UTC, milliseconds, `Z`): comparable as a string."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> str:
    return iso_time(datetime.now(UTC))


class EventStore:
    """Adapter over the events table (partition key `event_id`)."""

    def __init__(self, table_name: str, ttl_days: int = 365) -> None:
        self._table = aws_clients.dynamodb().Table(table_name)
        self._ttl_seconds = ttl_days * 86400

    def record_received(self, event_id: str, attributes: dict[str, Any]) -> bool:
        """Write a new event as RECEIVED. Returns False when it already moved past RECEIVED,
        i.e. it is a duplicate; an event still RECEIVED (its enqueue failed) is written again so
        the retry can queue it."""
        item = self._new_item(event_id, EventStatus.RECEIVED, attributes)
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

    def list_events(
        self,
        *,
        status: str | None,
        pipeline: str | None,
        limit: int,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first, through the status index (or the pipeline index), one page at a time."""
        if status:
            index, key_name, key_value = STATUS_INDEX, "status", status
        elif pipeline:
            index, key_name, key_value = PIPELINE_INDEX, "pipeline", pipeline
        else:
            raise ValueError("status or pipeline is required")
        arguments: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": Key(key_name).eq(key_value),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if status and pipeline:
            arguments["FilterExpression"] = Attr("pipeline").eq(pipeline)
        start = decode_cursor(cursor)
        if start:
            arguments["ExclusiveStartKey"] = start
        items: list[dict[str, Any]] = []
        while True:  # a filter can leave a page short: read on until full or exhausted
            page = self._table.query(**arguments)
            items.extend(page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if len(items) >= limit or not last:
                break
            arguments["ExclusiveStartKey"] = last
            arguments["Limit"] = limit - len(items)
        return items[:limit], encode_cursor(last)

    def count_by(
        self, status: str, attributes: Sequence[str], max_items: int = 100_000
    ) -> dict[str, dict[str, int]]:
        """How many events have `status`, per value of each of `attributes` (events without
        one are not counted under it). Bounded: an ops view, not a report."""
        counts: dict[str, dict[str, int]] = {name: {} for name in attributes}
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        arguments: dict[str, Any] = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": Key("status").eq(status),
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
        }
        seen = 0
        while seen < max_items:
            page = self._table.query(**arguments)
            for item in page.get("Items", []):
                for name in attributes:
                    if name in item:
                        value = str(plain(item[name]))
                        counts[name][value] = counts[name].get(value, 0) + 1
            seen += len(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                break
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return counts

    def not_moved_since(self, status: str, cutoff: str) -> list[dict[str, Any]]:
        """Events in `status` whose last change is older than `cutoff` and that were not due
        for a scheduled retry since then either: a retry waits hours by the schedule, and an
        event is stuck only once its retry too is older than the cutoff."""
        arguments: dict[str, Any] = {
            "IndexName": STATUS_INDEX,
            # Received after the cutoff means changed after it too: only older ones are read.
            "KeyConditionExpression": Key("status").eq(status) & Key("received_at").lt(cutoff),
            "FilterExpression": Attr("updated_at").lt(cutoff)
            & (Attr("next_retry_at").not_exists() | Attr("next_retry_at").lt(cutoff)),
        }
        items: list[dict[str, Any]] = []
        while True:
            page = self._table.query(**arguments)
            items.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return items
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_once(self, event_id: str, attribute: str, value: Any, *, seen_update: str) -> bool:
        """Set `attribute` unless it is already set or the event changed since `seen_update`.
        Touches `updated_at`, so a re-enqueued event gets a whole new window to move."""
        try:
            self._table.update_item(
                Key={"event_id": event_id},
                UpdateExpression="SET #a = :v, #updated = :now",
                ConditionExpression="attribute_not_exists(#a) AND #updated = :seen",
                ExpressionAttributeNames={"#a": attribute, "#updated": "updated_at"},
                ExpressionAttributeValues={":v": value, ":now": utc_now(), ":seen": seen_update},
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def unmark(self, event_id: str, attribute: str, *, updated_at: str) -> None:
        """Undo `mark_once`, `updated_at` included: as if it had never been marked."""
        self._table.update_item(
            Key={"event_id": event_id},
            UpdateExpression="REMOVE #a SET #updated = :was",
            ExpressionAttributeNames={"#a": attribute, "#updated": "updated_at"},
            ExpressionAttributeValues={":was": updated_at},
        )

    def oldest_received_at(self, status: str) -> str | None:
        page = self._table.query(
            IndexName=STATUS_INDEX,
            KeyConditionExpression=Key("status").eq(status),
            ScanIndexForward=True,
            Limit=1,
            ProjectionExpression="received_at",
        )
        items = page.get("Items", [])
        return str(items[0]["received_at"]) if items else None

    def note(self, event_id: str, attribute: str, value: Any) -> None:
        """Record an operator action on the event without changing its status."""
        self._table.update_item(
            Key={"event_id": event_id},
            UpdateExpression="SET #a = :v, #updated = :now",
            ConditionExpression="attribute_exists(event_id)",
            ExpressionAttributeNames={"#a": attribute, "#updated": "updated_at"},
            ExpressionAttributeValues={":v": value, ":now": utc_now()},
        )

    def record_rejected(self, event_id: str, attributes: dict[str, Any], errors: list[Any]) -> None:
        """Keep a refused delivery, with every reason, as a REJECTED event."""
        self._table.put_item(
            Item=self._new_item(event_id, EventStatus.REJECTED, {**attributes, "errors": errors}),
            ConditionExpression="attribute_not_exists(event_id)",
        )

    def _new_item(
        self, event_id: str, status: EventStatus, attributes: dict[str, Any]
    ) -> dict[str, Any]:
        now = utc_now()
        return {
            **attributes,
            "event_id": event_id,
            "status": status.value,
            "status_history": [{"status": status.value, "at": now}],
            "received_at": now,
            "updated_at": now,
            "expires_at": int(time.time()) + self._ttl_seconds,
        }

    def get(self, event_id: str) -> dict[str, Any] | None:
        response = self._table.get_item(Key={"event_id": event_id}, ConsistentRead=True)
        return response.get("Item")

    def transition(
        self,
        event_id: str,
        to_status: EventStatus,
        *,
        detail: str | None = None,
        stage: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> bool:
        """Move the event to `to_status` if its current status allows it; False otherwise.
        `next_retry_at` is kept only while the event waits for a retry."""
        entry = _history_entry(to_status, detail, stage)
        names = {"#status": "status", "#history": "status_history", "#updated": "updated_at"}
        values: dict[str, Any] = {":to": to_status.value, ":entry": [entry], ":now": entry["at"]}
        sets = ["#status = :to", "#history = list_append(#history, :entry)", "#updated = :now"]
        for index, (key, value) in enumerate((attributes or {}).items()):
            names[f"#a{index}"] = key
            values[f":a{index}"] = value
            sets.append(f"#a{index} = :a{index}")
        expression = "SET " + ", ".join(sets)
        if "next_retry_at" not in (attributes or {}):
            expression += " REMOVE next_retry_at"
        allowed = sorted(ALLOWED_FROM[to_status])
        for index, status in enumerate(allowed):
            values[f":from{index}"] = status.value
        condition = f"#status IN ({', '.join(f':from{i}' for i in range(len(allowed)))})"
        return self._update_if(
            event_id,
            UpdateExpression=expression,
            ConditionExpression=f"attribute_exists(event_id) AND {condition}",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def begin_final_attempt(
        self, event: dict[str, Any], *, stage: str, attempt: int, of: int, ends_by: datetime
    ) -> FinalAttemptMark | None:
        """Mark `event` (as just read) DEAD_LETTERED before its final attempt runs: if that
        attempt never returns, SQS moves the message to the DLQ and this is what operators see.
        Until `ends_by` (the invocation's end) the attempt may still settle it either way.
        None when the event changed since it was read (read it again)."""
        history = list(event.get("status_history") or [])
        mark = FinalAttemptMark(index=len(history), token=uuid.uuid4().hex)
        started, deadline = utc_now(), iso_time(ends_by)
        reason = (
            f"the final attempt ({attempt} of {of}), started {started}, did not finish by "
            f"{deadline} at the {stage} stage: the function timed out, ran out of memory or "
            "crashed, and SQS moved the message to its queue's DLQ"
        )
        entry = {**_history_entry(EventStatus.DEAD_LETTERED, reason, stage), "mark": mark.token}
        dead_letter = {
            "stage": stage,
            "reason": reason,
            "attempts": attempt,
            "at": started,
            "attempt_ends_by": deadline,
        }
        updated = self._update_if(
            str(event["event_id"]),
            UpdateExpression=(
                "SET #status = :dead, #history = list_append(#history, :entry), "
                "#updated = :now, dead_letter = :dl REMOVE next_retry_at"
            ),
            ConditionExpression="#status = :seen AND size(#history) = :length",
            ExpressionAttributeNames={
                "#status": "status",
                "#history": "status_history",
                "#updated": "updated_at",
            },
            ExpressionAttributeValues={
                ":dead": EventStatus.DEAD_LETTERED.value,
                ":entry": [entry],
                ":now": started,
                ":dl": dead_letter,
                ":seen": event["status"],
                ":length": mark.index,
            },
        )
        return mark if updated else None

    def final_attempt_succeeded(self, event_id: str, mark: FinalAttemptMark) -> None:
        """The final attempt finished: its DEAD_LETTERED mark never happened."""
        self._update_if(
            event_id,
            UpdateExpression=f"REMOVE #history[{mark.index}], dead_letter",
            ConditionExpression=f"#history[{mark.index}].#mark = :token",
            ExpressionAttributeNames={"#history": "status_history", "#mark": "mark"},
            ExpressionAttributeValues={":token": mark.token},
        )

    def final_attempt_failed(
        self, event_id: str, mark: FinalAttemptMark, dead_letter: dict[str, Any]
    ) -> bool:
        """The final attempt failed: its mark becomes the dead letter, with the real reason.
        False when the mark is gone (another receive settled it)."""
        entry = _history_entry(
            EventStatus.DEAD_LETTERED, dead_letter["reason"], dead_letter["stage"]
        )
        return self._update_if(
            event_id,
            UpdateExpression=(
                f"SET #history[{mark.index}] = :entry, dead_letter = :dl, #updated = :now"
            ),
            ConditionExpression=f"#history[{mark.index}].#mark = :token",
            ExpressionAttributeNames={
                "#history": "status_history",
                "#mark": "mark",
                "#updated": "updated_at",
            },
            ExpressionAttributeValues={
                ":entry": entry,
                ":dl": dead_letter,
                ":now": entry["at"],
                ":token": mark.token,
            },
        )

    def _update_if(self, event_id: str, **arguments: Any) -> bool:
        """A conditional UpdateItem: False when its condition does not hold."""
        try:
            self._table.update_item(Key={"event_id": event_id}, **arguments)
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True


def _history_entry(status: EventStatus, detail: str | None, stage: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": status.value, "at": utc_now()}
    if stage:
        entry["stage"] = stage
    if detail:
        entry["detail"] = detail
    return entry


class InvalidCursorError(ValueError):
    pass


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode()


def decode_cursor(
    cursor: str | None, keys: frozenset[str] | None = None, required: str = "event_id"
) -> dict[str, Any] | None:
    """The opaque cursor back into DynamoDB's ExclusiveStartKey (of a table with `keys`, the
    events table's by default); anything else is refused."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as exc:
        raise InvalidCursorError("cursor is not one this API returned") from exc
    allowed = _CURSOR_KEYS if keys is None else keys
    if (
        not isinstance(key, dict)
        or not set(key) <= allowed
        or required not in key
        or not all(isinstance(value, str) and value for value in key.values())
    ):
        raise InvalidCursorError("cursor is not one this API returned")
    return key


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
