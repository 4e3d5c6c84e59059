"""The enrichment status table's keys, and what the API's and the worker's writes share: the
reads, the summary's counters, releasing the catalog; and `put_in_batches`, the BatchWriteItem
loop both catalog tables are written with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from catalog.status import BatchStatus
from shared import aws_clients
from shared.dynamo import if_condition_holds
from shared.indexes import ENRICHMENTS_BY_USER
from shared.item_table import (
    BATCH_ATTEMPTS,
    BatchIncompleteError,
    ItemTable,
    pause_before,
    put_requests,
)
from shared.paging import decode_cursor, encode_cursor

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

LATEST = "latest"
# What a page of the by-user index may end at: the table's key and the index's.
_CURSOR_KEYS = frozenset(
    {"catalog_id", "batch_id", ENRICHMENTS_BY_USER.partition_key, ENRICHMENTS_BY_USER.sort_key}
)


WRITES_PER_CALL = 25  # the BatchWriteItem maximum


class WritesIncompleteError(BatchIncompleteError):
    """DynamoDB kept refusing some writes (throttling): the request must be retried."""


def put_in_batches(
    table_name: str, items: list[dict[str, Any]], *, client: DynamoDBClient | None = None
) -> int:
    """Put `items` with BatchWriteItem, WRITES_PER_CALL at a time; what DynamoDB leaves
    unprocessed (throttling) is sent again after `pause_before`, and WritesIncompleteError says
    how many never went after BATCH_ATTEMPTS calls. Unconditional:
    only for items a second write would leave the same. Returns the calls made."""
    dynamodb = client or aws_clients.dynamodb_client()
    calls = 0
    for start in range(0, len(items), WRITES_PER_CALL):
        chunk = items[start : start + WRITES_PER_CALL]
        request = put_requests(table_name, chunk)
        for attempt in range(BATCH_ATTEMPTS):
            pause_before(attempt)
            calls += 1
            response = dynamodb.batch_write_item(RequestItems=request)
            request = dict(response.get("UnprocessedItems") or {})
            if not request:
                break
        else:
            unwritten = len(request.get(table_name, []))
            raise WritesIncompleteError(
                f"{unwritten} of {len(items)} items to {table_name} still unprocessed after "
                f"{BATCH_ATTEMPTS} BatchWriteItem attempts"
            )
    return calls


class CatalogBusyError(Exception):
    def __init__(self, tracking_id: str) -> None:
        super().__init__(f"an enrichment of this catalog is still running: {tracking_id}")
        self.tracking_id = tracking_id


def summary_key(tracking_id: str) -> str:
    return f"{tracking_id}#summary"


def batch_key(tracking_id: str, batch_id: str) -> str:
    return f"{tracking_id}#{batch_id}"


def status_in(allowed: frozenset[BatchStatus], values: dict[str, Any]) -> str:
    """`#status IN (...)` over `allowed`, adding their placeholders to `values`."""
    placeholders = []
    for index, status in enumerate(sorted(allowed)):
        values[f":from{index}"] = status.value
        placeholders.append(f":from{index}")
    return f"#status IN ({', '.join(placeholders)})"


class StatusTable:
    def __init__(self, table_name: str) -> None:
        self._table = ItemTable(table_name)

    def latest(self, catalog_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(
            Key={"catalog_id": catalog_id, "batch_id": LATEST}, ConsistentRead=True
        ).get("Item")
        return dict(item) if item else None

    def summary(self, catalog_id: str, tracking_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(
            Key={"catalog_id": catalog_id, "batch_id": summary_key(tracking_id)},
            ConsistentRead=True,
        ).get("Item")
        return dict(item) if item else None

    def for_user(
        self, user_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        from boto3.dynamodb.conditions import Key  # only this read needs it: not at cold start

        index = ENRICHMENTS_BY_USER
        arguments: dict[str, Any] = {
            "IndexName": index.name,
            "KeyConditionExpression": Key(index.partition_key).eq(user_id),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_cursor(cursor, _CURSOR_KEYS, required="batch_id")
        if start:
            arguments["ExclusiveStartKey"] = start
        page = self._table.query(**arguments)
        return list(page.get("Items", [])), encode_cursor(page.get("LastEvaluatedKey"))

    def release(self, catalog_id: str, tracking_id: str) -> None:
        """The catalog may be enriched again (only if `tracking_id` still holds it)."""
        if_condition_holds(
            lambda: self._table.update_item(
                Key={"catalog_id": catalog_id, "batch_id": LATEST},
                UpdateExpression="SET running = :no",
                ConditionExpression="tracking_id = :tracking",
                ExpressionAttributeValues={":no": False, ":tracking": tracking_id},
            )
        )

    def _add(
        self,
        catalog_id: str,
        tracking_id: str,
        adds: dict[str, int],
        *,
        set_if_absent: dict[str, Any] | None = None,
        returning: bool = False,
    ) -> dict[str, Any]:
        """Atomic ADDs to the summary's counters (and values set once, if absent)."""
        names = {f"#a{i}": name for i, name in enumerate(adds)}
        values: dict[str, Any] = {f":a{i}": value for i, value in enumerate(adds.values())}
        expression = "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(adds)))
        if set_if_absent:
            sets = []
            for j, (name, value) in enumerate(set_if_absent.items()):
                names[f"#s{j}"] = name
                values[f":s{j}"] = value
                sets.append(f"#s{j} = if_not_exists(#s{j}, :s{j})")
            expression = "SET " + ", ".join(sets) + " " + expression
        response = self._table.update_item(
            Key={"catalog_id": catalog_id, "batch_id": summary_key(tracking_id)},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW" if returning else "NONE",
        )
        return dict(response.get("Attributes", {}))
