"""A Lambda function with the platform's defaults set once.

Python 3.14 on arm64, active X-Ray tracing, JSON logs at the env's level into an explicit log
group with the env's retention, its own role with no managed policies (grants are added by the
construct that builds it, resource by resource), and the shared dependencies layer.
"""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from infra.config import EnvironmentSettings, FunctionSettings, QueueConsumerSettings
from infra.constructs import grants
from infra.constructs.lambda_runtime import ARCHITECTURE, RUNTIME, LambdaRuntime
from infra.constructs.log_groups import log_group
from infra.constructs.nag import acknowledge
from infra.constructs.naming import qualified_name
from infra.constructs.queue_with_dlq import QueueWithDlq

_LOG_LEVELS = {
    "DEBUG": lambda_.ApplicationLogLevel.DEBUG,
    "INFO": lambda_.ApplicationLogLevel.INFO,
    "WARN": lambda_.ApplicationLogLevel.WARN,
    "ERROR": lambda_.ApplicationLogLevel.ERROR,
}


class PipelineFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        function: FunctionSettings,
        env: EnvironmentSettings,
        runtime: LambdaRuntime,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.name = qualified_name(self)
        self.log_group = log_group(self, "Logs", env)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{self.name} ({env.name}): least privilege, granted per resource",
        )
        self.timeout = Duration.seconds(function.timeout_seconds)
        self.function = self._build_function(
            handler, description, function, env, runtime, environment
        )
        self.log_group.grant_write(self.role)
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Active tracing needs xray:PutTraceSegments/PutTelemetryRecords, which take no "
            "resource ARN; every other grant on this role names its resource",
        )
        self._retry_schedule: str | None = None
        # Each queue it polls and its mapping (the circuit breaker pauses and resumes them).
        self.event_sources: list[tuple[QueueWithDlq, sources.SqsEventSource]] = []

    def _build_function(
        self,
        handler: str,
        description: str,
        function: FunctionSettings,
        env: EnvironmentSettings,
        runtime: LambdaRuntime,
        environment: dict[str, str],
    ) -> lambda_.Function:
        return lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=runtime.code,
            layers=[runtime.dependencies],
            memory_size=function.memory_mb,
            timeout=self.timeout,
            reserved_concurrent_executions=function.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=_LOG_LEVELS[env.log_level],
            system_log_level_v2=lambda_.SystemLogLevel.INFO,
            log_group=self.log_group,
            role=self.role,
            environment={
                "POWERTOOLS_SERVICE_NAME": self.name,
                "POWERTOOLS_METRICS_NAMESPACE": env.metrics_namespace,
                **environment,
            },
        )

    def consume(self, source: QueueWithDlq, consumer: QueueConsumerSettings) -> None:
        """Poll `source` with partial batch responses; let the function dead-letter by hand and
        retry on the queue's schedule (one schedule per function: the config checks it)."""
        schedule = json.dumps(consumer.retry_schedule(int(self.timeout.to_seconds())))
        if self._retry_schedule not in (None, schedule):
            raise ValueError(f"{self.name} consumes queues with different retry schedules")
        self._retry_schedule = schedule
        self.function.add_environment("RETRY_SCHEDULE", schedule)
        event_source = sources.SqsEventSource(
            source.queue,
            batch_size=consumer.batch_size,
            max_batching_window=Duration.seconds(consumer.batching_window_seconds),
            max_concurrency=consumer.max_concurrency,
            report_batch_item_failures=True,
        )
        self.function.add_event_source(event_source)
        self.event_sources.append((source, event_source))
        grants.send_to(source.dlq, self.role)  # non-retryable failures are moved by hand
