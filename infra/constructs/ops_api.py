"""The operators' API: one function behind seven IAM-authorized routes (events, stats, health,
replay, DLQ redrive). The stack hands it every queue pair it may inspect, replay into and
redrive."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from constructs import Construct

from infra.constructs import grants
from infra.constructs.metric_watch import MetricWatch
from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.platform import Platform
from infra.constructs.queue_with_dlq import QueueWithDlq
from shared.indexes import EVENTS_BY_PIPELINE, EVENTS_BY_STATUS

ROUTES = (
    ("GET", "/events"),
    ("GET", "/events/{event_id}"),
    ("POST", "/events/{event_id}/replay"),
    ("GET", "/stats"),
    ("GET", "/health"),
    ("POST", "/dlq/{queue}/redrive"),
    ("GET", "/dlq/{queue}/redrive"),
)


class OpsApi(Construct):
    """The function is built in `scope`, beside this construct, as `OpsApi`: it was built in the
    stack itself before the ops API was a construct, and its construct path is what its logical
    IDs and its name in the local runtime are made of (see `OrdersPipeline`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        queues: Sequence[QueueWithDlq],
    ) -> None:
        super().__init__(scope, construct_id)
        self._platform = platform
        self.function = self._build_function(scope, queues)
        stores, role = platform.stores, self.function.role
        grants.table_actions(stores.events_table, role, "GetItem", "BatchGetItem", "UpdateItem")
        grants.query_indexes(
            stores.events_table, role, EVENTS_BY_STATUS.name, EVENTS_BY_PIPELINE.name
        )
        grants.bucket_listing(stores.payload_bucket, role)
        for pair in queues:
            grants.operate_queue(pair, role)
        for method, path in ROUTES:
            platform.api.route(method, path, self.function.function, iam_auth=True)
        self.functions = [self.function]
        self.queues: list[QueueWithDlq] = []  # it operates the pipelines' queues, owns none
        self.watches: list[MetricWatch] = []

    def _build_function(self, scope: Construct, queues: Sequence[QueueWithDlq]) -> PipelineFunction:
        env, stores = self._platform.env, self._platform.stores
        return self._platform.function(
            scope,
            "OpsApi",
            handler="ops_api.handler.handler",
            description="Operator endpoints: events, stats, health, DLQ redrive, replay",
            settings=env.functions.ops_api,
            environment={
                "PAYLOAD_BUCKET_NAME": stores.payload_bucket.bucket_name,
                "QUEUES": Stack.of(self).to_json_string(
                    {pair.stage: pair.reference for pair in queues}
                ),
            },
            records_events=True,
        )
