"""Each entity's latest accepted delivery without a timestamp, kept beside the idempotency
records (partition key `id`, TTL `expiration`) for as long as its dedupe window lasts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from erp.entities import SOURCE
from erp.inbox import LatestDelivery, instant
from shared import aws_clients

_PREFIX = "erp-latest-delivery#"


class LatestDeliveries:
    def __init__(self, table_name: str, window: timedelta) -> None:
        self._table = aws_clients.dynamodb().Table(table_name)
        self._window = window

    def get(self, entity_type: str, entity_id: str) -> LatestDelivery | None:
        item = self._table.get_item(
            Key={"id": _id(entity_type, entity_id)}, ConsistentRead=True
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
        expires = new.first_seen_at + self._window + timedelta(days=1)
        try:
            self._table.put_item(
                Item={
                    "id": _id(entity_type, entity_id),
                    "content_key": new.content_key,
                    "first_seen_at": instant(new.first_seen_at),
                    "expiration": int(expires.timestamp()),
                },
                **condition,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _id(entity_type: str, entity_id: str) -> str:
    return f"{_PREFIX}{SOURCE}:{entity_type}:{entity_id}"
