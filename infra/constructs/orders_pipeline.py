"""The marketplace orders pipeline: `POST /webhooks/qualia` → the ingest → the download queue →
the download worker (the order from the marketplace API into S3) → the processing queue → the
processing worker (the order to the internal API). Built like the ERP and catalog pipelines,
from the shared constructs; it hands its functions and queues to the stack explicitly."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from constructs import Construct

from infra.config import FunctionSettings, QueueConsumerSettings
from infra.constructs import grants
from infra.constructs.metric_watch import MetricWatch
from infra.constructs.nag import acknowledge_prefix
from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.platform import Platform
from infra.constructs.queue_with_dlq import QueueWithDlq
from infra.constructs.rest_api import ORDER_WEBHOOK
from shared.sources import Source

# Where the download worker keeps each order document and the processing worker reads it.
PAYLOAD_PREFIX = f"{Source.MARKETPLACE}/orders/"


class OrdersPipeline(Construct):
    """The orders pipeline's parts are built in `scope`, beside this construct, not under it.

    They were built in the stack itself before the three pipelines had one shape, and a
    resource's construct path is what its CloudFormation logical ID is made of (and what the
    local runtime names functions and queues by): under this construct every queue, function
    and role would get a new logical ID, and CloudFormation would replace the queues, losing
    the messages in them. The ERP and catalog pipelines were constructs from the start."""

    def __init__(self, scope: Construct, construct_id: str, *, platform: Platform) -> None:
        super().__init__(scope, construct_id)
        self._platform = platform
        env = platform.env
        self.download_queue = self._queue(
            scope, "DownloadQueue", "download", env.queues.download, env.functions.download_worker
        )
        self.processing_queue = self._queue(
            scope,
            "ProcessingQueue",
            "processing",
            env.queues.processing,
            env.functions.processing_worker,
        )
        self.intake = self._build_intake(scope)
        self.download_worker = self._build_download_worker(scope)
        self.processing_worker = self._build_processing_worker(scope)
        self.download_worker.consume(self.download_queue, env.queues.download)
        self.processing_worker.consume(self.processing_queue, env.queues.processing)
        self._grant()
        platform.api.route(
            "POST",
            ORDER_WEBHOOK,
            self.intake.function,
            iam_auth=False,
            public_reason=(
                "Called by the marketplace, which cannot sign with SigV4; every request is "
                "authenticated in the function by its Standard Webhooks HMAC signature"
            ),
        )
        acknowledge_prefix(
            Stack.of(self),
            platform.stores.payload_bucket,
            PAYLOAD_PREFIX,
            "Workers read/write only the raw order objects, keyed by order and event id "
            "under this one prefix",
        )
        self.functions = [self.intake, self.download_worker, self.processing_worker]
        self.queues = [self.download_queue, self.processing_queue]
        self.watches: list[MetricWatch] = []

    @staticmethod
    def _queue(
        scope: Construct,
        construct_id: str,
        stage: str,
        consumer: QueueConsumerSettings,
        worker: FunctionSettings,
    ) -> QueueWithDlq:
        return QueueWithDlq(
            scope,
            construct_id,
            stage=stage,
            consumer=consumer,
            consumer_timeout=Duration.seconds(worker.timeout_seconds),
        )

    def _build_intake(self, scope: Construct) -> PipelineFunction:
        env = self._platform.env
        return self._platform.function(
            scope,
            "Ingest",
            handler="ingest.handler.handler",
            description=f"POST {ORDER_WEBHOOK}: verify, validate, de-duplicate, queue",
            settings=env.functions.ingest,
            environment={
                "DOWNLOAD_QUEUE_URL": self.download_queue.queue.queue_url,
                "WEBHOOK_SECRET_NAME": env.secret_names.webhook_signing,
                "MAX_BODY_BYTES": str(env.api.max_request_body_bytes),
                "EVENT_TIME_WINDOW": env.event_time_window.model_dump_json(),
            },
            records_events=True,
        )

    def _build_download_worker(self, scope: Construct) -> PipelineFunction:
        env, stores = self._platform.env, self._platform.stores
        return self._platform.function(
            scope,
            "DownloadWorker",
            handler="download_worker.handler.handler",
            description="Fetches queued orders from the marketplace API into S3",
            settings=env.functions.download_worker,
            environment={
                "PAYLOAD_BUCKET_NAME": stores.payload_bucket.bucket_name,
                "PROCESSING_QUEUE_URL": self.processing_queue.queue.queue_url,
                "DOWNLOAD_DLQ_URL": self.download_queue.dlq.queue_url,
                "MARKETPLACE_API_BASE_URL": str(env.marketplace_api_base_url),
                "MARKETPLACE_TOKEN_SECRET_NAME": env.secret_names.marketplace_api_token,
                "HTTP_CLIENT": env.http.model_dump_json(),
            },
            records_events=True,
        )

    def _build_processing_worker(self, scope: Construct) -> PipelineFunction:
        env, stores = self._platform.env, self._platform.stores
        return self._platform.function(
            scope,
            "ProcessingWorker",
            handler="processing_worker.handler.handler",
            description="Transforms downloaded orders and posts them to the internal API",
            settings=env.functions.processing_worker,
            environment={
                "PAYLOAD_BUCKET_NAME": stores.payload_bucket.bucket_name,
                "PROCESSING_DLQ_URL": self.processing_queue.dlq.queue_url,
                "INTERNAL_API_BASE_URL": str(env.internal_api_base_url),
                "HTTP_CLIENT": env.http.model_dump_json(),
            },
            records_events=True,
        )

    def _grant(self) -> None:
        stores, secrets = self._platform.stores, self._platform.secrets
        intake, download, processing = self.intake, self.download_worker, self.processing_worker
        grants.intake(stores.events_table, intake.role)
        grants.send_to(self.download_queue.queue, intake.role)
        grants.read_secret(secrets.webhook_signing, intake.role)
        grants.table_actions(stores.events_table, download.role, "GetItem", "UpdateItem")
        grants.objects(stores.payload_bucket, download.role, PAYLOAD_PREFIX, "PutObject")
        grants.send_to(self.processing_queue.queue, download.role)
        grants.read_secret(secrets.marketplace_api_token, download.role)
        grants.table_actions(stores.events_table, processing.role, "GetItem", "UpdateItem")
        grants.objects(
            stores.payload_bucket, processing.role, PAYLOAD_PREFIX, "GetObject", "GetObjectVersion"
        )
