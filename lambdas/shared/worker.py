"""What every SQS worker shares: its settings and the Lambda entry point around a stage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from shared.batch import Attempt, ConcurrentBatchProcessor, StageFailurePolicy
from shared.errors import NonRetryableError
from shared.event_store import EventStore
from shared.http_client import HttpClient, HttpClientSettings
from shared.observability import logger, metrics, tracer
from shared.retries import RetrySchedule
from shared.settings import FunctionSettings

MessageT = TypeVar("MessageT", bound=BaseModel)


class WorkerSettings(FunctionSettings):
    event_ttl_days: int = 365
    retry_schedule: RetrySchedule = RetrySchedule()  # the stage's, from its queue's config
    http_client: HttpClientSettings = HttpClientSettings()


@dataclass(frozen=True)
class StageRuntime:
    """What one worker stage holds per container: its adapters, processor and failure policy."""

    events: EventStore
    http: HttpClient
    processor: ConcurrentBatchProcessor
    policy: StageFailurePolicy


def stage_runtime(
    settings: WorkerSettings,
    *,
    pipeline: str,
    stage: str,
    dlq_url: str,
    dead_letter_metric: str,
    is_done: Callable[[dict[str, Any]], bool] | None = None,
    retried_metric: str | None = None,
    dlq_by_source: dict[str, str] | None = None,
    on_dead_letter: Callable[[SQSRecord, str], None] | None = None,
) -> StageRuntime:
    events = EventStore(settings.events_table_name, settings.event_ttl_days)
    http = HttpClient(settings.http_client)
    return StageRuntime(
        events=events,
        http=http,
        # One thread per pooled connection: more would only wait for a connection.
        processor=ConcurrentBatchProcessor(max_workers=http.pool_size),
        policy=StageFailurePolicy(
            pipeline=pipeline,
            stage=stage,
            dlq_url=dlq_url,
            schedule=settings.retry_schedule,
            events=events,
            dead_letter_metric=dead_letter_metric,
            is_done=is_done,
            retried_metric=retried_metric,
            dlq_by_source=dlq_by_source,
            on_dead_letter=on_dead_letter,
        ),
    )


def parse_message(model: type[MessageT], record: SQSRecord) -> MessageT:
    """A message that does not parse will never parse: dead-letter it."""
    try:
        return model.model_validate_json(record.body)
    except ValidationError as exc:
        raise NonRetryableError(
            f"malformed {model.__name__} message: {exc.error_count()} errors"
        ) from exc


def worker_handler(
    runtime: Callable[[], StageRuntime],
    work: Callable[[SQSRecord, Attempt], None],
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
            stage.policy.run(record, work, ends_by=ends_by)

        return process_partial_response(
            event=event, record_handler=record_handler, processor=stage.processor, context=context
        )

    return handler
