"""Creating events: the intake's side of the events table. A new event is written together with
its idempotency record, which is the event itself: one conditional PutItem claims it for the
delivery that enqueues it (`shared.intake`), and refused deliveries are kept as REJECTED events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from shared.dynamo import condition_failed, epoch_millis, expires_at, old_item, utc_now
from shared.event_status import EventStatus
from shared.event_store import EventStore

# While an intake holds a new event (its enqueue not yet confirmed): who, and until when (epoch
# milliseconds, the holding invocation's deadline). Never projected into an index.
CLAIM = "intake_claim"
HELD_UNTIL = "intake_held_until"


@dataclass(frozen=True)
class IntakeClaim:
    """One delivery's hold on its event while it enqueues it."""

    token: str
    until: int  # epoch milliseconds
    payload_sha256: str


class EventRecorder(EventStore):
    """The intake's side of the events table: it creates events, which expire `ttl_days` after
    they are written (the env's `event_ttl_days`)."""

    def __init__(self, table_name: str, ttl_days: int) -> None:
        super().__init__(table_name)
        self._ttl = timedelta(days=ttl_days)

    def claim(self, event_id: str, attributes: dict[str, Any], claim: IntakeClaim) -> Any:
        """Create the event QUEUED, held by `claim` until its enqueue is confirmed: one
        conditional PutItem that is both the event and its idempotency record. It may replace
        an event that is not there yet, one whose enqueue failed (RECEIVED, unheld), or one
        whose holder died before confirming (its claim expired, still RECEIVED or QUEUED).
        None when written; otherwise the event as it is (it is another delivery's)."""
        item = self._new_item(event_id, EventStatus.QUEUED, attributes)
        # Received and queued in one write: the claim says the enqueue is not confirmed yet.
        received = {"status": EventStatus.RECEIVED.value, "at": item["received_at"]}
        item["status_history"].insert(0, received)
        item.update(
            {"payload_sha256": claim.payload_sha256, CLAIM: claim.token, HELD_UNTIL: claim.until}
        )
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression=(
                    "attribute_not_exists(event_id)"
                    " OR (#status = :received AND attribute_not_exists(#claim))"
                    " OR (#status IN (:received, :queued) AND #until < :now)"
                ),
                ExpressionAttributeNames={
                    "#status": "status",
                    "#claim": CLAIM,
                    "#until": HELD_UNTIL,
                },
                ExpressionAttributeValues={
                    ":received": EventStatus.RECEIVED.value,
                    ":queued": EventStatus.QUEUED.value,
                    ":now": epoch_millis(),
                },
                # The loser learns why from the same call: no read after the refusal.
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            return old_item(exc)
        return None

    def confirm(self, event_id: str, claim: IntakeClaim) -> bool:
        """The enqueue succeeded: drop the claim. Touches nothing an index projects, so the
        write costs the table's units only. False when another delivery took the claim over."""
        return self._update_if(
            event_id,
            UpdateExpression="REMOVE #claim, #until",
            ConditionExpression="#claim = :token",
            ExpressionAttributeNames={"#claim": CLAIM, "#until": HELD_UNTIL},
            ExpressionAttributeValues={":token": claim.token},
        )

    def release(self, event_id: str, claim: IntakeClaim) -> bool:
        """The enqueue failed: back to RECEIVED and unheld, so the sender's retry claims it."""
        now = utc_now()
        return self._update_if(
            event_id,
            UpdateExpression=(
                "SET #status = :received, #history = :history, #updated = :now "
                "REMOVE #claim, #until"
            ),
            ConditionExpression="#claim = :token",
            ExpressionAttributeNames={
                "#status": "status",
                "#history": "status_history",
                "#updated": "updated_at",
                "#claim": CLAIM,
                "#until": HELD_UNTIL,
            },
            ExpressionAttributeValues={
                ":received": EventStatus.RECEIVED.value,
                ":history": [{"status": EventStatus.RECEIVED.value, "at": now}],
                ":now": now,
                ":token": claim.token,
            },
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
            "expires_at": expires_at(self._ttl),
        }
