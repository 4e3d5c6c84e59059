"""SQS batch plumbing shared by every worker: concurrent records, the attempt a receive is, and
the message attributes that carry an event's identity from stage to stage.

`ConcurrentBatchProcessor` is Powertools' `BatchProcessor` with the records of one batch run on a
bounded thread pool, so a batch takes about as long as its slowest record. What happens to a
record that fails is `shared.failure_policy`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.observability import logger, tracer

CORRELATION_ID_ATTRIBUTE = "correlation_id"
EVENT_ID_ATTRIBUTE = "event_id"


class ConcurrentBatchProcessor(BatchProcessor):
    """Processes the records of one SQS batch on at most `max_workers` threads."""

    def __init__(self, max_workers: int) -> None:
        # A batch whose every record failed is still a partial response (all listed), not an
        # invocation error: SQS retries the same records either way, and the failures are
        # already logged and counted one by one.
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self.max_workers = max_workers

    def process(self) -> list[tuple[Any, ...]]:
        if len(self.records) <= 1 or self.max_workers <= 1:
            return super().process()
        # The X-Ray recorder keeps its context per thread: hand the segment to the workers.
        recorder: Any = tracer.provider
        parent_trace = None if tracer.disabled else recorder.get_trace_entity()

        def run(record: dict[str, Any]) -> tuple[Any, ...]:
            logger.thread_safe_clear_keys()  # pool threads are reused across records
            if parent_trace is not None:
                recorder.set_trace_entity(parent_trace)
            return self._process_record(record)

        workers = min(self.max_workers, len(self.records))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="record") as pool:
            return list(pool.map(run, self.records))


def message_attribute(record: SQSRecord, name: str) -> str | None:
    attribute = (record.raw_event.get("messageAttributes") or {}).get(name) or {}
    value = attribute.get("stringValue")
    return str(value) if value else None


def trace_attributes(event_id: str, correlation_id: str) -> dict[str, Any]:
    """The SQS message attributes that carry one event's identity from stage to stage."""
    return {
        EVENT_ID_ATTRIBUTE: {"DataType": "String", "StringValue": event_id},
        CORRELATION_ID_ATTRIBUTE: {"DataType": "String", "StringValue": correlation_id},
    }


@dataclass(frozen=True)
class Attempt:
    """One receive of a message: which attempt it is, of how many the queue allows."""

    number: int
    of: int  # the queue's maxReceiveCount

    @property
    def final(self) -> bool:
        return self.number >= self.of


Work = Callable[[SQSRecord, Attempt], None]
