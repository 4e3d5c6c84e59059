"""The ERP entity sync pipeline: `POST /webhooks/zoho/{entity}` → the ingest → three priority
lanes → the sync worker → the entities table. Built like the orders and catalog pipelines, from
the shared constructs; it hands its functions and lanes to the stack explicitly."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from constructs import Construct

from infra.constructs import grants
from infra.constructs.metric_watch import MetricWatch
from infra.constructs.nag import acknowledge_prefix
from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.platform import Platform
from infra.constructs.queue_with_dlq import QueueWithDlq
from infra.constructs.rest_api import ERP_WEBHOOK
from shared.sources import Source

# Where the ERP ingest keeps entity data too large for a DynamoDB item (`erp.inbox`).
LARGE_DATA_PREFIX = f"{Source.ERP}/data/"


class ErpPipeline(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, platform: Platform) -> None:
        super().__init__(scope, construct_id)
        self._platform = platform
        env = platform.env
        worker_timeout = Duration.seconds(env.functions.erp_sync_worker.timeout_seconds)
        self.lanes = {
            lane: QueueWithDlq(
                self,
                f"{lane.title()}Lane",
                stage=f"erp-{lane}",
                consumer=consumer,
                consumer_timeout=worker_timeout,
            )
            for lane, consumer in env.queues.erp_lanes.items()
        }
        self.intake = self._build_intake()
        self.sync_worker = self._build_sync_worker()
        for lane, pair in self.lanes.items():
            self.sync_worker.consume(pair, env.queues.erp_lanes[lane])
        self._grant()
        platform.api.route(
            "POST",
            ERP_WEBHOOK,
            self.intake.function,
            iam_auth=False,
            public_reason=(
                "Called by the ERP, which cannot sign with SigV4; every request is authenticated "
                "in the function by its X-Webhook-Key, compared in constant time"
            ),
        )
        self.functions = [self.intake, self.sync_worker]
        self.queues = list(self.lanes.values())
        self.watches: list[MetricWatch] = []

    def _build_intake(self) -> PipelineFunction:
        env, stores = self._platform.env, self._platform.stores
        return self._platform.function(
            self,
            "Ingest",
            handler="erp_ingest.handler.handler",
            description=f"POST {ERP_WEBHOOK}: authenticate, validate, keep, queue by lane",
            settings=env.functions.erp_ingest,
            environment={
                "IDEMPOTENCY_TABLE_NAME": stores.idempotency_table.table_name,
                "LANE_QUEUE_URLS": Stack.of(self).to_json_string(
                    {lane: pair.queue.queue_url for lane, pair in self.lanes.items()}
                ),
                "WEBHOOK_KEYS_SECRET_NAME": env.secret_names.erp_webhook_keys,
                "MAX_BODY_BYTES": str(env.api.max_request_body_bytes),
                "EVENT_TIME_WINDOW": env.event_time_window.model_dump_json(),
                "DEDUPE_WINDOW_SECONDS": str(env.erp.dedupe_window_seconds),
                "PAYLOAD_BUCKET_NAME": stores.payload_bucket.bucket_name,
            },
            records_events=True,
        )

    def _build_sync_worker(self) -> PipelineFunction:
        env, stores = self._platform.env, self._platform.stores
        return self._platform.function(
            self,
            "SyncWorker",
            handler="erp_sync_worker.handler.handler",
            description="Syncs ERP entity events into the entities table, ordering-safe",
            settings=env.functions.erp_sync_worker,
            environment={
                "ENTITIES_TABLE_NAME": stores.entities_table.table_name,
                "ERP_LANES": Stack.of(self).to_json_string(
                    {lane: pair.reference for lane, pair in self.lanes.items()}
                ),
            },
            records_events=True,
        )

    def _grant(self) -> None:
        stores, secrets = self._platform.stores, self._platform.secrets
        role = self.intake.role
        grants.intake(stores.events_table, role)
        # Each entity's latest delivery without a timestamp (`erp.store.LatestDeliveries`).
        grants.table_actions(stores.idempotency_table, role, "GetItem", "PutItem")
        for pair in self.lanes.values():
            grants.send_to(pair.queue, role)
        grants.read_secret(secrets.erp_webhook_keys, role)
        # Data too large for an item: written once under its content hash, read by the worker.
        grants.objects(stores.payload_bucket, role, LARGE_DATA_PREFIX, "PutObject")
        role = self.sync_worker.role
        grants.table_actions(stores.events_table, role, "GetItem", "UpdateItem")
        grants.table_actions(stores.entities_table, role, "GetItem", "UpdateItem")
        grants.objects(stores.payload_bucket, role, LARGE_DATA_PREFIX, "GetObject")
        acknowledge_prefix(
            Stack.of(self),
            stores.payload_bucket,
            LARGE_DATA_PREFIX,
            "The ERP ingest writes and the sync worker reads only entity data too large for an "
            "item, one object per content hash, under this one prefix",
        )
