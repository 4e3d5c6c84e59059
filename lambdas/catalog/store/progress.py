"""The enrichment worker's writes to the status table: a batch is claimed, counted as its
products finish, and closed; the enrichment closes with its last batch."""

from __future__ import annotations

from typing import Any

from catalog.status import ALLOWED_FROM, FAILED_SAMPLE_SIZE, BatchStatus, EnrichmentStatus
from catalog.store.table import StatusTable, batch_key, status_in, summary_key
from shared.dynamo import if_condition_holds, utc_now

_CLOSED_COUNTERS = {
    BatchStatus.COMPLETED: "batches_completed",
    BatchStatus.PARTIAL: "batches_partial",
    BatchStatus.FAILED: "batches_failed",
}


class BatchProgress(StatusTable):
    def claim_batch(self, catalog_id: str, tracking_id: str, batch_id: str) -> str | None:
        """Move the batch to IN_PROGRESS; returns the status it had, or None when it is
        already finished (a duplicate message)."""
        response = self._move(
            batch_key(tracking_id, batch_id),
            catalog_id,
            BatchStatus.IN_PROGRESS,
            "SET #status = :to, started_at = if_not_exists(started_at, :now), "
            "updated_at = :now ADD attempts :one",
            {":one": 1},
            ReturnValues="ALL_OLD",
        )
        if response is None:
            return None
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
        self._restart_failed(catalog_id, tracking_id, batch_id)

    def _restart_failed(self, catalog_id: str, tracking_id: str, batch_id: str) -> None:
        """Redriven: its unfinished products are pending again, and the catalog is running."""
        key = {"catalog_id": catalog_id, "batch_id": batch_key(tracking_id, batch_id)}
        response = self._table.update_item(
            Key=key,
            UpdateExpression="SET unfinished = :zero",
            ExpressionAttributeValues={":zero": 0},
            ReturnValues="UPDATED_OLD",
        )
        previous_values: dict[str, Any] = dict(response.get("Attributes", {}))
        unfinished = int(previous_values.get("unfinished", 0))
        self._table.update_item(
            Key=key,
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
        closed = self._move(
            batch_key(tracking_id, batch_id),
            catalog_id,
            status,
            "SET #status = :to, finished_at = :now, updated_at = :now, detail = :detail",
            {":detail": detail},
        )
        if closed is None:
            return False
        updated = self._add(
            catalog_id,
            tracking_id,
            {_CLOSED_COUNTERS[status]: 1, "batches_in_progress": -1},
            returning=True,
        )
        done = sum(int(updated.get(name, 0)) for name in _CLOSED_COUNTERS.values())
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

    def _move(
        self,
        key: str,
        catalog_id: str,
        to: BatchStatus,
        update: str,
        values: dict[str, Any],
        **arguments: Any,
    ) -> dict[str, Any] | None:
        """`update` the batch item `key` (`:to` is `to`, `:now` the time) if its status may
        move to `to` (`ALLOWED_FROM`); None when it may not."""
        values = {**values, ":to": to.value, ":now": utc_now()}
        condition = status_in(ALLOWED_FROM[to], values)
        response = if_condition_holds(
            lambda: self._table.update_item(
                Key={"catalog_id": catalog_id, "batch_id": key},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
                **arguments,
            )
        )
        return None if response is None else dict(response)

    def _sample_failures(
        self, catalog_id: str, tracking_id: str, failed: list[dict[str, str]]
    ) -> None:
        """Keep the first failed products with their reasons (the progress shows 100)."""
        if_condition_holds(
            lambda: self._table.update_item(
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
        )
