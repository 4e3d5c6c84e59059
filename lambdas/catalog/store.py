"""Adapters over the enrichment status table and the products table.

Status table (partition `catalog_id`, sort `batch_id`):
- `latest`: which enrichment of the catalog is the newest and whether it still runs; the
  conditional write on it is what refuses a second concurrent enrichment.
- `<tracking_id>#summary`: the enrichment's counters, kept with atomic ADDs; it alone carries
  `created_at`, so the by-user index (user_id, created_at) lists enrichments, not batches.
- `<tracking_id>#b00001`...: one item per batch with its status, counts and attempts.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from catalog.status import ALLOWED_FROM, FAILED_SAMPLE_SIZE, BatchStatus, EnrichmentStatus
from shared import aws_clients
from shared.event_store import decode_cursor, encode_cursor, iso_time, stored, utc_now

LATEST = "latest"
# Longer than any request may run (API Gateway ends them at 29 s): an enrichment still queueing
# after this lost its request.
QUEUEING_WINDOW = timedelta(minutes=2)
WRITES_PER_CALL = 25  # the BatchWriteItem maximum
WRITE_ATTEMPTS = 5
PARALLEL_WRITES = 8
USER_INDEX = "by-user"
_CURSOR_KEYS = frozenset({"catalog_id", "batch_id", "user_id", "created_at"})


class WritesIncompleteError(Exception):
    """DynamoDB kept refusing some writes (throttling): the request must be retried."""


class CatalogBusyError(Exception):
    def __init__(self, tracking_id: str) -> None:
        super().__init__(f"an enrichment of this catalog is still running: {tracking_id}")
        self.tracking_id = tracking_id


def summary_key(tracking_id: str) -> str:
    return f"{tracking_id}#summary"


def batch_key(tracking_id: str, batch_id: str) -> str:
    return f"{tracking_id}#{batch_id}"


def _status_in(allowed: frozenset[BatchStatus], values: dict[str, Any]) -> str:
    """`#status IN (...)` over `allowed`, adding their placeholders to `values`."""
    placeholders = []
    for index, status in enumerate(sorted(allowed)):
        values[f":from{index}"] = status.value
        placeholders.append(f":from{index}")
    return f"#status IN ({', '.join(placeholders)})"


def _failed_condition(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class EnrichmentStore:
    def __init__(self, table_name: str) -> None:
        self._resource = aws_clients.dynamodb()
        self._table = self._resource.Table(table_name)

    # -- requests ------------------------------------------------------------------------------

    def claim_catalog(self, catalog_id: str, tracking_id: str, user_id: str) -> None:
        """Make `tracking_id` the catalog's running enrichment, unless another one runs.

        An enrichment still queueing after QUEUEING_WINDOW has lost its request (a timeout, a
        crash): it no longer holds the catalog, and it is cancelled here."""
        now = datetime.now(UTC)
        try:
            response = self._table.put_item(
                Item={
                    "catalog_id": catalog_id,
                    "batch_id": LATEST,
                    "tracking_id": tracking_id,
                    "user_id": user_id,
                    "running": True,
                    "since": iso_time(now),
                    "queue_deadline": iso_time(now + QUEUEING_WINDOW),
                },
                ConditionExpression="attribute_not_exists(batch_id) OR running = :no "
                "OR tracking_id = :tracking OR queue_deadline < :now",
                ExpressionAttributeValues={
                    ":no": False,
                    ":tracking": tracking_id,
                    ":now": iso_time(now),
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise
            latest = self.latest(catalog_id) or {}
            raise CatalogBusyError(str(latest.get("tracking_id", "unknown"))) from exc
        previous: dict[str, Any] = dict(response.get("Attributes", {}))
        abandoned = previous.get("tracking_id")
        if previous.get("running") and abandoned and abandoned != tracking_id:
            self._cancel_summary(catalog_id, str(abandoned), "its request never finished queueing")

    def create(self, summary: dict[str, Any], batches: list[dict[str, Any]]) -> bool:
        """Write the summary and the batch items; False when this enrichment already exists
        (a retry of the same request resumes it)."""
        try:
            self._table.put_item(Item=summary, ConditionExpression="attribute_not_exists(batch_id)")
        except ClientError as exc:
            if _failed_condition(exc):
                return False
            raise
        chunks = [batches[i : i + WRITES_PER_CALL] for i in range(0, len(batches), WRITES_PER_CALL)]
        with ThreadPoolExecutor(max_workers=PARALLEL_WRITES) as pool:
            list(pool.map(self._write_chunk, chunks))
        return True

    def _write_chunk(self, items: list[dict[str, Any]]) -> None:
        """BatchWriteItem, with what DynamoDB leaves unprocessed sent again after a pause."""
        request: dict[str, Any] = {
            self._table.name: [{"PutRequest": {"Item": item}} for item in items]
        }
        for attempt in range(WRITE_ATTEMPTS):
            response = self._resource.batch_write_item(RequestItems=request)
            request = dict(response.get("UnprocessedItems") or {})
            if not request:
                return
            time.sleep(0.05 * 2**attempt)
        raise WritesIncompleteError(f"{len(request[self._table.name])} batch items not written")

    def record_queued(
        self, catalog_id: str, tracking_id: str, unsent: list[str], send_calls: int
    ) -> None:
        """After a send: RUNNING when every batch is queued, else the ones still to send."""
        key = {"catalog_id": catalog_id, "batch_id": summary_key(tracking_id)}
        if unsent:
            self._table.update_item(
                Key=key,
                UpdateExpression="SET unsent_batches = :unsent ADD send_calls :calls",
                ExpressionAttributeValues={":unsent": unsent, ":calls": send_calls},
            )
            return
        self._table.update_item(
            Key=key,
            UpdateExpression="SET #status = :running, queued_at = :now "
            "REMOVE unsent_batches ADD send_calls :calls",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":running": EnrichmentStatus.RUNNING.value,
                ":now": utc_now(),
                ":calls": send_calls,
            },
        )
        try:  # fully queued: it holds the catalog until its last batch finishes
            self._table.update_item(
                Key={"catalog_id": catalog_id, "batch_id": LATEST},
                UpdateExpression="REMOVE queue_deadline",
                ConditionExpression="tracking_id = :tracking",
                ExpressionAttributeValues={":tracking": tracking_id},
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise

    def cancel(self, catalog_id: str, tracking_id: str, reason: str) -> None:
        self._cancel_summary(catalog_id, tracking_id, reason)
        self.release(catalog_id, tracking_id)

    def _cancel_summary(self, catalog_id: str, tracking_id: str, reason: str) -> None:
        """CANCELLED, if it is still queueing (the worker drops a cancelled one's batches)."""
        try:
            self._table.update_item(
                Key={"catalog_id": catalog_id, "batch_id": summary_key(tracking_id)},
                UpdateExpression="SET #status = :cancelled, finished_at = :now, "
                "cancel_reason = :why",
                ConditionExpression="#status = :queueing",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":cancelled": EnrichmentStatus.CANCELLED.value,
                    ":queueing": EnrichmentStatus.QUEUEING.value,
                    ":now": utc_now(),
                    ":why": reason,
                },
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise

    def release(self, catalog_id: str, tracking_id: str) -> None:
        """The catalog may be enriched again (only if `tracking_id` still holds it)."""
        try:
            self._table.update_item(
                Key={"catalog_id": catalog_id, "batch_id": LATEST},
                UpdateExpression="SET running = :no",
                ConditionExpression="tracking_id = :tracking",
                ExpressionAttributeValues={":no": False, ":tracking": tracking_id},
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise

    # -- reads ---------------------------------------------------------------------------------

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
        arguments: dict[str, Any] = {
            "IndexName": USER_INDEX,
            "KeyConditionExpression": Key("user_id").eq(user_id),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_cursor(cursor, _CURSOR_KEYS, required="batch_id")
        if start:
            arguments["ExclusiveStartKey"] = start
        page = self._table.query(**arguments)
        return list(page.get("Items", [])), encode_cursor(page.get("LastEvaluatedKey"))

    # -- the worker ----------------------------------------------------------------------------

    def claim_batch(self, catalog_id: str, tracking_id: str, batch_id: str) -> str | None:
        """Move the batch to IN_PROGRESS; returns the status it had, or None when it is
        already finished (a duplicate message)."""
        values: dict[str, Any] = {
            ":in_progress": BatchStatus.IN_PROGRESS.value,
            ":now": utc_now(),
            ":one": 1,
        }
        condition = _status_in(ALLOWED_FROM[BatchStatus.IN_PROGRESS], values)
        try:
            response = self._table.update_item(
                Key={"catalog_id": catalog_id, "batch_id": batch_key(tracking_id, batch_id)},
                UpdateExpression="SET #status = :in_progress, started_at = if_not_exists("
                "started_at, :now), updated_at = :now ADD attempts :one",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if _failed_condition(exc):
                return None
            raise
        return str(response.get("Attributes", {}).get("status", BatchStatus.PENDING.value))

    def count_claim(self, catalog_id: str, tracking_id: str, batch_id: str, previous: str) -> None:
        """The summary's counters follow a batch that starts, or restarts after a redrive."""
        if previous == BatchStatus.IN_PROGRESS.value:
            return  # a redelivery of a batch already counted as in progress
        if previous != BatchStatus.FAILED.value:
            self._add(
                catalog_id,
                tracking_id,
                {"batches_in_progress": 1},
                set_if_absent={"started_at": utc_now()},
            )
            return
        # Redriven: its unfinished products are pending again, and the catalog is running.
        response = self._table.update_item(
            Key={"catalog_id": catalog_id, "batch_id": batch_key(tracking_id, batch_id)},
            UpdateExpression="SET unfinished = :zero",
            ExpressionAttributeValues={":zero": 0},
            ReturnValues="UPDATED_OLD",
        )
        previous_values: dict[str, Any] = dict(response.get("Attributes", {}))
        unfinished = int(previous_values.get("unfinished", 0))
        self._table.update_item(
            Key={"catalog_id": catalog_id, "batch_id": batch_key(tracking_id, batch_id)},
            UpdateExpression="ADD failed :minus",
            ExpressionAttributeValues={":minus": -unfinished},
        )
        self._table.update_item(
            Key={"catalog_id": catalog_id, "batch_id": summary_key(tracking_id)},
            UpdateExpression="SET #status = :running REMOVE finished_at "
            "ADD batches_failed :minus_one, batches_in_progress :one, failed :minus",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":running": EnrichmentStatus.RUNNING.value,
                ":minus_one": -1,
                ":one": 1,
                ":minus": -unfinished,
            },
        )

    def mark_unfinished(self, catalog_id: str, tracking_id: str, batch_id: str, n: int) -> None:
        """How many of a FAILED batch's failed products were never answered (a redrive
        retries exactly those)."""
        self._table.update_item(
            Key={"catalog_id": catalog_id, "batch_id": batch_key(tracking_id, batch_id)},
            UpdateExpression="SET unfinished = :n",
            ExpressionAttributeValues={":n": n},
        )

    def add_products(
        self,
        catalog_id: str,
        tracking_id: str,
        batch_id: str,
        enriched: int,
        failed: list[dict[str, str]],
    ) -> dict[str, int]:
        """Count what one attempt finished, on the batch and on the summary; returns the
        batch's totals so far (`enriched`, `failed`)."""
        key = {"catalog_id": catalog_id, "batch_id": batch_key(tracking_id, batch_id)}
        response = self._table.update_item(
            Key=key,
            UpdateExpression="ADD enriched :enriched, failed :failed",
            ExpressionAttributeValues={":enriched": enriched, ":failed": len(failed)},
            ReturnValues="UPDATED_NEW",
        )
        if enriched or failed:
            self._add(catalog_id, tracking_id, {"enriched": enriched, "failed": len(failed)})
        if failed:
            self._sample_failures(catalog_id, tracking_id, failed)
        totals: dict[str, Any] = dict(response.get("Attributes", {}))
        return {name: int(totals.get(name, 0)) for name in ("enriched", "failed")}

    def finish_batch(
        self, catalog_id: str, tracking_id: str, batch_id: str, status: BatchStatus, detail: str
    ) -> bool:
        """Close the batch (COMPLETED, PARTIAL or FAILED); True when this call closed the
        whole enrichment."""
        values: dict[str, Any] = {":to": status.value, ":now": utc_now(), ":detail": detail}
        condition = _status_in(ALLOWED_FROM[status], values)
        try:
            self._table.update_item(
                Key={"catalog_id": catalog_id, "batch_id": batch_key(tracking_id, batch_id)},
                UpdateExpression="SET #status = :to, finished_at = :now, updated_at = :now, "
                "detail = :detail",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _failed_condition(exc):
                return False
            raise
        counter = {
            BatchStatus.COMPLETED: "batches_completed",
            BatchStatus.PARTIAL: "batches_partial",
            BatchStatus.FAILED: "batches_failed",
        }[status]
        updated = self._add(
            catalog_id, tracking_id, {counter: 1, "batches_in_progress": -1}, returning=True
        )
        done = sum(
            int(updated.get(name, 0))
            for name in ("batches_completed", "batches_partial", "batches_failed")
        )
        return done >= int(updated["total_batches"])

    def finish(self, catalog_id: str, tracking_id: str, status: EnrichmentStatus) -> None:
        self._table.update_item(
            Key={"catalog_id": catalog_id, "batch_id": summary_key(tracking_id)},
            UpdateExpression="SET #status = :status, finished_at = :now",
            ConditionExpression="#status = :running",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":status": status.value,
                ":now": utc_now(),
                ":running": EnrichmentStatus.RUNNING.value,
            },
        )
        self.release(catalog_id, tracking_id)

    def _add(
        self,
        catalog_id: str,
        tracking_id: str,
        adds: dict[str, int],
        *,
        set_if_absent: dict[str, Any] | None = None,
        returning: bool = False,
    ) -> dict[str, Any]:
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

    def _sample_failures(
        self, catalog_id: str, tracking_id: str, failed: list[dict[str, str]]
    ) -> None:
        """Keep the first failed products with their reasons (the progress shows 100)."""
        try:
            self._table.update_item(
                Key={"catalog_id": catalog_id, "batch_id": summary_key(tracking_id)},
                UpdateExpression="SET failed_products = list_append("
                "if_not_exists(failed_products, :empty), :new)",
                ConditionExpression="attribute_not_exists(failed_products) "
                "OR size(failed_products) < :max",
                ExpressionAttributeValues={
                    ":empty": [],
                    ":new": failed[:FAILED_SAMPLE_SIZE],
                    ":max": FAILED_SAMPLE_SIZE,
                },
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise


class ProductStore:
    """Enriched (or failed) products, one item per catalog and product id."""

    def __init__(self, table_name: str) -> None:
        self._resource = aws_clients.dynamodb()
        self._table = self._resource.Table(table_name)
        self._name = table_name

    def done(self, catalog_id: str, tracking_id: str, product_ids: Iterable[str]) -> set[str]:
        """The products this enrichment already finished (enriched or failed for good)."""
        keys = [{"catalog_id": catalog_id, "product_id": pid} for pid in product_ids]
        found: set[str] = set()
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {
                self._name: {
                    "Keys": keys[start : start + 100],
                    "ProjectionExpression": "product_id, tracking_id",
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._resource.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._name, []):
                    if item.get("tracking_id") == tracking_id:
                        found.add(str(item["product_id"]))
                request = response.get("UnprocessedKeys") or {}
        return found

    def put(
        self, catalog_id: str, product_id: str, tracking_id: str, fields: dict[str, Any]
    ) -> bool:
        """Write once per enrichment: False when this enrichment already wrote the product."""
        try:
            self._table.put_item(
                Item={
                    **stored(fields),
                    "catalog_id": catalog_id,
                    "product_id": product_id,
                    "tracking_id": tracking_id,
                    "written_at": utc_now(),
                },
                ConditionExpression="attribute_not_exists(product_id) OR tracking_id <> :tracking",
                ExpressionAttributeValues={":tracking": tracking_id},
            )
        except ClientError as exc:
            if _failed_condition(exc):
                return False
            raise
        return True
