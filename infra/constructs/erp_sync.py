"""The ERP entity sync pipeline: `POST /webhooks/zoho/{entity}` → three priority lanes → the sync
worker → the entities table. Built from the shared constructs; monitoring and the ops endpoints
find its functions and lanes on their own."""

from __future__ import annotations

from typing import cast

from aws_cdk import Duration, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs import grants
from infra.constructs.data_stores import DataStores
from infra.constructs.nag import acknowledge
from infra.constructs.platform import Platform
from infra.constructs.queue_with_dlq import QueueWithDlq

# Where the ERP ingest keeps entity data too large for a DynamoDB item (`erp.inbox`).
LARGE_DATA_PREFIX = "zoho/data/"


def _bucket_id(stores: DataStores) -> str:
    bucket = cast(s3.CfnBucket, stores.payload_bucket.node.default_child)
    return str(Stack.of(bucket).resolve(bucket.logical_id))


class ErpSync(Construct):
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
        to_json = Stack.of(self).to_json_string

        self.ingest = platform.function(
            self,
            "Ingest",
            handler="erp_ingest.handler.handler",
            description="POST /webhooks/zoho/{entity}: authenticate, validate, keep, queue by lane",
            settings=env.functions.erp_ingest,
            environment={
                "IDEMPOTENCY_TABLE_NAME": stores.idempotency_table.table_name,
                "LANE_QUEUE_URLS": to_json(
                    {lane: pair.queue.queue_url for lane, pair in self.lanes.items()}
                ),
                "WEBHOOK_KEYS_SECRET_NAME": env.secret_names.erp_webhook_keys,
                "MAX_BODY_BYTES": str(env.api.max_request_body_bytes),
                "EVENT_TIME_WINDOW": env.event_time_window.model_dump_json(),
                "DEDUPE_WINDOW_SECONDS": str(env.erp.dedupe_window_seconds),
                "PAYLOAD_BUCKET_NAME": stores.payload_bucket.bucket_name,
            },
        )
        role = self.ingest.role
        grants.intake(stores.events_table, stores.idempotency_table, role)
        for pair in self.lanes.values():
            grants.send_to(pair.queue, role)
        grants.read_secret(secrets.erp_webhook_keys, role)
        # Data too large for an item: written once under its content hash, read by the worker.
        grants.objects(stores.payload_bucket, role, LARGE_DATA_PREFIX, "PutObject")

        self.sync_worker = platform.function(
            self,
            "SyncWorker",
            handler="erp_sync_worker.handler.handler",
            description="Syncs ERP entity events into the entities table, ordering-safe",
            settings=env.functions.erp_sync_worker,
            environment={
                "ENTITIES_TABLE_NAME": stores.entities_table.table_name,
                "ERP_LANES": to_json({lane: pair.reference for lane, pair in self.lanes.items()}),
            },
        )
        for lane, pair in self.lanes.items():
            self.sync_worker.consume(pair, env.queues.erp_lanes[lane])
        role = self.sync_worker.role
        grants.table_actions(stores.events_table, role, "GetItem", "UpdateItem")
        grants.table_actions(stores.entities_table, role, "GetItem", "UpdateItem")
        grants.objects(stores.payload_bucket, role, LARGE_DATA_PREFIX, "GetObject")
        acknowledge(
            Stack.of(self),
            f"AwsSolutions-IAM5[Resource::<{_bucket_id(stores)}.Arn>/{LARGE_DATA_PREFIX}*]",
            "The ERP ingest writes and the sync worker reads only entity data too large for an "
            "item, one object per content hash, under this one prefix",
        )

        api.route(
            "POST",
            "/webhooks/zoho/{entity}",
            self.ingest.function,
            iam_auth=False,
            public_reason=(
                "Called by the ERP, which cannot sign with SigV4; every request is authenticated "
                "in the function by its X-Webhook-Key, compared in constant time"
            ),
        )
