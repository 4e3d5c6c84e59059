"""Starting a catalog enrichment: record the batches, queue them, answer with a tracking id.

Queueing failures are resolved one of two ways, by whether the caller can retry safely:
- with an `Idempotency-Key`, the tracking id is derived from the key and the batches that could
  not be sent are recorded; the caller's retry with the same key finds the enrichment and sends
  just those (nothing is queued twice);
- without one, the enrichment is CANCELLED (the worker drops whatever was queued) and the
  catalog is free again, so no half-queued catalog is left behind.
Either way the caller gets 503 and nothing is reported as started that is not fully queued.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from catalog.batches import batch_id, split
from catalog.messages import EnrichmentBatchRequested
from catalog.queueing import send_batches
from catalog.requests import EnrichmentRequest
from catalog.status import BatchStatus, EnrichmentStatus
from catalog.store import EnrichmentStore, batch_key, summary_key
from shared.event_store import utc_now

_TRACKING_NAMESPACE = uuid.UUID("8f4f7a36-53c1-4d55-9a8c-2b1f0f6ad8a1")


class QueueingError(Exception):
    def __init__(self, tracking_id: str, unsent: int, resumable: bool) -> None:
        super().__init__(f"{unsent} batches of {tracking_id} could not be queued")
        self.tracking_id = tracking_id
        self.unsent = unsent
        self.resumable = resumable


def tracking_id_for(catalog_id: str, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_TRACKING_NAMESPACE, f"{catalog_id}:{idempotency_key}"))


@dataclass(frozen=True)
class Enrichments:
    store: EnrichmentStore
    sqs: Any
    queue_url: str
    default_batch_size: int

    def start(
        self, catalog_id: str, request: EnrichmentRequest, idempotency_key: str | None
    ) -> dict[str, Any]:
        tracking_id = tracking_id_for(catalog_id, idempotency_key)
        size = request.batch_size or self.default_batch_size
        groups = split(request.products, size)
        messages = {
            batch_id(index): EnrichmentBatchRequested(
                tracking_id=tracking_id,
                catalog_id=catalog_id,
                batch_id=batch_id(index),
                user_id=request.user_id,
                provider=request.provider,
                products=group,
            )
            for index, group in enumerate(groups)
        }
        self.store.claim_catalog(catalog_id, tracking_id, request.user_id)
        now = utc_now()
        created = self.store.create(
            {
                "catalog_id": catalog_id,
                "batch_id": summary_key(tracking_id),
                "tracking_id": tracking_id,
                "user_id": request.user_id,
                "created_at": now,
                "provider": request.provider,
                "status": EnrichmentStatus.QUEUEING.value,
                "batch_size": size,
                "total_products": len(request.products),
                "total_batches": len(groups),
                "enriched": 0,
                "failed": 0,
                "batches_completed": 0,
                "batches_partial": 0,
                "batches_failed": 0,
                "batches_in_progress": 0,
                "send_calls": 0,
            },
            [
                {
                    "catalog_id": catalog_id,
                    "batch_id": batch_key(tracking_id, bid),
                    "tracking_id": tracking_id,
                    "user_id": request.user_id,
                    "queued_at": now,
                    "status": BatchStatus.PENDING.value,
                    "product_count": len(message.products),
                    "product_ids": [p.product_id for p in message.products],
                }
                for bid, message in messages.items()
            ],
        )
        to_send = list(messages)
        if not created:  # a retry with the same key: send what the first attempt could not
            summary = self.store.summary(catalog_id, tracking_id) or {}
            if summary.get("status") != EnrichmentStatus.QUEUEING.value:
                return self._answer(tracking_id, catalog_id, summary)
            to_send = list(summary.get("unsent_batches", to_send))
        unsent, calls = send_batches(
            self.sqs, self.queue_url, {bid: messages[bid].model_dump_json() for bid in to_send}
        )
        if unsent and idempotency_key is None:
            self.store.cancel(catalog_id, tracking_id, f"{len(unsent)} batches could not be queued")
            raise QueueingError(tracking_id, len(unsent), resumable=False)
        self.store.record_queued(catalog_id, tracking_id, unsent, calls)
        if unsent:
            raise QueueingError(tracking_id, len(unsent), resumable=True)
        return {
            "tracking_id": tracking_id,
            "catalog_id": catalog_id,
            "total_products": len(request.products),
            "total_batches": len(groups),
        }

    @staticmethod
    def _answer(tracking_id: str, catalog_id: str, summary: dict[str, Any]) -> dict[str, Any]:
        return {
            "tracking_id": tracking_id,
            "catalog_id": catalog_id,
            "total_products": int(summary.get("total_products", 0)),
            "total_batches": int(summary.get("total_batches", 0)),
        }
