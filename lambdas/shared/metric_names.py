"""Every custom metric the functions emit, by name, in one list: the functions emit these, and
the monitoring construct charts and alarms on them, so a renamed metric cannot leave a widget or
an alarm watching nothing. Standard library only: infra imports it too."""

from __future__ import annotations

from enum import StrEnum


class Metric(StrEnum):
    # Marketplace orders
    WEBHOOK_ACCEPTED = "WebhookAccepted"
    WEBHOOK_DUPLICATE = "WebhookDuplicate"
    WEBHOOK_REJECTED = "WebhookRejected"  # dimension: reason
    ORDER_DOWNLOADED = "OrderDownloaded"
    ORDER_PROCESSED = "OrderProcessed"
    ORDER_DEAD_LETTERED = "OrderDeadLettered"
    # ERP entity sync
    ERP_EVENT_ACCEPTED = "ErpEventAccepted"
    ERP_EVENT_DUPLICATE = "ErpEventDuplicate"
    ERP_EVENT_REJECTED = "ErpEventRejected"  # dimension: reason
    ERP_EVENT_SYNCED = "ErpEventSynced"  # dimension: entity
    ERP_STALE_IGNORED = "ErpStaleIgnored"
    ERP_EVENT_RETRIED = "ErpEventRetried"
    ERP_EVENT_DEAD_LETTERED = "ErpEventDeadLettered"
    # Catalog enrichment
    ENRICHMENT_REQUESTED = "EnrichmentRequested"
    ENRICHMENT_REQUEST_REJECTED = "EnrichmentRequestRejected"  # dimension: reason
    ENRICHMENT_BATCH_FINISHED = "EnrichmentBatchFinished"
    ENRICHMENT_BATCH_FAILED = "EnrichmentBatchFailed"
    ENRICHMENT_BATCH_RETRIED = "EnrichmentBatchRetried"
    ENRICHMENT_BATCH_DEAD_LETTERED = "EnrichmentBatchDeadLettered"
    ENRICHMENT_BATCH_DURATION = "EnrichmentBatchDuration"  # milliseconds
    ENRICHMENT_PRODUCTS_SUCCEEDED = "EnrichmentProductsSucceeded"  # products, per batch attempt
    ENRICHMENT_PRODUCTS_FAILED = "EnrichmentProductsFailed"  # products, per batch attempt
    PROVIDER_LATENCY = "ProviderLatency"  # milliseconds, per lookup
    # Circuit breakers, each with the dimension `peer`. `CircuitOpen` is the probe's gauge (1 open,
    # 0 closed) every tick: the alarm watches it, so it stays in ALARM while the breaker is open.
    CIRCUIT_OPEN = "CircuitOpen"
    CIRCUIT_OPENED = "CircuitOpened"
    CIRCUIT_PARKED = "CircuitParkedRecords"
    # Every pipeline
    STUCK_EVENTS = "StuckEvents"
    STUCK_EVENTS_REQUEUED = "StuckEventsRequeued"
