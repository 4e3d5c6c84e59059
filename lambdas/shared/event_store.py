"""The events table: one item per accepted event with its status and status history.

Events are created by `shared.event_recorder` (the event is its own idempotency record).
Status changes are conditional writes, so a redelivered message
cannot move an event backwards and two workers cannot both finish the same stage. The reads are
`shared.event_queries`; which status may follow which is `shared.event_status`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.dynamo import if_condition_holds, iso_time, utc_now
from shared.event_queries import EventReads
from shared.event_status import ALLOWED_FROM, EventStatus


@dataclass(frozen=True)
class FinalAttemptMark:
    """Where the DEAD_LETTERED entry written before a final attempt sits in the history, and
    the token that proves it is still that entry."""

    index: int
    token: str


class EventStore(EventReads):
    """Adapter over the events table (partition key `event_id`): reads, and the writes that move
    an existing event on. Events are created by `shared.event_recorder.EventRecorder`."""

    def mark_once(self, event_id: str, attribute: str, value: Any, *, seen_update: str) -> bool:
        """Set `attribute` unless it is already set or the event changed since `seen_update`.
        Touches `updated_at`, so a re-enqueued event gets a whole new window to move."""
        return self._update_if(
            event_id,
            UpdateExpression="SET #a = :v, #updated = :now",
            ConditionExpression="attribute_not_exists(#a) AND #updated = :seen",
            ExpressionAttributeNames={"#a": attribute, "#updated": "updated_at"},
            ExpressionAttributeValues={":v": value, ":now": utc_now(), ":seen": seen_update},
        )

    def unmark(self, event_id: str, attribute: str, *, updated_at: str) -> None:
        """Undo `mark_once`, `updated_at` included: as if it had never been marked."""
        self._table.update_item(
            Key={"event_id": event_id},
            UpdateExpression="REMOVE #a SET #updated = :was",
            ExpressionAttributeNames={"#a": attribute, "#updated": "updated_at"},
            ExpressionAttributeValues={":was": updated_at},
        )

    def note(self, event_id: str, attribute: str, value: Any) -> None:
        """Record an operator action on the event without changing its status."""
        self._table.update_item(
            Key={"event_id": event_id},
            UpdateExpression="SET #a = :v, #updated = :now",
            ConditionExpression="attribute_exists(event_id)",
            ExpressionAttributeNames={"#a": attribute, "#updated": "updated_at"},
            ExpressionAttributeValues={":v": value, ":now": utc_now()},
        )

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
        names = dict(_HISTORY_NAMES)
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
        mark = FinalAttemptMark(
            index=len(event.get("status_history") or []), token=uuid.uuid4().hex
        )
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
            ExpressionAttributeNames=_HISTORY_NAMES,
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
        written = if_condition_holds(
            lambda: self._table.update_item(Key={"event_id": event_id}, **arguments)
        )
        return written is not None


_HISTORY_NAMES = {"#status": "status", "#history": "status_history", "#updated": "updated_at"}


def _history_entry(status: EventStatus, detail: str | None, stage: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": status.value, "at": utc_now()}
    if stage:
        entry["stage"] = stage
    if detail:
        entry["detail"] = detail
    return entry
