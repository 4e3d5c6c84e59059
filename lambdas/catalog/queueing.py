"""Starting a catalog enrichment: record the enrichment and its batches, queue the batches
(`SendMessageBatch`, 10 entries a call, failed entries retried).

Queueing failures are resolved one of two ways, by whether the caller can retry safely:
- with an `Idempotency-Key`, the tracking id is derived from the key and the batches that could
  not be sent are recorded; the caller's retry with the same key finds the enrichment and sends
  just those (nothing is queued twice);
- without one, the enrichment is CANCELLED (the worker drops whatever was queued) and the
  catalog is free again, so no half-queued catalog is left behind.
Either way `QueueingError` says so, and the caller is told to retry.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from catalog.batches import batch_id, split
from catalog.messages import EnrichmentBatchRequested
from catalog.requests import EnrichmentRequest
from catalog.status import BatchStatus, EnrichmentStatus
from catalog.store import EnrichmentStore, batch_key, summary_key
from shared.dynamo import utc_now
from shared.observability import logger

ENTRIES_PER_CALL = 10  # the SQS maximum
SEND_ATTEMPTS = 3
BASE_PAUSE_SECONDS = 0.1
PARALLEL_CALLS = 8  # 10,000 products in batches of 5 is 200 calls: not one after another
_TRACKING_NAMESPACE = uuid.UUID("8f4f7a36-53c1-4d55-9a8c-2b1f0f6ad8a1")


def send_batches(
    sqs: Any,
    queue_url: str,
    bodies: dict[str, str],
    *,
    sleep: Callable[[float], None] = time.sleep,
    parallel: int = PARALLEL_CALLS,
) -> tuple[list[str], int]:
    """Send every body (batch id → message body), 10 a call, `parallel` calls at a time.
    Entries SQS refuses are sent again, up to SEND_ATTEMPTS times with a short backoff; returns
    (batch ids never sent, calls made)."""
    ids = list(bodies)
    groups = [
        ids[start : start + ENTRIES_PER_CALL] for start in range(0, len(ids), ENTRIES_PER_CALL)
    ]

    def send(group: list[str]) -> tuple[list[str], int]:
        return _send_group(sqs, queue_url, bodies, group, sleep)

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(groups) or 1))) as pool:
        results = list(pool.map(send, groups))
    return [bid for unsent, _ in results for bid in unsent], sum(calls for _, calls in results)


def _send_group(
    sqs: Any,
    queue_url: str,
    bodies: dict[str, str],
    group: list[str],
    sleep: Callable[[float], None],
) -> tuple[list[str], int]:
    """One SendMessageBatch call and its retries: (ids never sent, calls made)."""
    to_send = group
    for attempt in range(SEND_ATTEMPTS):
        if attempt:
            sleep(BASE_PAUSE_SECONDS * 2 ** (attempt - 1))
        try:
            response = sqs.send_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": bid, "MessageBody": bodies[bid]} for bid in to_send],
            )
        except (BotoCoreError, ClientError) as exc:
            logger.warning("SendMessageBatch failed", extra={"error": type(exc).__name__})
            continue
        failed = response.get("Failed", [])
        if failed:
            logger.warning(
                "SendMessageBatch refused entries",
                extra={"failed": [(f.get("Id"), f.get("Code")) for f in failed]},
            )
        to_send = [str(f["Id"]) for f in failed]
        if not to_send:
            return [], attempt + 1
    return to_send, SEND_ATTEMPTS


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
    """Starting enrichments: recorded in the status table, queued a batch a message."""

    store: EnrichmentStore
    sqs: Any
    queue_url: str
    default_batch_size: int

    def start(
        self, catalog_id: str, request: EnrichmentRequest, idempotency_key: str | None
    ) -> dict[str, Any]:
        tracking_id = tracking_id_for(catalog_id, idempotency_key)
        size = request.batch_size or self.default_batch_size
        messages = {
            batch_id(index): EnrichmentBatchRequested(
                tracking_id=tracking_id,
                catalog_id=catalog_id,
                batch_id=batch_id(index),
                user_id=request.user_id,
                provider=request.provider,
                products=group,
            )
            for index, group in enumerate(split(request.products, size))
        }
        answer = {
            "tracking_id": tracking_id,
            "catalog_id": catalog_id,
            "total_products": len(request.products),
            "total_batches": len(messages),
        }
        self.store.claim_catalog(catalog_id, tracking_id, request.user_id)
        to_send = list(messages)
        if not self._record(request, size, messages, answer):
            # A retry with the same key: send what the first attempt could not.
            summary = self.store.summary(catalog_id, tracking_id) or {}
            if summary.get("status") != EnrichmentStatus.QUEUEING.value:
                return {
                    **answer,
                    "total_products": int(summary.get("total_products", 0)),
                    "total_batches": int(summary.get("total_batches", 0)),
                }
            to_send = list(summary.get("unsent_batches", to_send))
        self._send(
            catalog_id, tracking_id, {bid: messages[bid] for bid in to_send}, idempotency_key
        )
        return answer

    def _record(
        self,
        request: EnrichmentRequest,
        size: int,
        messages: dict[str, EnrichmentBatchRequested],
        answer: dict[str, Any],
    ) -> bool:
        """The summary and a PENDING item per batch; False when they already exist."""
        now = utc_now()
        catalog_id, tracking_id = answer["catalog_id"], answer["tracking_id"]
        common = {"catalog_id": catalog_id, "tracking_id": tracking_id, "user_id": request.user_id}
        summary = {
            **common,
            "batch_id": summary_key(tracking_id),
            "created_at": now,
            "provider": request.provider,
            "status": EnrichmentStatus.QUEUEING.value,
            "batch_size": size,
            "total_products": answer["total_products"],
            "total_batches": answer["total_batches"],
            **dict.fromkeys(_SUMMARY_COUNTERS, 0),
        }
        batches = [
            {
                **common,
                "batch_id": batch_key(tracking_id, bid),
                "queued_at": now,
                "status": BatchStatus.PENDING.value,
                "product_count": len(message.products),
                "product_ids": [p.product_id for p in message.products],
            }
            for bid, message in messages.items()
        ]
        return self.store.create(summary, batches)

    def _send(
        self,
        catalog_id: str,
        tracking_id: str,
        messages: dict[str, EnrichmentBatchRequested],
        idempotency_key: str | None,
    ) -> None:
        bodies = {bid: message.model_dump_json() for bid, message in messages.items()}
        unsent, calls = send_batches(self.sqs, self.queue_url, bodies)
        if unsent and idempotency_key is None:
            self.store.cancel(catalog_id, tracking_id, f"{len(unsent)} batches could not be queued")
            raise QueueingError(tracking_id, len(unsent), resumable=False)
        self.store.record_queued(catalog_id, tracking_id, unsent, calls)
        if unsent:
            raise QueueingError(tracking_id, len(unsent), resumable=True)


_SUMMARY_COUNTERS = (
    "enriched",
    "failed",
    "batches_completed",
    "batches_partial",
    "batches_failed",
    "batches_in_progress",
    "send_calls",
)
