"""The standard alarms of each kind of resource: the API, a function, a queue and its DLQ.
Thresholds come from the env's `alarms`; each description says what the alarm means and what
to do first, and links its runbook section."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from cdk_monitoring_constructs import (
    ErrorCountThreshold,
    ErrorRateThreshold,
    LatencyThreshold,
    LatencyType,
    MaxMessageAgeThreshold,
    MaxMessageCountThreshold,
    MonitoringFacade,
)

from infra.config import AlarmSettings
from infra.constructs.monitoring.runbook import Runbook
from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.queue_with_dlq import QueueWithDlq
from infra.constructs.rest_api import RestApi


@dataclass(frozen=True)
class ResourceAlarms:
    facade: MonitoringFacade
    alarms: AlarmSettings
    runbook: Runbook

    def api(self, api: RestApi, stage: str) -> None:
        alarms = self.alarms
        self.facade.monitor_api_gateway(
            api=api.api,
            api_stage=stage,
            human_readable_name="API",
            alarm_friendly_name="Api",
            latency_types_to_render=[LatencyType.P50, LatencyType.P95, LatencyType.P99],
            add5_xx_fault_rate_alarm={
                "Critical": ErrorRateThreshold(
                    max_error_rate=alarms.api_5xx_rate_percent / 100,
                    **self.runbook.describe(
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
                    **self.runbook.describe(
                        f"API p99 latency is above {alarms.api_p99_latency_ms} ms: senders may time"
                        " out and retry.",
                        "check Ingest duration and DynamoDB/SQS latency on the dashboard.",
                        "API p99 latency",
                    ),
                )
            },
        )

    def function(self, function: PipelineFunction) -> None:
        alarms, name = self.alarms, function.name
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
                    **self.runbook.describe(
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
                    **self.runbook.describe(
                        f"{name} is throttled: invocations are refused for lack of concurrency.",
                        "compare concurrent executions with its reserved concurrency.",
                        "Function throttles",
                    ),
                )
            },
            add_latency_p99_alarm={
                "Warning": LatencyThreshold(
                    max_latency=limit,
                    **self.runbook.describe(
                        f"{name}'s p99 duration is above {alarms.function_duration_ratio:.0%}"
                        " of its timeout: timeouts (and whole-batch retries) are close.",
                        "run the 'duration per function' query; check the peers' latency.",
                        "Function duration near timeout",
                    ),
                )
            },
        )

    def queue(self, pair: QueueWithDlq) -> None:
        alarms, name = self.alarms, pair.name
        # A message waiting for its first retries by the schedule is not a stuck stage.
        max_age = max(alarms.queue_oldest_message_seconds, pair.age_while_retrying_seconds + 60)
        max_depth = pair.max_depth or alarms.queue_max_depth
        self.facade.monitor_sqs_queue_with_dlq(
            queue=pair.queue,
            dead_letter_queue=pair.dlq,
            human_readable_name=name,
            alarm_friendly_name=name,
            add_dead_letter_queue_max_size_alarm={
                "Critical": MaxMessageCountThreshold(
                    max_message_count=0,
                    **self.runbook.describe(
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
                    **self.runbook.describe(
                        f"{name}'s oldest message is older than {max_age}s: the stage is stuck"
                        " or too slow.",
                        "check the stage's errors and throttles; check the peer it calls.",
                        "Queue oldest message age",
                    ),
                )
            },
            add_queue_max_size_alarm={
                "Warning": MaxMessageCountThreshold(
                    max_message_count=max_depth,
                    **self.runbook.describe(
                        f"{name} holds more than {max_depth} messages.",
                        "check whether the consumer is failing or throttled before scaling it.",
                        "Queue depth",
                    ),
                )
            },
        )
