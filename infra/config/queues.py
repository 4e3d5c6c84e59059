"""Queue consumers (`queues` in an env): the event source mappings, the retry schedules, and
the SQS limits and queue settings derived from them (the queue construct uses these)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import Field

from infra.config.base import StrictModel

SQS_MAX_VISIBILITY_SECONDS = 43_200
SQS_MAX_MESSAGE_BYTES = 1024 * 1024
SOURCE_QUEUE_RETENTION_SECONDS = 4 * 86_400
DLQ_RETENTION_SECONDS = 14 * 86_400
# AWS guidance for Lambda event sources: a visibility timeout of at least 6x the function timeout.
VISIBILITY_TIMEOUT_FACTOR = 6
# SQS leaves a message out of ApproximateAgeOfOldestMessage once it was received this often.
AGE_METRIC_RECEIVES = 3
# A message must reach its DLQ a day before the source queue would drop it (a backlog can delay
# its first receive); it keeps its enqueue time there, so 11 of the DLQ's 14 days are left.
MAX_RETRY_SPAN_SECONDS = SOURCE_QUEUE_RETENTION_SECONDS - 86_400
_VISIBILITY_MARGIN_SECONDS = 60


class QueueConsumerSettings(StrictModel):
    """A stage's queue consumer: the event source mapping and the retry schedule of its
    messages (the wait after each failed attempt; one receive more than waits)."""

    batch_size: int = Field(ge=1, le=10)
    batching_window_seconds: int = Field(ge=0, le=300)
    max_concurrency: int | None = Field(default=None, ge=2, le=1000)
    retry_delays_seconds: tuple[Annotated[int, Field(ge=1, le=SQS_MAX_VISIBILITY_SECONDS)], ...] = (
        Field(max_length=50)
    )
    retry_jitter_ratio: float = Field(default=0.2, ge=0, le=1)

    @property
    def max_receive_count(self) -> int:
        return len(self.retry_delays_seconds) + 1

    def visibility_timeout_seconds(self, consumer_timeout: int) -> int:
        """What a crashed or timed-out attempt waits before its message is received again."""
        return VISIBILITY_TIMEOUT_FACTOR * consumer_timeout + self.batching_window_seconds

    def max_delay_seconds(self, consumer_timeout: int) -> int:
        """SQS refuses a visibility that reaches past 12 h after the receive; the attempt has
        used up to the batching window and the function timeout of that by the time it fails."""
        return (
            SQS_MAX_VISIBILITY_SECONDS
            - consumer_timeout
            - self.batching_window_seconds
            - _VISIBILITY_MARGIN_SECONDS
        )

    def longest_wait_seconds(self, delay: int, consumer_timeout: int) -> int:
        jittered = math.ceil(delay * (1 + self.retry_jitter_ratio))
        return min(jittered, self.max_delay_seconds(consumer_timeout))

    def retry_schedule(self, consumer_timeout: int) -> dict[str, Any]:
        """The schedule as the worker reads it (`RETRY_SCHEDULE`, `shared.retries`)."""
        return {
            "delays_seconds": list(self.retry_delays_seconds),
            "jitter_ratio": self.retry_jitter_ratio,
            "max_delay_seconds": self.max_delay_seconds(consumer_timeout),
        }

    def retry_span_seconds(self, consumer_timeout: int) -> int:
        """The longest a message can take from its first receive to the DLQ: each attempt
        runs the whole timeout and then waits its longest, or crashes and waits out the
        visibility timeout, whichever is longer; the last one crashes too."""
        visibility = self.visibility_timeout_seconds(consumer_timeout)
        attempt = self.batching_window_seconds + consumer_timeout
        waits = (
            max(attempt + self.longest_wait_seconds(delay, consumer_timeout), visibility)
            for delay in self.retry_delays_seconds
        )
        return sum(waits) + visibility

    def age_while_retrying_seconds(self, consumer_timeout: int) -> int:
        """How old a message that keeps failing gets while SQS still counts it in the queue's
        ApproximateAgeOfOldestMessage (it stops after the third receive)."""
        attempt = self.batching_window_seconds + consumer_timeout
        counted = self.retry_delays_seconds[: AGE_METRIC_RECEIVES - 1]
        return sum(attempt + self.longest_wait_seconds(d, consumer_timeout) for d in counted)


class Queues(StrictModel):
    download: QueueConsumerSettings
    processing: QueueConsumerSettings
    erp_high: QueueConsumerSettings
    erp_standard: QueueConsumerSettings
    erp_low: QueueConsumerSettings
    enrichment: QueueConsumerSettings

    @property
    def erp_lanes(self) -> dict[str, QueueConsumerSettings]:
        """The ERP priority lanes, most urgent first."""
        return {"high": self.erp_high, "standard": self.erp_standard, "low": self.erp_low}
