"""The stuck-event sweeper: a scheduled function that re-enqueues events that stopped moving in
any pipeline (once each), with an alarm on how many it finds. The stack hands it every queue
pair it may re-enqueue into."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from constructs import Construct

from infra.constructs import grants
from infra.constructs.metric_watch import MetricWatch
from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.platform import Platform
from infra.constructs.queue_with_dlq import QueueWithDlq
from infra.constructs.schedule import every_minutes
from shared.indexes import EVENTS_BY_STATUS
from shared.metric_names import Metric


class StuckEventSweeper(Construct):
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
        self.function = self._build_function(queues)
        role, stores = self.function.role, platform.stores
        grants.table_actions(stores.events_table, role, "UpdateItem", "BatchGetItem")
        grants.query_indexes(stores.events_table, role, EVENTS_BY_STATUS.name)
        for pair in queues:
            grants.send_to(pair.queue, role)
        self.schedule = self._build_schedule()
        self.functions = [self.function]
        self.queues: list[QueueWithDlq] = []  # it sends to the pipelines' queues, owns none
        self.watches = [self._watch()]

    def _build_function(self, queues: Sequence[QueueWithDlq]) -> PipelineFunction:
        env = self._platform.env
        return self._platform.function(
            self,
            "Sweeper",
            handler="stuck_sweeper.handler.handler",
            description="Re-enqueues events that stopped moving, once each; counts them",
            settings=env.functions.stuck_sweeper,
            environment={
                "QUEUES": Stack.of(self).to_json_string(
                    {pair.stage: pair.reference for pair in queues}
                ),
                "STUCK_AFTER_MINUTES": str(env.stuck_events.stuck_after_minutes),
            },
            records_events=True,
        )

    def _build_schedule(self) -> events.Rule:
        return every_minutes(
            self,
            "Schedule",
            minutes=self._platform.env.stuck_events.sweep_every_minutes,
            function=self.function.function,
            purpose="Sweeps for stuck events",
        )

    def _watch(self) -> MetricWatch:
        settings = self._platform.env.stuck_events
        return MetricWatch(
            function=self.function,
            metric=Metric.STUCK_EVENTS,
            statistic="Maximum",
            period=Duration.minutes(max(5, settings.sweep_every_minutes)),
            max_value=0,
            meaning=(
                f"Events have not moved for over {settings.stuck_after_minutes} minutes in "
                "sweep after sweep: re-enqueued once already, or they cannot be."
            ),
            first_action=(
                "run the 'stuck events' query, then `ops events show <id>` for each and check "
                "the stage it stopped at."
            ),
            runbook_section="Stuck events",
        )
