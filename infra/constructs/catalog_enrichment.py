"""The catalog enrichment pipeline: the IAM-authorized enrichment API → the enrichment queue →
the enrichment worker (bounded concurrency against the provider) → the products table, with
batch and catalog progress on the enrichment status table."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from infra.constructs import grants
from infra.constructs.data_stores import USER_INDEX
from infra.constructs.metric_watch import MetricWatch
from infra.constructs.platform import Platform
from infra.constructs.queue_with_dlq import QueueWithDlq

_WATCH_PERIOD = Duration.minutes(5)


class CatalogEnrichment(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
    ) -> None:
        super().__init__(scope, construct_id)
        env, stores = platform.env, platform.stores
        secrets, api = platform.secrets, platform.api
        settings = env.enrichment
        worker_settings = env.functions.enrichment_worker
        consumer = env.queues.enrichment
        self.queue = QueueWithDlq(
            self,
            "Queue",
            stage="enrichment",
            consumer=consumer,
            consumer_timeout=Duration.seconds(worker_settings.timeout_seconds),
            max_depth=settings.alarms.queue_max_depth,
        )

        self.api_function = platform.function(
            self,
            "Api",
            handler="catalog_api.handler.handler",
            description="Catalog enrichment requests, progress and per-user listing",
            settings=env.functions.catalog_api,
            environment={
                "ENRICHMENT_TABLE_NAME": stores.enrichment_table.table_name,
                "IDEMPOTENCY_TABLE_NAME": stores.idempotency_table.table_name,
                "ENRICHMENT_QUEUE_URL": self.queue.queue.queue_url,
                "DEFAULT_BATCH_SIZE": str(settings.default_batch_size),
                "MAX_PRODUCTS": str(settings.max_products),
                "MAX_BODY_BYTES": str(env.api.max_request_body_bytes),
            },
        )
        role = self.api_function.role
        grants.table_actions(
            stores.enrichment_table, role, "GetItem", "PutItem", "UpdateItem", "BatchWriteItem"
        )
        grants.query_indexes(stores.enrichment_table, role, USER_INDEX)
        grants.table_actions(
            stores.idempotency_table, role, "PutItem", "GetItem", "UpdateItem", "DeleteItem"
        )
        grants.send_to(self.queue.queue, role)  # SendMessageBatch is authorized as SendMessage

        self.worker = platform.function(
            self,
            "Worker",
            handler="enrichment_worker.handler.handler",
            description="Enriches one catalog batch against the product-data provider",
            settings=worker_settings,
            environment={
                "ENRICHMENT_TABLE_NAME": stores.enrichment_table.table_name,
                "PRODUCTS_TABLE_NAME": stores.products_table.table_name,
                "ENRICHMENT_DLQ_URL": self.queue.dlq.queue_url,
                "PROVIDER_API_BASE_URL": str(settings.provider_api_base_url),
                "PROVIDER_KEY_SECRET_NAME": env.secret_names.provider_api_key,
                "HTTP_CLIENT": env.http.model_dump_json(),
            },
        )
        self.worker.consume(self.queue, consumer)
        role = self.worker.role
        grants.table_actions(stores.enrichment_table, role, "GetItem", "UpdateItem")
        grants.table_actions(stores.products_table, role, "PutItem", "BatchGetItem")
        grants.read_secret(secrets.provider_api_key, role)

        for method, path in (
            ("POST", "/catalogs/{catalog_id}/enrichments"),
            ("GET", "/catalogs/{catalog_id}/enrichments"),
            ("GET", "/users/{user_id}/enrichments"),
        ):
            api.route(method, path, self.api_function.function, iam_auth=True)

        alarms = settings.alarms
        MetricWatch(
            self,
            "BatchFailureRate",
            function=self.worker,
            metric_name="EnrichmentBatchFailed",
            per="EnrichmentBatchFinished",
            statistic="Sum",
            period=_WATCH_PERIOD,
            max_value=alarms.batch_failure_rate_percent,
            meaning=(
                f"More than {alarms.batch_failure_rate_percent}% of enrichment batches fail: "
                "the provider stayed unavailable through every retry."
            ),
            first_action="check ProviderLatency and the worker's errors; the provider's status.",
            runbook_section="Enrichment batches failing",
        )
        limit_ms = int(worker_settings.timeout_seconds * 1000 * alarms.batch_duration_ratio)
        MetricWatch(
            self,
            "BatchDuration",
            function=self.worker,
            metric_name="EnrichmentBatchDuration",
            statistic="p99",
            period=_WATCH_PERIOD,
            max_value=limit_ms,
            meaning=(
                f"Enrichment batches take over {alarms.batch_duration_ratio:.0%} of the worker's "
                "timeout (p99): timeouts, and whole-batch retries, are close."
            ),
            first_action="check ProviderLatency; lower batch sizes or raise the timeout.",
            runbook_section="Enrichment batches slow",
        )
