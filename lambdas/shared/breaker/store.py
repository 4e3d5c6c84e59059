"""The breaker table: one item per peer (partition key `peer`).

`breaker_state` is closed or open (missing: closed); `failures` counts peer failures in the
window numbered `window` (epoch seconds // window length), added atomically by every concurrent
invocation (UpdateItem ADD, conditional on the window: the first failure of a new window resets
the count); `opened_at`, `reason` and `manual` say when, why and whether an operator holds it
open (`hold`: then only an operator closes it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared.breaker.settings import BreakerState, Peer
from shared.dynamo import condition_failed, if_condition_holds, utc_now
from shared.item_table import ItemTable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_NAMES = {"#state": "breaker_state", "#window": "window"}
# What an item keeps of a reason: a peer's error text, or what an operator typed.
MAX_REASON_LENGTH = 500


class Hold(StrEnum):
    """What an operator's open found."""

    OPENED = "opened"  # the breaker was closed
    TAKEN_OVER = "taken_over"  # it had opened on its own: now the probe leaves it open
    ALREADY_HELD = "already_held"  # an operator held it already (the reason is the new one)


def _opening(reason: str, *, manual: bool) -> dict[str, Any]:
    """The values an open writes: an automatic one (`open`) and an operator's (`hold`)."""
    return {
        ":open": BreakerState.OPEN.value,
        ":now": utc_now(),
        ":reason": reason[:MAX_REASON_LENGTH],
        ":manual": manual,
    }


@dataclass(frozen=True)
class PeerBreaker:
    peer: Peer
    state: BreakerState
    failures: int = 0
    opened_at: str | None = None
    reason: str | None = None
    manual: bool = False

    @property
    def is_open(self) -> bool:
        return self.state is BreakerState.OPEN

    @classmethod
    def of(cls, peer: Peer, item: dict[str, Any] | None) -> PeerBreaker:
        item = item or {}
        return cls(
            peer=peer,
            state=BreakerState(item.get("breaker_state", BreakerState.CLOSED.value)),
            failures=int(item.get("failures", 0)),
            opened_at=item.get("opened_at"),
            reason=item.get("reason"),
            manual=bool(item.get("manual", False)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "peer": self.peer.value,
            "state": self.state.value,
            "failures_in_window": self.failures,
            "opened_at": self.opened_at,
            "reason": self.reason,
            "manual": self.manual,
        }


class BreakerStore:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        """`client`: the container's by default (the ops CLI passes its own)."""
        self._table = ItemTable(table_name, client)

    def get(self, peer: Peer) -> PeerBreaker:
        item = self._table.get_item(Key={"peer": peer.value}, ConsistentRead=True).get("Item")
        return PeerBreaker.of(peer, item)

    def record_failure(
        self, peer: Peer, window_seconds: int, now: float | None = None
    ) -> PeerBreaker:
        """Count one failure in the current window; the breaker as it is after it."""
        window = int((time.time() if now is None else now) // window_seconds)
        for _ in range(3):  # a concurrent writer may start the window between the two writes
            try:
                return self._update(peer, "ADD failures :one", "#window = :w", window)
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
            try:
                return self._update(
                    peer,
                    "SET #window = :w, failures = :one",
                    "attribute_not_exists(#window) OR #window <> :w",
                    window,
                )
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
        raise RuntimeError(f"could not count a failure of {peer}: its window kept moving")

    def open(self, peer: Peer, reason: str) -> bool:
        """Open the breaker; True for the one caller that opened it (the others find it open)."""
        opened = if_condition_holds(
            lambda: self._table.update_item(
                Key={"peer": peer.value},
                UpdateExpression=(
                    "SET #state = :open, opened_at = :now, reason = :reason, manual = :manual"
                ),
                ConditionExpression="attribute_not_exists(#state) OR #state <> :open",
                ExpressionAttributeNames={"#state": _NAMES["#state"]},
                ExpressionAttributeValues=_opening(reason, manual=False),
            )
        )
        return opened is not None

    def hold(self, peer: Peer, reason: str) -> Hold:
        """An operator's open: the breaker open and held, whatever it was, with this reason.
        Held, the probe never closes it, even when it had opened on its own (it keeps that
        `opened_at`): only `close` by an operator does."""
        answer = self._table.update_item(
            Key={"peer": peer.value},
            UpdateExpression=(
                "SET #state = :open, opened_at = if_not_exists(opened_at, :now), "
                "reason = :reason, manual = :manual"
            ),
            ExpressionAttributeNames={"#state": _NAMES["#state"]},
            ExpressionAttributeValues=_opening(reason, manual=True),
            ReturnValues="ALL_OLD",
        )
        before = PeerBreaker.of(peer, answer.get("Attributes"))
        if not before.is_open:
            return Hold.OPENED
        return Hold.ALREADY_HELD if before.manual else Hold.TAKEN_OVER

    def close(self, peer: Peer, by: str, *, unless_held: bool = False) -> bool:
        """Close an open breaker and start counting afresh; False when it was not open, or (with
        `unless_held`, as the probe closes) when an operator holds it."""
        condition = "#state = :open"
        values: dict[str, Any] = {
            ":closed": BreakerState.CLOSED.value,
            ":open": BreakerState.OPEN.value,
            ":now": utc_now(),
            ":by": by,
            ":zero": 0,
        }
        if unless_held:
            condition += " AND (attribute_not_exists(manual) OR manual = :not_held)"
            values[":not_held"] = False
        closed = if_condition_holds(
            lambda: self._table.update_item(
                Key={"peer": peer.value},
                UpdateExpression=(
                    "SET #state = :closed, closed_at = :now, closed_by = :by, failures = :zero "
                    "REMOVE opened_at, reason, manual"
                ),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#state": _NAMES["#state"]},
                ExpressionAttributeValues=values,
            )
        )
        return closed is not None

    def _update(self, peer: Peer, expression: str, condition: str, window: int) -> PeerBreaker:
        answer = self._table.update_item(
            Key={"peer": peer.value},
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#window": _NAMES["#window"]},
            ExpressionAttributeValues={":one": 1, ":w": window},
            ReturnValues="ALL_NEW",
        )
        return PeerBreaker.of(peer, answer.get("Attributes"))
