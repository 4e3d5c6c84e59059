"""The Webhook Pipeline stack for one environment: composes constructs, tags, outputs."""

from __future__ import annotations

from typing import Any, cast

from aws_cdk import CfnOutput, Duration, Stack, Tags
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs import grants
from infra.constructs.catalog_enrichment import CatalogEnrichment
from infra.constructs.data_stores import PIPELINE_INDEX, STATUS_INDEX, DataStores
from infra.constructs.erp_sync import ErpSync
from infra.constructs.lambda_runtime import LambdaRuntime
from infra.constructs.monitoring import PipelineMonitoring
from infra.constructs.nag import acknowledge
from infra.constructs.platform import Platform
from infra.constructs.queue_with_dlq import QueueWithDlq
from infra.constructs.rest_api import RestApi
from infra.constructs.secrets import PipelineSecrets
from infra.constructs.stuck_event_sweeper import StuckEventSweeper

PAYLOAD_PREFIX = "qualia/orders/"


class WebhookPipelineStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        env = settings
        for key, value in env.tags.items():
            Tags.of(self).add(key, value)

        runtime = LambdaRuntime(self, "LambdaRuntime")
        stores = DataStores(self, "DataStores", env=env)
        secrets = PipelineSecrets(self, "Secrets", env=env)
        api = RestApi(self, "Api", env=env)

        download_queue = QueueWithDlq(
            self,
            "DownloadQueue",
            stage="download",
            consumer=env.queues.download,
            consumer_timeout=Duration.seconds(env.functions.download_worker.timeout_seconds),
        )
        processing_queue = QueueWithDlq(
            self,
            "ProcessingQueue",
            stage="processing",
            consumer=env.queues.processing,
            consumer_timeout=Duration.seconds(env.functions.processing_worker.timeout_seconds),
        )

        platform = Platform(env=env, runtime=runtime, stores=stores, secrets=secrets, api=api)
        http_client = env.http.model_dump_json()

        ingest = platform.function(
            self,
            "Ingest",
            handler="ingest.handler.handler",
            description="POST /webhooks/qualia: verify, validate, de-duplicate, queue",
            settings=env.functions.ingest,
            environment={
                "IDEMPOTENCY_TABLE_NAME": stores.idempotency_table.table_name,
                "DOWNLOAD_QUEUE_URL": download_queue.queue.queue_url,
                "WEBHOOK_SECRET_NAME": env.secret_names.webhook_signing,
                "MAX_BODY_BYTES": str(env.api.max_request_body_bytes),
                "EVENT_TIME_WINDOW": env.event_time_window.model_dump_json(),
            },
        )
        grants.intake(stores.events_table, stores.idempotency_table, ingest.role)
        grants.send_to(download_queue.queue, ingest.role)
        grants.read_secret(secrets.webhook_signing, ingest.role)

        download = platform.function(
            self,
            "DownloadWorker",
            handler="download_worker.handler.handler",
            description="Fetches queued orders from the marketplace API into S3",
            settings=env.functions.download_worker,
            environment={
                "PAYLOAD_BUCKET_NAME": stores.payload_bucket.bucket_name,
                "PROCESSING_QUEUE_URL": processing_queue.queue.queue_url,
                "DOWNLOAD_DLQ_URL": download_queue.dlq.queue_url,
                "MARKETPLACE_API_BASE_URL": str(env.marketplace_api_base_url),
                "MARKETPLACE_TOKEN_SECRET_NAME": env.secret_names.marketplace_api_token,
                "HTTP_CLIENT": http_client,
            },
        )
        download.consume(download_queue, env.queues.download)
        grants.table_actions(stores.events_table, download.role, "GetItem", "UpdateItem")
        grants.objects(stores.payload_bucket, download.role, PAYLOAD_PREFIX, "PutObject")
        grants.send_to(processing_queue.queue, download.role)
        grants.read_secret(secrets.marketplace_api_token, download.role)

        processing = platform.function(
            self,
            "ProcessingWorker",
            handler="processing_worker.handler.handler",
            description="Transforms downloaded orders and posts them to the internal API",
            settings=env.functions.processing_worker,
            environment={
                "PAYLOAD_BUCKET_NAME": stores.payload_bucket.bucket_name,
                "PROCESSING_DLQ_URL": processing_queue.dlq.queue_url,
                "INTERNAL_API_BASE_URL": str(env.internal_api_base_url),
                "HTTP_CLIENT": http_client,
            },
        )
        processing.consume(processing_queue, env.queues.processing)
        grants.table_actions(stores.events_table, processing.role, "GetItem", "UpdateItem")
        grants.objects(
            stores.payload_bucket, processing.role, PAYLOAD_PREFIX, "GetObject", "GetObjectVersion"
        )

        ErpSync(self, "Erp", platform=platform)
        CatalogEnrichment(self, "Catalog", platform=platform)

        stage_queues = {
            pair.stage: pair for pair in self.node.find_all() if isinstance(pair, QueueWithDlq)
        }
        StuckEventSweeper(
            self, "StuckEvents", platform=platform, queues=list(stage_queues.values())
        )
        ops_api = platform.function(
            self,
            "OpsApi",
            handler="ops_api.handler.handler",
            description="Operator endpoints: events, stats, health, DLQ redrive, replay",
            settings=env.functions.ops_api,
            environment={
                "PAYLOAD_BUCKET_NAME": stores.payload_bucket.bucket_name,
                "QUEUES": self.to_json_string(
                    {stage: pair.reference for stage, pair in stage_queues.items()}
                ),
            },
        )
        grants.table_actions(stores.events_table, ops_api.role, "GetItem", "UpdateItem")
        grants.query_indexes(stores.events_table, ops_api.role, STATUS_INDEX, PIPELINE_INDEX)
        grants.bucket_listing(stores.payload_bucket, ops_api.role)
        for pair in stage_queues.values():
            grants.operate_queue(pair, ops_api.role)

        api.route(
            "POST",
            "/webhooks/qualia",
            ingest.function,
            iam_auth=False,
            public_reason=(
                "Called by the marketplace, which cannot sign with SigV4; every request is "
                "authenticated in the function by its Standard Webhooks HMAC signature"
            ),
        )
        for method, path in (
            ("GET", "/events"),
            ("GET", "/events/{event_id}"),
            ("POST", "/events/{event_id}/replay"),
            ("GET", "/stats"),
            ("GET", "/health"),
            ("POST", "/dlq/{queue}/redrive"),
            ("GET", "/dlq/{queue}/redrive"),
        ):
            api.route(method, path, ops_api.function, iam_auth=True)

        # Last: it watches every function, queue and table built above.
        self.monitoring = PipelineMonitoring(self, "Monitoring", env=env, api=api)

        self._acknowledge_payload_prefix(stores.payload_bucket)
        self._outputs(api, stores, secrets, download_queue, processing_queue)

    def _acknowledge_payload_prefix(self, bucket: s3.IBucket) -> None:
        bucket_id = self.resolve(cast(s3.CfnBucket, bucket.node.default_child).logical_id)
        acknowledge(
            self,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{PAYLOAD_PREFIX}*]",
            "Workers read/write only the raw order objects, keyed by order and event id "
            "under this one prefix",
        )

    def _outputs(
        self,
        api: RestApi,
        stores: DataStores,
        secrets: PipelineSecrets,
        download_queue: QueueWithDlq,
        processing_queue: QueueWithDlq,
    ) -> None:
        outputs = {
            "ApiUrl": api.api.url,
            "EventsTableName": stores.events_table.table_name,
            "EntitiesTableName": stores.entities_table.table_name,
            "EnrichmentTableName": stores.enrichment_table.table_name,
            "ProductsTableName": stores.products_table.table_name,
            "PayloadBucketName": stores.payload_bucket.bucket_name,
            "DownloadQueueUrl": download_queue.queue.queue_url,
            "DownloadDlqUrl": download_queue.dlq.queue_url,
            "ProcessingQueueUrl": processing_queue.queue.queue_url,
            "ProcessingDlqUrl": processing_queue.dlq.queue_url,
            "WebhookSigningSecretName": secrets.webhook_signing.secret_name,
            "MarketplaceApiTokenSecretName": secrets.marketplace_api_token.secret_name,
            "ErpWebhookKeysSecretName": secrets.erp_webhook_keys.secret_name,
            "ProviderApiKeySecretName": secrets.provider_api_key.secret_name,
            "AlarmTopicArn": self.monitoring.topic.topic_arn,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
