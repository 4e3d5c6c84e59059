"""Enrichment stage: one catalog batch per message → the provider, concurrently → the products
table; batch and catalog progress kept on the status table.

Products this enrichment already finished are skipped, so a redelivered batch never asks the
provider again for them. Provider trouble sends the batch back to SQS (with backoff); when the
retries run out the batch is FAILED, its unfinished products counted as failed, and the message
is in the DLQ for a redrive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from catalog.enrich import enrich_batch
from catalog.messages import EnrichmentBatchRequested
from catalog.provider import PING_PROVIDER, EnrichedFields, PingProvider, ProviderClient
from catalog.requests import Product
from catalog.status import BatchStatus, EnrichmentStatus, batch_outcome, final_status
from catalog.store import EnrichmentStore, ProductStore
from shared.batch import Attempt
from shared.errors import NonRetryableError, RetryableError
from shared.metrics import count, record
from shared.observability import logger, tracer
from shared.secrets import get_secret
from shared.settings import get_settings
from shared.worker import StageRuntime, WorkerSettings, parse_message, stage_runtime, worker_handler

PIPELINE = "catalog_enrichment"
STAGE = "enrich"
_PING = PingProvider()


class EnrichmentWorkerSettings(WorkerSettings):
    enrichment_table_name: str
    products_table_name: str
    enrichment_dlq_url: str
    provider_api_base_url: str
    provider_key_secret_name: str


@dataclass(frozen=True)
class _Dependencies:
    stage: StageRuntime
    batches: EnrichmentStore
    products: ProductStore
    provider: ProviderClient


@lru_cache(maxsize=1)
def _deps() -> _Dependencies:
    settings = get_settings(EnrichmentWorkerSettings)
    stage = stage_runtime(
        settings,
        pipeline=PIPELINE,
        stage=STAGE,
        dlq_url=settings.enrichment_dlq_url,
        dead_letter_metric="EnrichmentBatchDeadLettered",
        retried_metric="EnrichmentBatchRetried",
        on_dead_letter=_batch_failed,
    )
    return _Dependencies(
        stage=stage,
        batches=EnrichmentStore(settings.enrichment_table_name),
        products=ProductStore(settings.products_table_name),
        provider=ProviderClient(
            http=stage.http,
            base_url=settings.provider_api_base_url,
            api_key=lambda: get_secret(settings.provider_key_secret_name),
        ),
    )


@tracer.capture_method
def enrich(sqs_record: SQSRecord, attempt: Attempt) -> None:  # noqa: ARG001 - one way for every stage
    deps = _deps()
    message = parse_message(EnrichmentBatchRequested, sqs_record)
    catalog_id, tracking_id, batch_id = message.catalog_id, message.tracking_id, message.batch_id
    logger.append_keys(catalog_id=catalog_id, tracking_id=tracking_id, batch_id=batch_id)
    summary = deps.batches.summary(catalog_id, tracking_id)
    if summary is None:
        raise NonRetryableError(f"enrichment {tracking_id} of catalog {catalog_id} is unknown")
    if summary.get("status") == EnrichmentStatus.CANCELLED.value:
        logger.info("enrichment cancelled; batch dropped")
        return
    previous = deps.batches.claim_batch(catalog_id, tracking_id, batch_id)
    if previous is None:
        logger.info("batch already finished; duplicate message dropped")
        return
    deps.batches.count_claim(catalog_id, tracking_id, batch_id, previous)
    started = time.monotonic()
    done = deps.products.done(catalog_id, tracking_id, (p.product_id for p in message.products))
    todo = [p for p in message.products if p.product_id not in done]
    provider = _PING if message.provider == PING_PROVIDER else deps.provider

    def lookup_and_store(product: Product) -> EnrichedFields:
        fields = provider.lookup(*product.identifier)
        deps.products.put(
            catalog_id,
            product.product_id,
            tracking_id,
            {"status": "ENRICHED", **fields.model_dump(exclude_none=True), **_identifiers(product)},
        )
        return fields

    result = enrich_batch(todo, lookup_and_store, deps.stage.http.pool_size)
    for failure in result.failed:
        deps.products.put(
            catalog_id, failure["product_id"], tracking_id,
            {"status": "FAILED", "reason": failure["reason"]},
        )  # fmt: skip
    totals = deps.batches.add_products(
        catalog_id, tracking_id, batch_id, len(result.enriched), result.failed
    )
    if result.enriched:
        count_many("EnrichmentProductsSucceeded", len(result.enriched))
    if result.failed:
        count_many("EnrichmentProductsFailed", len(result.failed))
    record("EnrichmentBatchDuration", (time.monotonic() - started) * 1000)
    logger.info(
        "batch attempt finished",
        extra={
            "skipped": len(done),
            "enriched": len(result.enriched),
            "failed": len(result.failed),
            "provider_trouble": len(result.troubled),
            "stopped_early": result.stopped_early,
        },
    )
    if result.troubled:
        raise RetryableError(
            f"{len(result.troubled)} products hit provider trouble"
            + (" (stopped early)" if result.stopped_early else "")
            + f": {result.last_trouble}"
        )
    status = batch_outcome(int(totals.get("failed", 0)))
    _close(deps, catalog_id, tracking_id, batch_id, status, f"{status.value.lower()}")


def _close(
    deps: _Dependencies,
    catalog_id: str,
    tracking_id: str,
    batch_id: str,
    status: BatchStatus,
    detail: str,
) -> None:
    closed_all = deps.batches.finish_batch(catalog_id, tracking_id, batch_id, status, detail)
    count("EnrichmentBatchFinished")
    if status is BatchStatus.FAILED:
        count("EnrichmentBatchFailed")
    if closed_all:
        summary = deps.batches.summary(catalog_id, tracking_id) or {}
        final = final_status(summary)
        deps.batches.finish(catalog_id, tracking_id, final)
        logger.info("enrichment finished", extra={"status": final.value})


def _batch_failed(sqs_record: SQSRecord, reason: str) -> None:
    """Retries ran out (or the batch can never succeed): FAILED, its unfinished products
    counted as failed with the reason, the catalog closed if this was its last batch."""
    deps = _deps()
    try:
        message = EnrichmentBatchRequested.model_validate_json(sqs_record.body)
    except ValueError:
        return  # malformed: nothing to attribute it to
    catalog_id, tracking_id = message.catalog_id, message.tracking_id
    ids = [p.product_id for p in message.products]
    done = deps.products.done(catalog_id, tracking_id, ids)
    unfinished = [{"product_id": pid, "reason": reason[:300]} for pid in ids if pid not in done]
    deps.batches.add_products(catalog_id, tracking_id, message.batch_id, 0, unfinished)
    deps.batches.mark_unfinished(catalog_id, tracking_id, message.batch_id, len(unfinished))
    if unfinished:
        count_many("EnrichmentProductsFailed", len(unfinished))
    _close(deps, catalog_id, tracking_id, message.batch_id, BatchStatus.FAILED, reason[:500])


def _identifiers(product: Product) -> dict[str, Any]:
    return {
        k: v for k, v in (("asin", product.asin), ("upc", product.upc), ("ean", product.ean)) if v
    }


def count_many(name: str, n: int) -> None:
    record(name, n, MetricUnit.Count)


handler = worker_handler(lambda: _deps().stage, enrich)
