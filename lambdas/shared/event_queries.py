"""Reading the events table: one event, and events by status or pipeline through the indexes
(`shared.indexes`), for the ops API and the stuck-event sweeper. `EventStore` adds the writes.

The indexes project sparsely (infra.constructs.data_stores): by-pipeline only its keys, by-status
its keys and what its filters and counts read. Every event written pays for what an index
projects; a listing reads the whole events it returns by key (BatchGetItem), which is rare."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shared.dynamo import plain
from shared.indexes import EVENTS_BY_PIPELINE, EVENTS_BY_STATUS
from shared.item_table import ItemTable, batch_get
from shared.paging import decode_cursor, encode_cursor

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import Key

# What a page of either index may end at: the table's key and the index's.
_CURSOR_KEYS = frozenset(
    {
        "event_id",
        EVENTS_BY_STATUS.partition_key,
        EVENTS_BY_PIPELINE.partition_key,
        EVENTS_BY_STATUS.sort_key,
    }
)


class EventReads:
    """Adapter over the events table (partition key `event_id`): the reads."""

    def __init__(self, table_name: str) -> None:
        self._table = ItemTable(table_name)

    def get(self, event_id: str) -> dict[str, Any] | None:
        response = self._table.get_item(Key={"event_id": event_id}, ConsistentRead=True)
        return response.get("Item")

    def list_events(
        self,
        *,
        status: str | None,
        pipeline: str | None,
        limit: int,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first, through the status index (or the pipeline index), one page at a time:
        whole events, read by key from what the index found."""
        from boto3.dynamodb.conditions import Attr

        if status:
            index, key_value = EVENTS_BY_STATUS, status
        elif pipeline:
            index, key_value = EVENTS_BY_PIPELINE, pipeline
        else:
            raise ValueError("status or pipeline is required")
        arguments: dict[str, Any] = {
            "IndexName": index.name,
            "KeyConditionExpression": _key(index.partition_key).eq(key_value),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if status and pipeline:
            arguments["FilterExpression"] = Attr(EVENTS_BY_PIPELINE.partition_key).eq(pipeline)
        start = decode_cursor(cursor, _CURSOR_KEYS, required="event_id")
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
        return self.whole(items[:limit]), encode_cursor(last)

    def count_by(
        self, status: str, attributes: Sequence[str], max_items: int = 100_000
    ) -> dict[str, dict[str, int]]:
        """How many events have `status`, per value of each of `attributes` (events without
        one are not counted under it). Bounded: an ops view, not a report."""
        counts: dict[str, dict[str, int]] = {name: {} for name in attributes}  # projected
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        arguments: dict[str, Any] = {
            "IndexName": EVENTS_BY_STATUS.name,
            "KeyConditionExpression": _key(EVENTS_BY_STATUS.partition_key).eq(status),
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
        event is stuck only once its retry too is older than the cutoff. Whole events."""
        from boto3.dynamodb.conditions import Attr

        index = EVENTS_BY_STATUS
        arguments: dict[str, Any] = {
            "IndexName": index.name,
            # Received after the cutoff means changed after it too: only older ones are read.
            "KeyConditionExpression": _key(index.partition_key).eq(status)
            & _key(index.sort_key).lt(cutoff),
            "FilterExpression": Attr("updated_at").lt(cutoff)
            & (Attr("next_retry_at").not_exists() | Attr("next_retry_at").lt(cutoff)),
        }
        items: list[dict[str, Any]] = []
        while True:
            page = self._table.query(**arguments)
            items.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return self.whole(items)
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def oldest_received_at(self, status: str) -> str | None:
        index = EVENTS_BY_STATUS
        page = self._table.query(
            IndexName=index.name,
            KeyConditionExpression=_key(index.partition_key).eq(status),
            ScanIndexForward=True,
            Limit=1,
            ProjectionExpression=index.sort_key,
        )
        items = page.get("Items", [])
        return str(items[0][index.sort_key]) if items else None

    def whole(self, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The events `found` through an index, as the table has them now, in the same order;
        one that expired meanwhile is left out."""
        keys = [{"event_id": item["event_id"]} for item in found]
        read = batch_get(self._table.name, keys, ConsistentRead=True)
        events = {str(item["event_id"]): item for item in read}
        return [events[key] for item in found if (key := str(item["event_id"])) in events]


def _key(name: str) -> Key:
    """Imported on first query, not at cold start: `boto3.dynamodb.conditions` is not free."""
    from boto3.dynamodb.conditions import Key

    return Key(name)
