"""The catalog enrichment pipeline: the IAM-authorized enrichment API → the enrichment queue →
the enrichment worker (bounded concurrency against the provider) → the products table, with
batch and catalog progress on the enrichment status table. Built like the orders and ERP
pipelines, from the shared constructs; it hands its functions, queue and business-metric
watches to the stack explicitly. It keeps no events: its functions are not told of the events
table and may not touch it."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from infra.constructs import grants
from infra.constructs.metric_watch import MetricWatch
from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.platform import Platform
from infra.constructs.queue_with_dlq import QueueWithDlq
from infra.constructs.rest_api import ENRICHMENT_REQUESTS
from shared.indexes import ENRICHMENTS_BY_USER
from shared.metric_names import Metric

_WATCH_PERIOD = Duration.minutes(5)
ROUTES = (
    ("POST", ENRICHMENT_REQUESTS),
    ("GET", ENRICHMENT_REQUESTS),
    ("GET", "/users/{user_id}/enrichments"),
)


class CatalogPipeline(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, platform: Platform) -> None:
        super().__init__(scope, construct_id)
        self._platform = platform
        env = platform.env
        self.enrichment_queue = QueueWithDlq(
            self,
            "Queue",
            stage="enrichment",
            consumer=env.queues.enrichment,
            consumer_timeout=Duration.seconds(env.functions.enrichment_worker.timeout_seconds),
            max_depth=env.enrichment.alarms.queue_max_depth,
        )
        self.intake = self._build_intake()
        self.enrichment_worker = self._build_enrichment_worker()
        self.enrichment_worker.consume(self.enrichment_queue, env.queues.enrichment)
        self._grant()
        for method, path in ROUTES:
            platform.api.route(method, path, self.intake.function, iam_auth=True)
        self.functions = [self.intake, self.enrichment_worker]
        self.queues = [self.enrichment_queue]
        self.watches = self._watches()

    def _build_intake(self) -> PipelineFunction:
        env, stores = self._platform.env, self._platform.stores
        return self._platform.function(
            self,
            "Api",
            handler="catalog_api.handler.handler",
            description="Catalog enrichment requests, progress and per-user listing",
            settings=env.functions.catalog_api,
            environment={
                "ENRICHMENT_TABLE_NAME": stores.enrichment_table.table_name,
                "IDEMPOTENCY_TABLE_NAME": stores.idempotency_table.table_name,
                "ENRICHMENT_QUEUE_URL": self.enrichment_queue.queue.queue_url,
                "DEFAULT_BATCH_SIZE": str(env.enrichment.default_batch_size),
                "MAX_PRODUCTS": str(env.enrichment.max_products),
                "MAX_BODY_BYTES": str(env.api.max_request_body_bytes),
            },
            records_events=False,
        )

    def _build_enrichment_worker(self) -> PipelineFunction:
        env, stores = self._platform.env, self._platform.stores
        return self._platform.function(
            self,
            "Worker",
            handler="enrichment_worker.handler.handler",
            description="Enriches one catalog batch against the product-data provider",
            settings=env.functions.enrichment_worker,
            environment={
                "ENRICHMENT_TABLE_NAME": stores.enrichment_table.table_name,
                "PRODUCTS_TABLE_NAME": stores.products_table.table_name,
                "ENRICHMENT_DLQ_URL": self.enrichment_queue.dlq.queue_url,
                "PROVIDER_API_BASE_URL": str(env.enrichment.provider_api_base_url),
                "PROVIDER_KEY_SECRET_NAME": env.secret_names.provider_api_key,
                "HTTP_CLIENT": env.http.model_dump_json(),
            },
            records_events=False,
        )

    def _grant(self) -> None:
        stores, secrets = self._platform.stores, self._platform.secrets
        role = self.intake.role
        grants.table_actions(
            stores.enrichment_table, role, "GetItem", "PutItem", "UpdateItem", "BatchWriteItem"
        )
        grants.query_indexes(stores.enrichment_table, role, ENRICHMENTS_BY_USER.name)
        grants.table_actions(
            stores.idempotency_table, role, "PutItem", "GetItem", "UpdateItem", "DeleteItem"
        )
        grants.send_to(self.enrichment_queue.queue, role)  # SendMessageBatch: as SendMessage
        role = self.enrichment_worker.role
        grants.table_actions(stores.enrichment_table, role, "GetItem", "UpdateItem")
        grants.table_actions(stores.products_table, role, "PutItem", "BatchGetItem")
        grants.read_secret(secrets.provider_api_key, role)

    def _watches(self) -> list[MetricWatch]:
        settings = self._platform.env.enrichment.alarms
        timeout = self._platform.env.functions.enrichment_worker.timeout_seconds
        limit_ms = int(timeout * 1000 * settings.batch_duration_ratio)
        failure_rate = MetricWatch(
            function=self.enrichment_worker,
            metric=Metric.ENRICHMENT_BATCH_FAILED,
            per=Metric.ENRICHMENT_BATCH_FINISHED,
            statistic="Sum",
            period=_WATCH_PERIOD,
            max_value=settings.batch_failure_rate_percent,
            meaning=(
                f"More than {settings.batch_failure_rate_percent}% of enrichment batches fail: "
                "the provider stayed unavailable through every retry."
            ),
            first_action=(
                f"check {Metric.PROVIDER_LATENCY} and the worker's errors; the provider's status."
            ),
            runbook_section="Enrichment batches failing",
        )
        duration = MetricWatch(
            function=self.enrichment_worker,
            metric=Metric.ENRICHMENT_BATCH_DURATION,
            statistic="p99",
            period=_WATCH_PERIOD,
            max_value=limit_ms,
            meaning=(
                f"Enrichment batches take over {settings.batch_duration_ratio:.0%} of the "
                "worker's timeout (p99): timeouts, and whole-batch retries, are close."
            ),
            first_action=(
                f"check {Metric.PROVIDER_LATENCY}; lower batch sizes or raise the timeout."
            ),
            runbook_section="Enrichment batches slow",
        )
        return [failure_rate, duration]
