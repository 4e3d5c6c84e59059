"""The stuck-event sweeper: a scheduled function that re-enqueues events that stopped moving in
any pipeline (once each), with an alarm on how many it finds."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from infra.constructs import grants
from infra.constructs.data_stores import STATUS_INDEX
from infra.constructs.metric_watch import MetricWatch
from infra.constructs.platform import Platform
from infra.constructs.queue_with_dlq import QueueWithDlq


class StuckEventSweeper(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        queues: list[QueueWithDlq],
    ) -> None:
        super().__init__(scope, construct_id)
        env, stores = platform.env, platform.stores
        settings = env.stuck_events
        self.function = platform.function(
            self,
            "Sweeper",
            handler="stuck_sweeper.handler.handler",
            description="Re-enqueues events that stopped moving, once each; counts them",
            settings=env.functions.stuck_sweeper,
            environment={
                "QUEUES": Stack.of(self).to_json_string(
                    {pair.stage: pair.reference for pair in queues}
                ),
                "STUCK_AFTER_MINUTES": str(settings.stuck_after_minutes),
            },
        )
        role = self.function.role
        grants.table_actions(stores.events_table, role, "UpdateItem")
        grants.query_indexes(stores.events_table, role, STATUS_INDEX)
        for pair in queues:
            grants.send_to(pair.queue, role)

        every = Duration.minutes(settings.sweep_every_minutes)
        self.schedule = events.Rule(
            self,
            "Schedule",
            description=f"Sweeps for stuck events every {settings.sweep_every_minutes} min",
            schedule=events.Schedule.rate(every),
            targets=[
                # A missed sweep is made up by the next one: no retries piling up behind it.
                targets.LambdaFunction(
                    self.function.function, retry_attempts=0, max_event_age=every
                )
            ],
        )
        MetricWatch(
            self,
            "StuckEventsWatch",
            function=self.function,
            metric_name="StuckEvents",
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
