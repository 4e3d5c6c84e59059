"""Batch and enrichment statuses, and the progress view computed from a summary's counters."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

FAILED_SAMPLE_SIZE = 100


class BatchStatus(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    PARTIAL = "PARTIAL"  # some products failed (unknown to the provider, invalid data)
    FAILED = "FAILED"  # the provider stayed unavailable through every attempt


class EnrichmentStatus(StrEnum):
    QUEUEING = "QUEUEING"  # not every batch is on the queue yet
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_FAILURES = "COMPLETED_WITH_FAILURES"
    CANCELLED = "CANCELLED"  # queueing failed; queued batches are dropped by the worker


# Which statuses a batch may move to, from which.
ALLOWED_FROM: dict[BatchStatus, frozenset[BatchStatus]] = {
    # FAILED → IN_PROGRESS: an operator redrove the batch from the DLQ.
    BatchStatus.IN_PROGRESS: frozenset(
        {BatchStatus.PENDING, BatchStatus.IN_PROGRESS, BatchStatus.FAILED}
    ),
    BatchStatus.COMPLETED: frozenset({BatchStatus.IN_PROGRESS}),
    BatchStatus.PARTIAL: frozenset({BatchStatus.IN_PROGRESS}),
    BatchStatus.FAILED: frozenset({BatchStatus.PENDING, BatchStatus.IN_PROGRESS}),
}


def batch_outcome(failed_products: int) -> BatchStatus:
    return BatchStatus.COMPLETED if failed_products == 0 else BatchStatus.PARTIAL


def final_status(summary: dict[str, Any]) -> EnrichmentStatus:
    clean = int(summary.get("batches_partial", 0)) == 0 == int(summary.get("batches_failed", 0))
    return EnrichmentStatus.COMPLETED if clean else EnrichmentStatus.COMPLETED_WITH_FAILURES


def progress(summary: dict[str, Any]) -> dict[str, Any]:
    """What `GET /catalogs/{id}/enrichments` answers, from the summary's counters alone."""
    total_batches = int(summary["total_batches"])
    completed = int(summary.get("batches_completed", 0))
    partial = int(summary.get("batches_partial", 0))
    failed_batches = int(summary.get("batches_failed", 0))
    in_progress = int(summary.get("batches_in_progress", 0))
    total = int(summary["total_products"])
    enriched = int(summary.get("enriched", 0))
    failed = int(summary.get("failed", 0))
    return {
        "tracking_id": summary["tracking_id"],
        "catalog_id": summary["catalog_id"],
        "user_id": summary["user_id"],
        "provider": summary["provider"],
        "status": summary["status"],
        "batches": {
            "total": total_batches,
            "pending": max(0, total_batches - completed - partial - failed_batches - in_progress),
            "in_progress": in_progress,
            "completed": completed,
            "partial": partial,
            "failed": failed_batches,
        },
        "products": {
            "total": total,
            "enriched": enriched,
            "failed": failed,
            "pending": max(0, total - enriched - failed),
        },
        "percent_complete": round(100 * (enriched + failed) / total, 1) if total else 100.0,
        "created_at": summary["created_at"],
        "started_at": summary.get("started_at"),
        "finished_at": summary.get("finished_at"),
        "failed_products": list(summary.get("failed_products", []))[:FAILED_SAMPLE_SIZE],
    }
