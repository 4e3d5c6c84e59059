"""SQS batch plumbing shared by every worker: concurrent records and the failure policy.

- `ConcurrentBatchProcessor` is Powertools' `BatchProcessor` with the records of one batch run
  on a bounded thread pool, so a batch takes about as long as its slowest record.
- `StageFailurePolicy` decides what a failure means: retryable ones go back to SQS (and the event
  is marked DEAD_LETTERED on the last allowed receive, before SQS moves the message); non-retryable
  ones are sent to the stage's DLQ at once and the event is marked DEAD_LETTERED with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import BotoCoreError, ClientError

from shared import aws_clients
from shared.backoff import Backoff
from shared.errors import NonRetryableError
from shared.event_store import EventStatus, EventStore, iso_time, utc_now
from shared.metrics import count
from shared.observability import logger, tracer

CORRELATION_ID_ATTRIBUTE = "correlation_id"
EVENT_ID_ATTRIBUTE = "event_id"
_MAX_REASON_LENGTH = 1000


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
class StageFailurePolicy:
    pipeline: str
    stage: str
    dlq_url: str
    max_receive_count: int
    events: EventStore
    dead_letter_metric: str
    backoff: Backoff | None = None
    retried_metric: str | None = None
    # For a worker that consumes several queues: source queue ARN → that queue's DLQ URL.
    dlq_by_source: dict[str, str] | None = None
    # For a stage that tracks its work elsewhere than the events table: told (record, reason)
    # when a record is dead-lettered, before the failure is reported.
    on_dead_letter: Callable[[SQSRecord, str], None] | None = None

    def run(self, record: SQSRecord, work: Callable[[SQSRecord], None]) -> None:
        """Run `work` for one record under this stage's retry / dead-letter rules."""
        event_id = message_attribute(record, EVENT_ID_ATTRIBUTE)
        correlation_id = message_attribute(record, CORRELATION_ID_ATTRIBUTE) or record.message_id
        logger.thread_safe_append_keys(
            correlation_id=correlation_id, event_id=event_id, stage=self.stage
        )
        attempt = int(record.attributes.approximate_receive_count or 1)
        # One subsegment per record, annotated so traces can be searched by event and pipeline.
        with tracer.provider.in_subsegment(f"## {self.stage} record") as subsegment:
            subsegment.put_annotation("pipeline", self.pipeline)
            subsegment.put_annotation("stage", self.stage)
            if event_id:
                subsegment.put_annotation("event_id", event_id)
            self._run(record, work, event_id, attempt)

    def _run(
        self,
        record: SQSRecord,
        work: Callable[[SQSRecord], None],
        event_id: str | None,
        attempt: int,
    ) -> None:
        try:
            work(record)
        except NonRetryableError as exc:
            reason = _reason(exc)
            logger.error("non-retryable failure, dead-lettering now", extra={"reason": reason})
            self._send_to_dlq(record, reason)
            self._mark_dead_lettered(record, event_id, reason, attempt)
        except Exception as exc:
            reason = _reason(exc)
            if attempt >= self.max_receive_count:
                logger.error(
                    "retries exhausted; SQS moves the message to the DLQ",
                    extra={"reason": reason, "attempt": attempt},
                )
                self._mark_dead_lettered(
                    record,
                    event_id,
                    f"retries exhausted after {attempt} attempts: {reason}",
                    attempt,
                )
                # Visible now, so the next receive moves it to the DLQ (not a timeout later).
                self._set_visibility(record, 0)
            else:
                self._schedule_retry(record, event_id, attempt, reason)
            raise

    def _schedule_retry(
        self, record: SQSRecord, event_id: str | None, attempt: int, reason: str
    ) -> None:
        """Exponential backoff: the message stays invisible for the next delay (Lambda leaves
        the visibility of a reported failure alone), and the event says when it will retry."""
        if self.retried_metric:
            count(self.retried_metric)
        if self.backoff is None:
            logger.warning("retryable failure; SQS will redeliver", extra={"reason": reason})
            return
        delay = self.backoff.delay(attempt)
        next_at = iso_time(datetime.now(UTC) + timedelta(seconds=delay))
        logger.warning(
            "retryable failure; retrying after backoff",
            extra={"reason": reason, "attempt": attempt, "delay_seconds": delay},
        )
        self._set_visibility(record, delay)
        if event_id:
            self.events.transition(
                event_id,
                EventStatus.RETRYING,
                detail=f"attempt {attempt} failed: {reason}; next retry at {next_at}",
                attributes={"next_retry_at": next_at, "attempts": attempt, "last_error": reason},
            )

    def _set_visibility(self, record: SQSRecord, seconds: int) -> None:
        try:
            aws_clients.sqs().change_message_visibility(
                QueueUrl=record.queue_url,
                ReceiptHandle=record.receipt_handle,
                VisibilityTimeout=seconds,
            )
        except (BotoCoreError, ClientError):  # the original failure matters more
            logger.exception("could not change the message's visibility")

    def _send_to_dlq(self, record: SQSRecord, reason: str) -> None:
        attributes: dict[str, Any] = {
            name: {"DataType": "String", "StringValue": value["stringValue"]}
            for name, value in (record.raw_event.get("messageAttributes") or {}).items()
            if value.get("stringValue")
        }
        attributes["failed_stage"] = {"DataType": "String", "StringValue": self.stage}
        attributes["failure_reason"] = {"DataType": "String", "StringValue": reason[:256]}
        dlq_url = (self.dlq_by_source or {}).get(record.event_source_arn, self.dlq_url)
        aws_clients.sqs().send_message(
            QueueUrl=dlq_url, MessageBody=record.body, MessageAttributes=attributes
        )

    def _mark_dead_lettered(
        self, record: SQSRecord, event_id: str | None, reason: str, attempt: int
    ) -> None:
        count(self.dead_letter_metric)
        if self.on_dead_letter is not None:
            try:
                self.on_dead_letter(record, reason)
            except Exception:  # noqa: BLE001 - the message still reaches the DLQ
                logger.exception("could not record the dead letter")
        if not event_id:
            return
        moved = self.events.transition(
            event_id,
            EventStatus.DEAD_LETTERED,
            detail=reason,
            attributes={
                "dead_letter": {
                    "stage": self.stage,
                    "reason": reason,
                    "attempts": attempt,
                    "at": utc_now(),
                }
            },
        )
        if not moved:
            logger.warning("event not marked DEAD_LETTERED: its status does not allow it")


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:_MAX_REASON_LENGTH]
