"""The catalog API's writes to the enrichment status table: claim the catalog, record the
enrichment and its batches, record what was queued, cancel what could not be."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from catalog.status import EnrichmentStatus
from catalog.store.table import (
    LATEST,
    WRITES_PER_CALL,
    CatalogBusyError,
    StatusTable,
    put_in_batches,
    summary_key,
)
from shared.dynamo import if_condition_holds, iso_time, utc_now

# Longer than any request may run (API Gateway ends them at 29 s): an enrichment still queueing
# after this lost its request.
QUEUEING_WINDOW = timedelta(minutes=2)
PARALLEL_WRITES = 8


class EnrichmentRequests(StatusTable):
    def claim_catalog(self, catalog_id: str, tracking_id: str, user_id: str) -> None:
        """Make `tracking_id` the catalog's running enrichment, unless another one runs.

        An enrichment still queueing after QUEUEING_WINDOW has lost its request (a timeout, a
        crash): it no longer holds the catalog, and it is cancelled here."""
        now = datetime.now(UTC)
        response = if_condition_holds(
            lambda: self._table.put_item(
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
        )
        if response is None:
            latest = self.latest(catalog_id) or {}
            raise CatalogBusyError(str(latest.get("tracking_id", "unknown")))
        previous: dict[str, Any] = dict(response.get("Attributes", {}))
        abandoned = previous.get("tracking_id")
        if previous.get("running") and abandoned and abandoned != tracking_id:
            self._cancel_summary(catalog_id, str(abandoned), "its request never finished queueing")

    def create(self, summary: dict[str, Any], batches: list[dict[str, Any]]) -> bool:
        """Write the summary and the batch items; False when this enrichment already exists
        (a retry of the same request resumes it)."""
        written = if_condition_holds(
            lambda: self._table.put_item(
                Item=summary, ConditionExpression="attribute_not_exists(batch_id)"
            )
        )
        if written is None:
            return False
        chunks = [batches[i : i + WRITES_PER_CALL] for i in range(0, len(batches), WRITES_PER_CALL)]
        with ThreadPoolExecutor(max_workers=PARALLEL_WRITES) as pool:
            list(pool.map(self._write_chunk, chunks))
        return True

    def _write_chunk(self, items: list[dict[str, Any]]) -> None:
        put_in_batches(self._table.name, items)

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
        # Fully queued: it holds the catalog until its last batch finishes.
        if_condition_holds(
            lambda: self._table.update_item(
                Key={"catalog_id": catalog_id, "batch_id": LATEST},
                UpdateExpression="REMOVE queue_deadline",
                ConditionExpression="tracking_id = :tracking",
                ExpressionAttributeValues={":tracking": tracking_id},
            )
        )

    def cancel(self, catalog_id: str, tracking_id: str, reason: str) -> None:
        self._cancel_summary(catalog_id, tracking_id, reason)
        self.release(catalog_id, tracking_id)

    def _cancel_summary(self, catalog_id: str, tracking_id: str, reason: str) -> None:
        """CANCELLED, if it is still queueing (the worker drops a cancelled one's batches)."""
        if_condition_holds(
            lambda: self._table.update_item(
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
        )
