"""A queue and its dead-letter queue: SSE, TLS-only, redrive after the retry schedule's receives.

The visibility timeout, the receive count and the retention come from the consumer's settings,
so the queue always agrees with the retry schedule its worker follows.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import (
    DLQ_RETENTION_SECONDS,
    SOURCE_QUEUE_RETENTION_SECONDS,
    SQS_MAX_MESSAGE_BYTES,
    QueueConsumerSettings,
)
from infra.constructs.naming import qualified_name


class QueueWithDlq(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        consumer: QueueConsumerSettings,
        consumer_timeout: Duration,
        max_depth: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # What operators type: `ops dlq redrive <stage>`, `/dlq/{stage}/redrive`.
        self.stage = stage
        self.max_depth = max_depth  # the depth alarm's threshold, when not the env default
        self.name = qualified_name(self)
        timeout = int(consumer_timeout.to_seconds())
        self.max_receive_count = consumer.max_receive_count
        # The age alarm must not fire on a message that is only waiting for its retries.
        self.age_while_retrying_seconds = consumer.age_while_retrying_seconds(timeout)
        self.dlq = sqs.Queue(
            self,
            "Dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.seconds(DLQ_RETENTION_SECONDS),
            # As large as its source's: a dead letter is the message as it was sent, and the
            # operators' own sends to a DLQ (tests, replays of a dead letter) must fit too.
            max_message_size_bytes=SQS_MAX_MESSAGE_BYTES,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.seconds(SOURCE_QUEUE_RETENTION_SECONDS),
            visibility_timeout=Duration.seconds(consumer.visibility_timeout_seconds(timeout)),
            # SQS's largest message; larger payloads travel as claim checks (shared.claim_check).
            max_message_size_bytes=SQS_MAX_MESSAGE_BYTES,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=consumer.max_receive_count, queue=self.dlq
            ),
        )

    @property
    def reference(self) -> dict[str, str]:
        """The pair as functions read it from their environment (`shared.queues.QueueRef`)."""
        return {
            "url": self.queue.queue_url,
            "arn": self.queue.queue_arn,
            "dlq_url": self.dlq.queue_url,
            "dlq_arn": self.dlq.queue_arn,
        }
