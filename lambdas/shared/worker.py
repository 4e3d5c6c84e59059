"""What every SQS worker shares: its settings and the Lambda entry point around a stage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from shared.batch import Attempt, ConcurrentBatchProcessor, GroupKey, RecordBlockedError, Work
from shared.errors import NonRetryableError
from shared.event_store import EventStore
from shared.failure_policy import Stage, StageFailurePolicy
from shared.http_settings import HttpClientSettings
from shared.observability import logger, metrics, tracer
from shared.retries import RetrySchedule
from shared.settings import EventsTableSettings, FunctionSettings

MessageT = TypeVar("MessageT", bound=BaseModel)
MessageContraT = TypeVar("MessageContraT", bound=BaseModel, contravariant=True)


class WorkerSettings(FunctionSettings):
    retry_schedule: RetrySchedule  # the stage's, from its queue's config (`RETRY_SCHEDULE`)


class HttpWorkerSettings(WorkerSettings):
    """A worker that calls peers over HTTP (`HTTP_CLIENT`): its records run `pool_size` at once,
    one per pooled connection (more would only wait for a connection)."""

    http_client: HttpClientSettings


class TrackedWorkerSettings(WorkerSettings, EventsTableSettings):
    """A worker whose stage moves its event on in the events table."""


@dataclass(frozen=True)
class StageRuntime:
    """What one worker stage holds per container besides its adapters: the batch processor
    and the failure policy."""

    processor: ConcurrentBatchProcessor
    policy: StageFailurePolicy

    @classmethod
    def of(
        cls,
        stage: Stage,
        settings: WorkerSettings,
        *,
        dlq_url: str,
        concurrency: int,
        events: EventStore | None = None,
        dlq_by_source: dict[str, str] | None = None,
        on_dead_letter: Callable[[SQSRecord, str], None] | None = None,
        group_by: GroupKey | None = None,
    ) -> StageRuntime:
        """`concurrency`: how many records (or groups) of a batch run at once; `events`: the
        events table, for a stage that moves its event on there; `group_by`: the records that
        must apply in the order they were sent (see `ConcurrentBatchProcessor`; see
        `StageFailurePolicy` for the rest)."""
        policy = StageFailurePolicy(
            stage,
            settings.retry_schedule,
            dlq_url,
            events=events,
            dlq_by_source=dlq_by_source,
            on_dead_letter=on_dead_letter,
        )
        processor = ConcurrentBatchProcessor(max_workers=concurrency, group_by=group_by)
        return cls(processor=processor, policy=policy)


def parse_message(model: type[MessageT], record: SQSRecord) -> MessageT:
    """A message that does not parse will never parse: dead-letter it."""
    try:
        return model.model_validate_json(record.body)
    except ValidationError as exc:
        raise NonRetryableError(
            f"malformed {model.__name__} message: {exc.error_count()} errors"
        ) from exc


class MessageWorker(Protocol[MessageContraT]):
    """A stage wired for its container: what runs its batches, and the stage itself."""

    @property
    def runtime(self) -> StageRuntime: ...

    def run(self, message: MessageContraT, /) -> None: ...


def message_handler(
    stage: Stage, worker: Callable[[], MessageWorker[MessageT]], model: type[MessageT]
) -> Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]:
    """The entry point of a worker whose stage needs only each record's message (`model`)."""

    def work(record: SQSRecord, attempt: Attempt) -> None:  # noqa: ARG001 - one way for every stage
        worker().run(parse_message(model, record))

    # Each stage's records are traced as that stage ("## download", ...), not as `work`.
    work.__name__ = work.__qualname__ = stage.name
    return worker_handler(lambda: worker().runtime, tracer.capture_method(work))


def worker_handler(
    runtime: Callable[[], StageRuntime], work: Work
) -> Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]:
    """The Lambda entry point of a worker: partial batch responses, one policy for failures."""

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        stage = runtime()
        # A final attempt that has not settled by then never will: the invocation is over.
        ends_by = datetime.now(UTC) + timedelta(milliseconds=context.get_remaining_time_in_millis())

        def record_handler(record: SQSRecord) -> None:
            blocker = stage.processor.blocked_by(record)
            # A record whose group failed earlier in the batch fails too, under the same
            # policy (retried on its schedule, dead-lettered when its receives run out).
            runs = work if blocker is None else _blocked(blocker)
            stage.policy.run(record, runs, ends_by=ends_by)

        return process_partial_response(
            event=event, record_handler=record_handler, processor=stage.processor, context=context
        )

    return handler


def _blocked(blocker: str) -> Work:
    def wait_for_it(record: SQSRecord, attempt: Attempt) -> None:  # noqa: ARG001 - a `Work`
        raise RecordBlockedError(blocker)

    return wait_for_it
