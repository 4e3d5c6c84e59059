"""The catalog pipeline's worker stage, given its adapters: `Enrichment` enriches one catalog
batch per message: the provider, concurrently → the products table (in batches of 25); batch and
catalog progress kept on the status table.

Products this enrichment already finished are skipped, so a redelivered batch never asks the
provider again for them. Provider trouble sends the batch back to SQS (with backoff); when the
retries run out the batch is FAILED (`batch_failed`), its unfinished products counted as failed,
and the message is in the DLQ for a redrive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from catalog.enrich import BatchResult, enrich_batch
from catalog.messages import EnrichmentBatchRequested
from catalog.provider import PING_PROVIDER, EnrichedFields, PingProvider, ProviderClient
from catalog.requests import IDENTIFIERS, Product
from catalog.status import BatchStatus, EnrichmentStatus, batch_outcome, final_status
from catalog.store import EnrichmentStore, ProductStore
from shared.errors import NonRetryableError, RetryableError
from shared.failure_policy import Stage
from shared.metric_names import Metric
from shared.metrics import count, count_many, record
from shared.observability import logger
from shared.sources import Pipeline

# Tracked in the enrichment table, not the events table: when a batch is dead-lettered the
# worker marks it FAILED (`Enrichment.batch_failed`).
ENRICH = Stage(
    Pipeline.CATALOG_ENRICHMENT,
    "enrich",
    dead_letter_metric=Metric.ENRICHMENT_BATCH_DEAD_LETTERED,
    retried_metric=Metric.ENRICHMENT_BATCH_RETRIED,
)
_PING = PingProvider()


@dataclass(frozen=True)
class Enrichment:
    batches: EnrichmentStore
    products: ProductStore
    provider: ProviderClient
    pool_size: int  # lookups at once: one per pooled HTTP connection

    def run(self, message: EnrichmentBatchRequested) -> None:
        catalog_id, tracking_id, batch = message.catalog_id, message.tracking_id, message.batch_id
        logger.append_keys(catalog_id=catalog_id, tracking_id=tracking_id, batch_id=batch)
        if not self._claim(message):
            return
        started = time.monotonic()
        done = self.products.done(catalog_id, tracking_id, (p.product_id for p in message.products))
        todo = [p for p in message.products if p.product_id not in done]
        result = enrich_batch(todo, lambda product: self._lookup(message, product), self.pool_size)
        self._store(message, todo, result)
        totals = self.batches.add_products(
            catalog_id, tracking_id, batch, len(result.enriched), result.failed
        )
        if result.enriched:
            count_many(Metric.ENRICHMENT_PRODUCTS_SUCCEEDED, len(result.enriched))
        if result.failed:
            count_many(Metric.ENRICHMENT_PRODUCTS_FAILED, len(result.failed))
        record(Metric.ENRICHMENT_BATCH_DURATION, (time.monotonic() - started) * 1000)
        _log_attempt(len(done), result)
        if result.troubled:
            raise RetryableError(
                f"{len(result.troubled)} products hit provider trouble"
                + (" (stopped early)" if result.stopped_early else "")
                + f": {result.last_trouble}"
            )
        status = batch_outcome(int(totals.get("failed", 0)))
        self._close(message, status, f"{status.value.lower()}")

    def _claim(self, message: EnrichmentBatchRequested) -> bool:
        """Whether this attempt works on the batch: not when the enrichment was cancelled or
        the batch is already finished (a duplicate message)."""
        catalog_id, tracking_id = message.catalog_id, message.tracking_id
        summary = self.batches.summary(catalog_id, tracking_id)
        if summary is None:
            raise NonRetryableError(f"enrichment {tracking_id} of catalog {catalog_id} is unknown")
        if summary.get("status") == EnrichmentStatus.CANCELLED.value:
            logger.info("enrichment cancelled; batch dropped")
            return False
        previous = self.batches.claim_batch(catalog_id, tracking_id, message.batch_id)
        if previous is None:
            logger.info("batch already finished; duplicate message dropped")
            return False
        self.batches.count_claim(catalog_id, tracking_id, message.batch_id, previous)
        return True

    def _lookup(self, message: EnrichmentBatchRequested, product: Product) -> EnrichedFields:
        provider = _PING if message.provider == PING_PROVIDER else self.provider
        return provider.lookup(*product.identifier)

    def _store(
        self, message: EnrichmentBatchRequested, todo: list[Product], result: BatchResult
    ) -> None:
        """What this attempt finished, in batches (BatchWriteItem, not a PutItem per product):
        the enriched products with their fields and identifiers, the failed ones with why."""
        by_id = {product.product_id: product for product in todo}
        rows: dict[str, dict[str, Any]] = {
            product_id: {
                "status": "ENRICHED",
                **fields.model_dump(exclude_none=True),
                **_identifiers(by_id[product_id]),
            }
            for product_id, fields in result.fields.items()
        }
        for failure in result.failed:
            rows[failure["product_id"]] = {"status": "FAILED", "reason": failure["reason"]}
        if rows:
            self.products.put_many(message.catalog_id, message.tracking_id, rows)

    def batch_failed(self, message: EnrichmentBatchRequested, reason: str) -> None:
        """Retries ran out (or the batch can never succeed): FAILED, its unfinished products
        counted as failed with the reason, the catalog closed if this was its last batch."""
        catalog_id, tracking_id = message.catalog_id, message.tracking_id
        ids = [p.product_id for p in message.products]
        done = self.products.done(catalog_id, tracking_id, ids)
        unfinished = [{"product_id": pid, "reason": reason[:300]} for pid in ids if pid not in done]
        self.batches.add_products(catalog_id, tracking_id, message.batch_id, 0, unfinished)
        self.batches.mark_unfinished(catalog_id, tracking_id, message.batch_id, len(unfinished))
        if unfinished:
            count_many(Metric.ENRICHMENT_PRODUCTS_FAILED, len(unfinished))
        self._close(message, BatchStatus.FAILED, reason[:500])

    def _close(self, message: EnrichmentBatchRequested, status: BatchStatus, detail: str) -> None:
        catalog_id, tracking_id = message.catalog_id, message.tracking_id
        closed_all = self.batches.finish_batch(
            catalog_id, tracking_id, message.batch_id, status, detail
        )
        count(Metric.ENRICHMENT_BATCH_FINISHED)
        if status is BatchStatus.FAILED:
            count(Metric.ENRICHMENT_BATCH_FAILED)
        if closed_all:
            final = final_status(self.batches.summary(catalog_id, tracking_id) or {})
            self.batches.finish(catalog_id, tracking_id, final)
            logger.info("enrichment finished", extra={"status": final.value})


def _identifiers(product: Product) -> dict[str, str]:
    return {name: value for name in IDENTIFIERS if (value := getattr(product, name))}


def _log_attempt(skipped: int, result: BatchResult) -> None:
    logger.info(
        "batch attempt finished",
        extra={
            "skipped": skipped,
            "enriched": len(result.enriched),
            "failed": len(result.failed),
            "provider_trouble": len(result.troubled),
            "stopped_early": result.stopped_early,
        },
    )
