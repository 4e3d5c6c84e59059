"""Dashboard, alarms, alarm topic and saved log queries for one environment.

Built with cdk-monitoring-constructs (one `MonitoringFacade`, shared `AlarmFactoryDefaults`, an
SNS action strategy). The stack hands it what to watch: every part's functions, queue pairs and
business-metric watches, and the tables; nothing is found by searching the construct tree.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from cdk_monitoring_constructs import (
    AlarmFactoryDefaults,
    CustomMetricGroup,
    DefaultDashboardFactory,
    MonitoringFacade,
    SnsAlarmActionStrategy,
)
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.circuit_breaker import CircuitBreakers
from infra.constructs.monitored import Monitored, functions_of, queues_of, watches_of
from infra.constructs.monitoring.breakers import monitor_breakers
from infra.constructs.monitoring.business import business_metric_groups, watched_metric_groups
from infra.constructs.monitoring.log_insights import latest_errors, saved_queries
from infra.constructs.monitoring.resource_alarms import ResourceAlarms
from infra.constructs.monitoring.runbook import Runbook
from infra.constructs.queue_with_dlq import QueueWithDlq
from infra.constructs.rest_api import RestApi

FIVE_MINUTES = Duration.minutes(5)


class PipelineMonitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: EnvironmentSettings,
        api: RestApi,
        parts: Sequence[Monitored],
        tables: Sequence[dynamodb.Table],
        breakers: CircuitBreakers | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._env = env
        self.functions = functions_of(parts)
        self.queues = queues_of(parts)
        self.watches = watches_of(parts)
        self.topic = self._alarm_topic()
        self.facade = self._facade()
        runbook = Runbook(str(env.runbook_url))
        alarms = ResourceAlarms(self.facade, env.alarms, runbook)
        alarms.api(api, env.name)
        for function in self.functions:
            alarms.function(function)
        for queue in self.queues:
            alarms.queue(queue)
        self._messages_in_flight(self.queues)
        for table in tables:
            self.facade.monitor_dynamo_table(
                table=table, human_readable_name=table.node.id, alarm_friendly_name=table.node.id
            )
        self._business_metrics(runbook)
        if breakers is not None:
            monitor_breakers(self.facade, env.metrics_namespace, runbook, breakers)
        log_groups = [function.log_group for function in self.functions]
        self.facade.add_widget(latest_errors(log_groups))
        self.queries = saved_queries(self, Stack.of(self).stack_name, log_groups)

    def _alarm_topic(self) -> sns.Topic:
        # CloudWatch cannot publish to a topic encrypted with the AWS-managed aws/sns key.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"Encrypts the {self._env.name} alarm topic",
            enable_key_rotation=True,
        )
        key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"Webhook Pipeline {self._env.name} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        if self._env.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(self._env.alarm_email))
        return topic

    def _facade(self) -> MonitoringFacade:
        stack_name = Stack.of(self).stack_name
        return MonitoringFacade(
            self,
            "Facade",
            alarm_factory_defaults=AlarmFactoryDefaults(
                alarm_name_prefix=stack_name,
                actions_enabled=self._env.alarms.actions_enabled,
                action=SnsAlarmActionStrategy(on_alarm_topic=self.topic, on_ok_topic=self.topic),
                datapoints_to_alarm=2,
                evaluation_periods=3,
            ),
            dashboard_factory=DefaultDashboardFactory(
                self,
                "Dashboards",
                dashboard_name_prefix=stack_name,
                create_dashboard=True,
                create_summary_dashboard=False,
                create_alarm_dashboard=False,
            ),
        )

    def _messages_in_flight(self, queues: Sequence[QueueWithDlq]) -> None:
        """Received but not yet deleted, per queue and DLQ (the queue widgets show visible)."""
        metrics = [
            queue.metric_approximate_number_of_messages_not_visible(
                label=f"{pair.name} {part}", period=FIVE_MINUTES, statistic="Maximum"
            )
            for pair in queues
            for part, queue in (("queue", pair.queue), ("DLQ", pair.dlq))
        ]
        self.facade.monitor_custom(
            human_readable_name="Messages in flight",
            alarm_friendly_name="InFlight",
            metric_groups=[CustomMetricGroup(title="In flight (not visible)", metrics=metrics)],
        )

    def _business_metrics(self, runbook: Runbook) -> None:
        namespace = self._env.metrics_namespace
        self.facade.monitor_custom(
            human_readable_name="Business metrics",
            alarm_friendly_name="Business",
            metric_groups=business_metric_groups(namespace),
        )
        if self.watches:
            self.facade.monitor_custom(
                human_readable_name="Watched business metrics",
                alarm_friendly_name="Watched",
                metric_groups=watched_metric_groups(namespace, runbook, self.watches),
            )
