"""SQS batch plumbing shared by every worker: concurrent records and the failure policy.

- `ConcurrentBatchProcessor` is Powertools' `BatchProcessor` with the records of one batch run
  on a bounded thread pool, so a batch takes about as long as its slowest record.
- `StageFailurePolicy` runs one record: it loads the event and skips it when this stage is done
  with it (a redelivery); a retryable failure waits the stage's retry schedule (the message's
  visibility) and adds a RETRYING entry with the reason and the next attempt time; a
  non-retryable one is sent to the stage's DLQ at once and the event is DEAD_LETTERED with the
  reason. Before the final attempt the event is marked DEAD_LETTERED, so an attempt that never
  returns (timeout, out of memory, crash) still leaves the event saying its message is in the
  DLQ; the mark is removed when that attempt succeeds and given the reason when it fails.
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
from shared.errors import NonRetryableError
from shared.event_store import EventStatus, EventStore, FinalAttemptMark, iso_time, utc_now
from shared.metrics import count
from shared.observability import logger, tracer
from shared.retries import RetrySchedule

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
class Attempt:
    """One receive of a message: which attempt it is, of how many the queue allows."""

    number: int
    of: int  # the queue's maxReceiveCount

    @property
    def final(self) -> bool:
        return self.number >= self.of


Work = Callable[[SQSRecord, Attempt], None]


@dataclass(frozen=True)
class _Prepared:
    mark: FinalAttemptMark | None = None
    done: bool = False


@dataclass(frozen=True)
class StageFailurePolicy:
    pipeline: str
    stage: str
    dlq_url: str
    schedule: RetrySchedule
    events: EventStore
    dead_letter_metric: str
    # Whether the event this message carries already went past this stage (a redelivery).
    # None: the stage tracks no event in the events table.
    is_done: Callable[[dict[str, Any]], bool] | None = None
    retried_metric: str | None = None
    # For a worker that consumes several queues: source queue ARN → that queue's DLQ URL.
    dlq_by_source: dict[str, str] | None = None
    # For a stage that tracks its work elsewhere than the events table: told (record, reason)
    # when a record is dead-lettered, before the failure is reported.
    on_dead_letter: Callable[[SQSRecord, str], None] | None = None

    @property
    def max_receives(self) -> int:
        return self.schedule.max_receives

    def run(self, record: SQSRecord, work: Work, *, ends_by: datetime) -> None:
        """Run `work` for one record under this stage's retry / dead-letter rules; `ends_by`
        is when the invocation runs out of time."""
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
            self._run(record, work, event_id, attempt, ends_by)

    def _run(
        self, record: SQSRecord, work: Work, event_id: str | None, attempt: int, ends_by: datetime
    ) -> None:
        prepared = _Prepared()
        try:
            if event_id and self.is_done is not None:
                prepared = self._prepare(event_id, attempt, ends_by)
                if prepared.done:
                    return
            work(record, Attempt(attempt, self.max_receives))
        except NonRetryableError as exc:
            reason = _reason(exc)
            logger.error("non-retryable failure, dead-lettering now", extra={"reason": reason})
            self._send_to_dlq(record, reason)
            self._mark_dead_lettered(record, event_id, reason, attempt, prepared.mark)
        except Exception as exc:
            reason = _reason(exc)
            if self.schedule.is_final(attempt):
                logger.error(
                    "retries exhausted; SQS moves the message to the DLQ",
                    extra={"reason": reason, "attempt": attempt},
                )
                self._mark_dead_lettered(
                    record,
                    event_id,
                    f"retries exhausted after {attempt} attempts: {reason}",
                    attempt,
                    prepared.mark,
                )
                # Visible now, so the next receive moves it to the DLQ (not a timeout later).
                self._set_visibility(record, 0)
            else:
                self._schedule_retry(record, event_id, attempt, reason)
            raise
        else:
            if event_id and prepared.mark is not None:
                self._unmark(event_id, prepared.mark)

    def _unmark(self, event_id: str, mark: FinalAttemptMark) -> None:
        """The attempt succeeded and its status is written: failing to remove the mark must not
        send the message to the DLQ (a failure now would), only leave the entry behind."""
        try:
            self.events.final_attempt_succeeded(event_id, mark)
        except (BotoCoreError, ClientError):
            logger.exception("could not remove the final attempt's mark; the event moved on")

    def _prepare(self, event_id: str, attempt: int, ends_by: datetime) -> _Prepared:
        """Load the event; skip it if this stage is done with it; before a final attempt, mark
        it DEAD_LETTERED, so that an attempt that never returns (a timeout, running out of
        memory, a crash) leaves the event saying where its message went."""
        assert self.is_done is not None  # noqa: S101 - only called for stages with events
        for _ in range(3):  # the mark is conditional on what was read: reread if it moved
            event = self.events.get(event_id)
            if event is None:
                raise NonRetryableError(f"event {event_id} is not in the events table")
            if self.is_done(event):
                logger.info(
                    "already done at this stage; redelivery ignored",
                    extra={"status": event["status"]},
                )
                return _Prepared(done=True)
            if not self.schedule.is_final(attempt):
                return _Prepared()
            mark = self.events.begin_final_attempt(
                event, stage=self.stage, attempt=attempt, of=self.max_receives, ends_by=ends_by
            )
            if mark is not None:
                return _Prepared(mark=mark)
        logger.warning("the final attempt runs unmarked: the event kept changing")
        return _Prepared()

    def _schedule_retry(
        self, record: SQSRecord, event_id: str | None, attempt: int, reason: str
    ) -> None:
        """The message stays invisible for the schedule's next delay (Lambda leaves the
        visibility of a reported failure alone), and the event says when it will retry."""
        if self.retried_metric:
            count(self.retried_metric)
        delay = self.schedule.delay(attempt)
        next_at = iso_time(datetime.now(UTC) + timedelta(seconds=delay))
        logger.warning(
            "retryable failure; retrying after the scheduled delay",
            extra={"reason": reason, "attempt": attempt, "delay_seconds": delay},
        )
        self._set_visibility(record, delay)
        if event_id:
            self.events.transition(
                event_id,
                EventStatus.RETRYING,
                stage=self.stage,
                detail=(
                    f"attempt {attempt} of {self.max_receives} failed: {reason}; "
                    f"next attempt at {next_at}"
                ),
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
        self,
        record: SQSRecord,
        event_id: str | None,
        reason: str,
        attempt: int,
        mark: FinalAttemptMark | None,
    ) -> None:
        count(self.dead_letter_metric)
        if self.on_dead_letter is not None:
            try:
                self.on_dead_letter(record, reason)
            except Exception:  # noqa: BLE001 - the message still reaches the DLQ
                logger.exception("could not record the dead letter")
        if not event_id:
            return
        dead_letter = {"stage": self.stage, "reason": reason, "attempts": attempt, "at": utc_now()}
        # The final attempt's mark already says DEAD_LETTERED: it gets the real reason.
        if mark is not None and self.events.final_attempt_failed(event_id, mark, dead_letter):
            return
        moved = self.events.transition(
            event_id,
            EventStatus.DEAD_LETTERED,
            stage=self.stage,
            detail=reason,
            attributes={"dead_letter": dead_letter},
        )
        if not moved:
            logger.warning("event not marked DEAD_LETTERED: its status does not allow it")


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:_MAX_REASON_LENGTH]
