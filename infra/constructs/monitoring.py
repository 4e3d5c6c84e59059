"""Dashboard, alarms, alarm topic and saved log queries for one environment.

Built with cdk-monitoring-constructs (one `MonitoringFacade`, shared `AlarmFactoryDefaults`, an
SNS action strategy). It finds what to watch itself: every `PipelineFunction`, `QueueWithDlq` and
DynamoDB table in the stack, so something added later gets its widgets and alarms for free.
Each alarm's description says what it means, the first thing to do, and links its runbook section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypedDict

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from cdk_monitoring_constructs import (
    AlarmFactoryDefaults,
    CustomMetricGroup,
    CustomMetricWithAlarm,
    CustomThreshold,
    DefaultDashboardFactory,
    ErrorCountThreshold,
    ErrorRateThreshold,
    LatencyThreshold,
    LatencyType,
    MaxMessageAgeThreshold,
    MaxMessageCountThreshold,
    MonitoringFacade,
    SnsAlarmActionStrategy,
)
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.metric_watch import MetricWatch
from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.queue_with_dlq import QueueWithDlq
from infra.constructs.rest_api import RestApi

FIVE_MINUTES = Duration.minutes(5)


def _search(namespace: str, dimensions: str, metric: str) -> str:
    """Every series of `metric` over `dimensions` (EMF metrics carry the `service` dimension)."""
    return f"SEARCH('{{{namespace},{dimensions}}} MetricName=\"{metric}\"', 'Sum', 300)"


def runbook_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


class AlarmText(TypedDict):
    alarm_description_override: str
    runbook_link: str


@dataclass(frozen=True)
class Runbook:
    url: str

    def describe(self, meaning: str, first_action: str, section: str) -> AlarmText:
        link = f"{self.url}#{runbook_anchor(section)}"
        # The library appends "Runbook: <link>" to the description.
        return {
            "alarm_description_override": f"{meaning} First: {first_action}",
            "runbook_link": link,
        }


class PipelineMonitoring(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, env: EnvironmentSettings, api: RestApi
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._env = env
        self._runbook = Runbook(str(env.runbook_url))
        self.topic = self._alarm_topic()
        self.facade = MonitoringFacade(
            self,
            "Facade",
            alarm_factory_defaults=AlarmFactoryDefaults(
                alarm_name_prefix=stack.stack_name,
                actions_enabled=env.alarms.actions_enabled,
                action=SnsAlarmActionStrategy(on_alarm_topic=self.topic, on_ok_topic=self.topic),
                datapoints_to_alarm=2,
                evaluation_periods=3,
            ),
            dashboard_factory=DefaultDashboardFactory(
                self,
                "Dashboards",
                dashboard_name_prefix=stack.stack_name,
                create_dashboard=True,
                create_summary_dashboard=False,
                create_alarm_dashboard=False,
            ),
        )
        self.functions = [c for c in stack.node.find_all() if isinstance(c, PipelineFunction)]
        self.queues = [c for c in stack.node.find_all() if isinstance(c, QueueWithDlq)]
        self.tables = [c for c in stack.node.find_all() if isinstance(c, dynamodb.Table)]
        self.watches = [c for c in stack.node.find_all() if isinstance(c, MetricWatch)]
        self._watch_api(api)
        for function in self.functions:
            self._watch_function(function)
        for queue in self.queues:
            self._watch_queue(queue)
        self._messages_in_flight()
        for table in self.tables:
            self.facade.monitor_dynamo_table(
                table=table, human_readable_name=table.node.id, alarm_friendly_name=table.node.id
            )
        self._business_metrics()
        self._watched_metrics()
        self._latest_errors()
        self.queries = self._saved_queries()

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

    def _watch_api(self, api: RestApi) -> None:
        alarms = self._env.alarms
        self.facade.monitor_api_gateway(
            api=api.api,
            api_stage=self._env.name,
            human_readable_name="API",
            alarm_friendly_name="Api",
            latency_types_to_render=[LatencyType.P50, LatencyType.P95, LatencyType.P99],
            add5_xx_fault_rate_alarm={
                "Critical": ErrorRateThreshold(
                    max_error_rate=alarms.api_5xx_rate_percent / 100,
                    **self._runbook.describe(
                        f"More than {alarms.api_5xx_rate_percent}% of API requests fail with 5xx:"
                        " senders are retrying and may give up.",
                        "open the Ingest function's errors on the dashboard and run the "
                        "'errors by 5 minutes' query.",
                        "API 5xx rate",
                    ),
                )
            },
            add_latency_p99_alarm={
                "Warning": LatencyThreshold(
                    max_latency=Duration.millis(alarms.api_p99_latency_ms),
                    **self._runbook.describe(
                        f"API p99 latency is above {alarms.api_p99_latency_ms} ms: senders may time"
                        " out and retry.",
                        "check Ingest duration and DynamoDB/SQS latency on the dashboard.",
                        "API p99 latency",
                    ),
                )
            },
        )

    def _watch_function(self, function: PipelineFunction) -> None:
        alarms = self._env.alarms
        name = function.name
        limit = Duration.millis(
            int(function.timeout.to_milliseconds() * alarms.function_duration_ratio)
        )
        self.facade.monitor_lambda_function(
            lambda_function=function.function,
            human_readable_name=name,
            alarm_friendly_name=name,
            add_fault_rate_alarm={
                "Critical": ErrorRateThreshold(
                    max_error_rate=alarms.function_error_rate_percent / 100,
                    **self._runbook.describe(
                        f"{name}: more than {alarms.function_error_rate_percent}% of invocations"
                        " fail.",
                        f"run the 'errors by 5 minutes' query and read {name}'s latest errors.",
                        "Function error rate",
                    ),
                )
            },
            add_throttles_count_alarm={
                "Critical": ErrorCountThreshold(
                    max_error_count=0,
                    **self._runbook.describe(
                        f"{name} is throttled: invocations are refused for lack of concurrency.",
                        "compare concurrent executions with its reserved concurrency.",
                        "Function throttles",
                    ),
                )
            },
            add_latency_p99_alarm={
                "Warning": LatencyThreshold(
                    max_latency=limit,
                    **self._runbook.describe(
                        f"{name}'s p99 duration is above {alarms.function_duration_ratio:.0%}"
                        " of its timeout: timeouts (and whole-batch retries) are close.",
                        "run the 'duration per function' query; check the peers' latency.",
                        "Function duration near timeout",
                    ),
                )
            },
        )

    def _watch_queue(self, pair: QueueWithDlq) -> None:
        alarms = self._env.alarms
        name = pair.name
        # A message waiting for its first retries by the schedule is not a stuck stage.
        max_age = max(alarms.queue_oldest_message_seconds, pair.age_while_retrying_seconds + 60)
        self.facade.monitor_sqs_queue_with_dlq(
            queue=pair.queue,
            dead_letter_queue=pair.dlq,
            human_readable_name=name,
            alarm_friendly_name=name,
            add_dead_letter_queue_max_size_alarm={
                "Critical": MaxMessageCountThreshold(
                    max_message_count=0,
                    **self._runbook.describe(
                        f"{name}'s dead-letter queue holds messages: events are DEAD_LETTERED"
                        " and will not complete on their own.",
                        "`ops events list --status DEAD_LETTERED`, read the reasons, fix the cause,"
                        f" then `ops dlq redrive {pair.stage}`.",
                        "DLQ not empty",
                    ),
                )
            },
            add_queue_max_message_age_alarm={
                "Warning": MaxMessageAgeThreshold(
                    max_age_in_seconds=max_age,
                    **self._runbook.describe(
                        f"{name}'s oldest message is older than {max_age}s: the stage is stuck"
                        " or too slow.",
                        "check the stage's errors and throttles; check the peer it calls.",
                        "Queue oldest message age",
                    ),
                )
            },
            add_queue_max_size_alarm={
                "Warning": MaxMessageCountThreshold(
                    max_message_count=pair.max_depth or alarms.queue_max_depth,
                    **self._runbook.describe(
                        f"{name} holds more than {pair.max_depth or alarms.queue_max_depth}"
                        " messages.",
                        "check whether the consumer is failing or throttled before scaling it.",
                        "Queue depth",
                    ),
                )
            },
        )

    def _messages_in_flight(self) -> None:
        """Received but not yet deleted, per queue and DLQ (the queue widgets show visible)."""
        metrics = [
            queue.metric_approximate_number_of_messages_not_visible(
                label=f"{pair.name} {part}", period=FIVE_MINUTES, statistic="Maximum"
            )
            for pair in self.queues
            for part, queue in (("queue", pair.queue), ("DLQ", pair.dlq))
        ]
        self.facade.monitor_custom(
            human_readable_name="Messages in flight",
            alarm_friendly_name="InFlight",
            metric_groups=[CustomMetricGroup(title="In flight (not visible)", metrics=metrics)],
        )

    def _business_metrics(self) -> None:
        namespace = self._env.metrics_namespace

        def total(name: str, label: str, dimensions: str = "service") -> cloudwatch.MathExpression:
            return cloudwatch.MathExpression(
                expression=f"SUM({_search(namespace, dimensions, name)})",
                label=label,
                period=FIVE_MINUTES,
            )

        rejected_by_reason = cloudwatch.MathExpression(
            expression=_search(namespace, "reason,service", "WebhookRejected"),
            label="rejected",
            period=FIVE_MINUTES,
        )
        self.facade.monitor_custom(
            human_readable_name="Business metrics",
            alarm_friendly_name="Business",
            metric_groups=[
                CustomMetricGroup(
                    title="Webhooks",
                    metrics=[
                        total("WebhookAccepted", "accepted"),
                        total("WebhookDuplicate", "duplicates"),
                    ],
                ),
                CustomMetricGroup(title="Rejected by reason", metrics=[rejected_by_reason]),
                CustomMetricGroup(
                    title="Marketplace orders",
                    metrics=[
                        total("OrderDownloaded", "downloaded"),
                        total("OrderProcessed", "processed"),
                        total("OrderDeadLettered", "dead-lettered"),
                    ],
                ),
                CustomMetricGroup(
                    title="ERP entity sync",
                    metrics=[
                        total("ErpEventAccepted", "accepted", "entity,service"),
                        total("ErpEventDuplicate", "duplicates"),
                        total("ErpEventRejected", "rejected", "reason,service"),
                        total("ErpEventRetried", "retried"),
                        total("ErpStaleIgnored", "stale ignored"),
                        total("ErpEventDeadLettered", "dead-lettered"),
                    ],
                ),
                CustomMetricGroup(
                    title="ERP synced by entity",
                    metrics=[
                        cloudwatch.MathExpression(
                            expression=_search(namespace, "entity,service", "ErpEventSynced"),
                            label="synced",
                            period=FIVE_MINUTES,
                        )
                    ],
                ),
                CustomMetricGroup(
                    title="Catalog enrichment",
                    metrics=[
                        total("EnrichmentRequested", "requested"),
                        total("EnrichmentProductsSucceeded", "products enriched"),
                        total("EnrichmentProductsFailed", "products failed"),
                        total("EnrichmentBatchFinished", "batches finished"),
                        total("EnrichmentBatchFailed", "batches failed"),
                    ],
                ),
                CustomMetricGroup(
                    title="Stuck events",
                    metrics=[
                        total("StuckEvents", "stuck"),
                        total("StuckEventsRequeued", "re-enqueued"),
                    ],
                ),
            ],
        )

    def _watched_metrics(self) -> None:
        if not self.watches:
            return
        self.facade.monitor_custom(
            human_readable_name="Watched business metrics",
            alarm_friendly_name="Watched",
            metric_groups=[
                CustomMetricGroup(
                    title=watch.label,
                    metrics=[
                        CustomMetricWithAlarm(
                            alarm_friendly_name=watch.metric_name,
                            metric=self._watched(watch),
                            add_alarm={
                                "Critical": CustomThreshold(
                                    threshold=watch.max_value,
                                    comparison_operator=(
                                        cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
                                    ),
                                    # No data: the function did not report, not a breach.
                                    treat_missing_data_override=(
                                        cloudwatch.TreatMissingData.NOT_BREACHING
                                    ),
                                    **self._runbook.describe(
                                        watch.meaning, watch.first_action, watch.runbook_section
                                    ),
                                )
                            },
                        )
                    ],
                )
                for watch in self.watches
            ],
        )

    def _watched(self, watch: MetricWatch) -> cloudwatch.Metric | cloudwatch.MathExpression:
        def metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=self._env.metrics_namespace,
                metric_name=name,
                dimensions_map={"service": watch.function.name},
                statistic=statistic,
                period=watch.period,
                label=name,
            )

        if watch.per is None:
            return metric(watch.metric_name, watch.statistic)
        return cloudwatch.MathExpression(
            expression="IF(total > 0, 100 * part / total, 0)",
            using_metrics={
                "part": metric(watch.metric_name, "Sum"),
                "total": metric(watch.per, "Sum"),
            },
            period=watch.period,
            label=watch.label,
        )

    def _log_groups(self) -> list[logs.ILogGroup]:
        return [function.log_group for function in self.functions]

    def _latest_errors(self) -> None:
        self.facade.add_widget(
            cloudwatch.LogQueryWidget(
                title="Latest errors, all functions",
                log_group_names=[group.log_group_name for group in self._log_groups()],
                query_lines=[
                    "fields @timestamp, @log, message, error_code, reason, event_id,"
                    " correlation_id",
                    'filter level = "ERROR"',
                    "sort @timestamp desc",
                    "limit 50",
                ],
                width=24,
                height=8,
            )
        )

    def _saved_queries(self) -> list[logs.QueryDefinition]:
        prefix = Stack.of(self).stack_name
        definitions = {
            "follow-one-event": logs.QueryString(
                fields=["@timestamp", "@log", "level", "stage", "message", "event_id", "order_id",
                        "correlation_id", "reason"],
                filter_statements=[
                    'event_id = "EVENT_ID" or order_id = "ORDER_ID"'
                    ' or correlation_id = "CORRELATION_ID"'
                ],
                sort="@timestamp asc",
            ),
            "errors-by-5-minutes": logs.QueryString(
                filter_statements=['level = "ERROR"'],
                stats_statements=["count(*) as errors by bin(5m), @log"],
            ),
            "duration-per-function": logs.QueryString(
                filter_statements=['type = "platform.report"'],
                stats_statements=[
                    "avg(record.metrics.durationMs) as avg_ms, max(record.metrics.durationMs) as "
                    "max_ms, pct(record.metrics.durationMs, 95) as p95_ms by @log"
                ],
            ),
            "stuck-events": logs.QueryString(
                fields=["@timestamp", "message", "event_id", "pipeline", "status", "updated_at",
                        "stage", "reason"],
                filter_statements=['message like /stuck event/'],
                sort="@timestamp desc",
            ),
            "rejected-webhooks-by-reason": logs.QueryString(
                filter_statements=['message = "webhook rejected"'],
                stats_statements=["count(*) as rejected by reason, error_code"],
            ),
        }  # fmt: skip
        return [
            logs.QueryDefinition(
                self,
                f"Query-{name}",
                query_definition_name=f"{prefix}/{name}",
                query_string=query,
                log_groups=self._log_groups(),
            )
            for name, query in definitions.items()
        ]
