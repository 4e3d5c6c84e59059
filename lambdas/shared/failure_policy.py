"""What happens to one record of a worker's batch: the stage's failure policy.

`StageFailurePolicy` runs one record, skipping it when its tracked event is done at this stage
(a redelivery). A retryable failure waits the stage's retry schedule (the message's visibility)
with a RETRYING entry; a non-retryable one goes to the stage's DLQ at once, the event
DEAD_LETTERED with the reason. A peer failure is counted by the stage's circuit breaker, if it
has one; once open, the record is parked instead (`shared.breaker.circuit`). Before the final
attempt the event is marked DEAD_LETTERED, so an attempt that never returns (timeout, out of
memory, crash) still says where its message went; the mark is removed when it succeeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import BotoCoreError, ClientError

from shared import aws_clients
from shared.batch import Attempt, Work, message_attribute
from shared.breaker.circuit import CircuitBreaker, forwarded_attributes, stage_breakers
from shared.dynamo import iso_time, utc_now
from shared.errors import NonRetryableError, RetryableError
from shared.event_status import EventStatus
from shared.event_store import EventStore, FinalAttemptMark
from shared.message_attributes import CORRELATION_ID_ATTRIBUTE, EVENT_ID_ATTRIBUTE
from shared.metric_names import Metric
from shared.metrics import count
from shared.observability import logger, tracer
from shared.retries import RetrySchedule
from shared.sources import Pipeline

_MAX_REASON_LENGTH = 1000


@dataclass(frozen=True)
class Stage:
    """A worker stage, as its failure policy knows it: its pipeline and name, the metrics its
    failures are counted under, and, for a stage whose event is in the events table, when it is
    done with that event (a redelivery is then skipped): once the event is PROCESSED, or once
    it carries `done_marker`, what this stage records when it finishes (the download stage's
    `s3_key`), whatever a later stage did since."""

    pipeline: Pipeline
    name: str
    dead_letter_metric: Metric
    retried_metric: Metric | None = None
    done_marker: str | None = None

    def is_done(self, event: dict[str, Any]) -> bool:
        if event["status"] == EventStatus.PROCESSED.value:
            return True
        return self.done_marker is not None and self.done_marker in event


@dataclass(frozen=True)
class _Tracked:
    """The event a record carries, in the events table of a stage that tracks it there."""

    event_id: str
    store: EventStore


@dataclass(frozen=True)
class _Prepared:
    mark: FinalAttemptMark | None = None
    done: bool = False


@dataclass(frozen=True)
class StageFailurePolicy:
    stage: Stage
    schedule: RetrySchedule
    dlq_url: str
    # The events table, for a stage that moves its event on there (not the catalog's batches).
    events: EventStore | None = None
    # For a worker that consumes several queues: source queue ARN → that queue's DLQ URL.
    dlq_by_source: dict[str, str] | None = None
    # A stage tracking its work elsewhere: told (record, reason) when a record is dead-lettered.
    on_dead_letter: Callable[[SQSRecord, str], None] | None = None
    # Stage name → its breaker on its peer (`CIRCUIT_BREAKER` in the worker's environment).
    breakers: dict[str, CircuitBreaker] = field(default_factory=stage_breakers)

    @property
    def max_receives(self) -> int:
        return self.schedule.max_receives

    def run(self, record: SQSRecord, work: Work, *, ends_by: datetime) -> None:
        """Run `work` for one record under this stage's retry / dead-letter rules; `ends_by`
        is when the invocation runs out of time."""
        event_id = message_attribute(record, EVENT_ID_ATTRIBUTE)
        correlation_id = message_attribute(record, CORRELATION_ID_ATTRIBUTE) or record.message_id
        logger.thread_safe_append_keys(
            correlation_id=correlation_id, event_id=event_id, stage=self.stage.name
        )
        attempt = int(record.attributes.approximate_receive_count or 1)
        # One subsegment per record, annotated so traces can be searched by event and pipeline.
        with tracer.provider.in_subsegment(f"## {self.stage.name} record") as subsegment:
            subsegment.put_annotation("pipeline", self.stage.pipeline.value)
            subsegment.put_annotation("stage", self.stage.name)
            if event_id:
                subsegment.put_annotation("event_id", event_id)
            tracked = (
                _Tracked(event_id, self.events) if event_id and self.events is not None else None
            )
            self._run(record, work, tracked, attempt, ends_by)

    def _run(
        self,
        record: SQSRecord,
        work: Work,
        tracked: _Tracked | None,
        attempt: int,
        ends_by: datetime,
    ) -> None:
        """`tracked` is None for a stage that tracks no event (or a message that names none)."""
        prepared = _Prepared()
        try:
            if tracked:
                prepared = self._prepare(tracked, attempt, ends_by)
                if prepared.done:
                    return
            work(record, Attempt(attempt, self.max_receives))
        except NonRetryableError as exc:
            reason = _reason(exc)
            logger.error("non-retryable failure, dead-lettering now", extra={"reason": reason})
            self._send_to_dlq(record, reason)
            self._mark_dead_lettered(record, tracked, reason, attempt, prepared.mark)
        except Exception as exc:
            if isinstance(exc, RetryableError) and self._parked(record, tracked, exc, prepared):
                return
            self._failed(record, tracked, attempt, _reason(exc), prepared.mark)
            raise
        else:
            if tracked and prepared.mark is not None:
                self._unmark(tracked, prepared.mark)

    def _failed(
        self,
        record: SQSRecord,
        tracked: _Tracked | None,
        attempt: int,
        reason: str,
        mark: FinalAttemptMark | None,
    ) -> None:
        """A retryable failure: retried after the schedule's delay, or on the final attempt
        dead-lettered (SQS moves the message on its next receive)."""
        if not self.schedule.is_final(attempt):
            self._schedule_retry(record, tracked, attempt, reason)
            return
        logger.error(
            "retries exhausted; SQS moves the message to the DLQ",
            extra={"reason": reason, "attempt": attempt},
        )
        self._mark_dead_lettered(
            record, tracked, f"retries exhausted after {attempt} attempts: {reason}", attempt, mark
        )
        # Visible now, so the next receive moves it to the DLQ (not a timeout later).
        self._set_visibility(record, 0)

    def _parked(
        self, record: SQSRecord, tracked: _Tracked | None, exc: Exception, p: _Prepared
    ) -> bool:
        """A peer failure with the stage's breaker open: the record is parked, not retried."""
        reason, breaker = _reason(exc), self.breakers.get(self.stage.name)
        next_at = breaker.parked(record, reason) if breaker else None
        if breaker is None or next_at is None:
            return False
        if tracked and p.mark is not None:
            self._unmark(tracked, p.mark)
        detail = f"{reason}; circuit open: next attempt at {next_at} or once {breaker.peer} answers"
        self._retrying(tracked, detail, {"next_retry_at": next_at, "last_error": reason})
        return True

    def _unmark(self, tracked: _Tracked, mark: FinalAttemptMark) -> None:
        """Failing to remove the mark must not send the message to the DLQ: it stays behind."""
        try:
            tracked.store.final_attempt_succeeded(tracked.event_id, mark)
        except (BotoCoreError, ClientError):
            logger.exception("could not remove the final attempt's mark; the event moved on")

    def _prepare(self, tracked: _Tracked, attempt: int, ends_by: datetime) -> _Prepared:
        """Load the event; skip it if this stage is done with it; before a final attempt, mark
        it DEAD_LETTERED (an attempt that never returns still says where its message went)."""
        store = tracked.store
        for _ in range(3):  # the mark is conditional on what was read: reread if it moved
            event = store.get(tracked.event_id)
            if event is None:
                raise NonRetryableError(f"event {tracked.event_id} is not in the events table")
            if self.stage.is_done(event):
                logger.info(
                    "already done at this stage; redelivery ignored",
                    extra={"status": event["status"]},
                )
                return _Prepared(done=True)
            if not self.schedule.is_final(attempt):
                return _Prepared()
            mark = store.begin_final_attempt(
                event, stage=self.stage.name, attempt=attempt, of=self.max_receives, ends_by=ends_by
            )
            if mark is not None:
                return _Prepared(mark=mark)
        logger.warning("the final attempt runs unmarked: the event kept changing")
        return _Prepared()

    def _schedule_retry(
        self, record: SQSRecord, tracked: _Tracked | None, attempt: int, reason: str
    ) -> None:
        """The message stays invisible for the schedule's next delay (Lambda leaves the
        visibility of a reported failure alone), and the event says when it will retry."""
        if self.stage.retried_metric:
            count(self.stage.retried_metric)
        delay = self.schedule.delay(attempt)
        next_at = iso_time(datetime.now(UTC) + timedelta(seconds=delay))
        logger.warning(
            "retryable failure; retrying after the scheduled delay",
            extra={"reason": reason, "attempt": attempt, "delay_seconds": delay},
        )
        self._set_visibility(record, delay)
        detail = f"attempt {attempt} of {self.max_receives} failed: {reason}; next attempt at "
        attributes = {"next_retry_at": next_at, "attempts": attempt, "last_error": reason}
        self._retrying(tracked, detail + next_at, attributes)

    def _retrying(self, tracked: _Tracked | None, detail: str, attributes: dict[str, Any]) -> None:
        if tracked:
            tracked.store.transition(
                tracked.event_id,
                EventStatus.RETRYING,
                stage=self.stage.name,
                detail=detail,
                attributes=attributes,
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
        attributes = forwarded_attributes(record)
        attributes["failed_stage"] = {"DataType": "String", "StringValue": self.stage.name}
        attributes["failure_reason"] = {"DataType": "String", "StringValue": reason[:256]}
        dlq_url = (self.dlq_by_source or {}).get(record.event_source_arn, self.dlq_url)
        aws_clients.sqs().send_message(
            QueueUrl=dlq_url, MessageBody=record.body, MessageAttributes=attributes
        )

    def _mark_dead_lettered(
        self,
        record: SQSRecord,
        tracked: _Tracked | None,
        reason: str,
        attempt: int,
        mark: FinalAttemptMark | None,
    ) -> None:
        count(self.stage.dead_letter_metric)
        if self.on_dead_letter is not None:
            try:
                self.on_dead_letter(record, reason)
            except Exception:  # noqa: BLE001 - the message still reaches the DLQ
                logger.exception("could not record the dead letter")
        if not tracked:
            return
        event_id, store = tracked.event_id, tracked.store
        dead_letter = {
            "stage": self.stage.name,
            "reason": reason,
            "attempts": attempt,
            "at": utc_now(),
        }
        # The final attempt's mark already says DEAD_LETTERED: it gets the real reason.
        if mark is not None and store.final_attempt_failed(event_id, mark, dead_letter):
            return
        moved = store.transition(
            event_id,
            EventStatus.DEAD_LETTERED,
            stage=self.stage.name,
            detail=reason,
            attributes={"dead_letter": dead_letter},
        )
        if not moved:
            logger.warning("event not marked DEAD_LETTERED: its status does not allow it")


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:_MAX_REASON_LENGTH]
