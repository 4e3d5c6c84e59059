"""A queue and its dead-letter queue: SSE, TLS-only, redrive after maxReceiveCount."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.naming import qualified_name

DLQ_RETENTION = Duration.days(14)
SOURCE_RETENTION = Duration.days(4)
VISIBILITY_TIMEOUT_FACTOR = (
    6  # AWS guidance for Lambda event sources: at least 6x the function timeout
)


class QueueWithDlq(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        consumer_timeout: Duration,
        max_receive_count: int,
        batching_window: Duration | None = None,
        max_depth: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # What operators type: `ops dlq redrive <stage>`, `/dlq/{stage}/redrive`.
        self.stage = stage
        self.max_depth = max_depth  # the depth alarm's threshold, when not the env default
        self.name = qualified_name(self)
        window_seconds = batching_window.to_seconds() if batching_window else 0
        self.dlq = sqs.Queue(
            self,
            "Dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=SOURCE_RETENTION,
            visibility_timeout=Duration.seconds(
                VISIBILITY_TIMEOUT_FACTOR * consumer_timeout.to_seconds() + window_seconds
            ),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=max_receive_count, queue=self.dlq
            ),
        )
        self.max_receive_count = max_receive_count

    @property
    def reference(self) -> dict[str, str]:
        """The pair as functions read it from their environment (`shared.queues.QueueRef`)."""
        return {
            "url": self.queue.queue_url,
            "arn": self.queue.queue_arn,
            "dlq_url": self.dlq.queue_url,
            "dlq_arn": self.dlq.queue_arn,
        }
