"""Accepting one verified, valid webhook: record it, queue it, exactly once per dedupe key.

Shared by every pipeline's intake. Powertools Idempotency (keyed on the pipeline's dedupe key,
validated on a payload hash) serialises concurrent deliveries and replays the first answer,
flagged as a duplicate. Underneath, the event id is derived from the key and the events table
refuses a second event, so a delivery arriving after the idempotency record expired is still
recognised. When the enqueue fails the idempotency record is dropped and the event stays
RECEIVED, so the sender's retry queues it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from shared import aws_clients
from shared.api import ApiError, ErrorCode, unavailable
from shared.batch import trace_attributes
from shared.event_status import EventStatus
from shared.event_store import EventRecorder
from shared.event_time import EventTimeWindow
from shared.metric_names import Metric
from shared.metrics import count
from shared.observability import logger, tracer
from shared.settings import EventsTableSettings, get_settings

_EVENT_ID_NAMESPACE = uuid.UUID("5d0c3f57-6f0a-4a53-9d37-1f1b8c1d0e42")


class IntakeSettings(EventsTableSettings):
    idempotency_table_name: str
    event_ttl_days: int = Field(ge=1)
    max_body_bytes: int = Field(ge=1)
    # How far from now a webhook's own event time may be (`EVENT_TIME_WINDOW`, from config).
    event_time_window: EventTimeWindow


class Submission(BaseModel):
    """One delivery to accept: what to store on the event and what to queue."""

    model_config = ConfigDict(frozen=True)

    source: str
    dedupe_key: str
    payload_sha256: str
    correlation_id: str
    pipeline: str
    attributes: dict[str, Any]
    queue_url: str
    message: dict[str, Any]  # the queue message; its event_id is set here


class EnqueueError(Exception):
    """The event is recorded but could not be queued: the sender must retry."""


def event_id_for(source: str, dedupe_key: str) -> str:
    """Deterministic, so every delivery with one key names the same event."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{source}:{dedupe_key}"))


def _events() -> EventRecorder:
    settings = get_settings(IntakeSettings)
    return EventRecorder(settings.events_table_name, ttl_days=settings.event_ttl_days)


def _flag_duplicate(response: Any, idempotent_data: DataRecord) -> Any:  # noqa: ARG001
    """The first answer, flagged as a duplicate, with the event's status as it is now."""
    try:
        current = _events().get(str(response["event_id"])) or {}
    except (BotoCoreError, ClientError):  # the recorded answer is still right, only older
        logger.exception("could not read the event's current status")
        current = {}
    return {**response, "status": current.get("status", response.get("status")), "duplicate": True}


IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath="dedupe_key",
    payload_validation_jmespath="payload_sha256",
    expires_after_seconds=24 * 3600,
    response_hook=_flag_duplicate,
)


def accept(submission: Submission) -> dict[str, Any]:
    events = _events()
    event_id = event_id_for(submission.source, submission.dedupe_key)
    created = events.record_received(
        event_id,
        {
            **submission.attributes,
            "pipeline": submission.pipeline,
            "source": submission.source,
            "correlation_id": submission.correlation_id,
        },
    )
    if not created:
        existing = events.get(event_id) or {}
        return {"event_id": event_id, "status": existing.get("status"), "duplicate": True}
    message = {**submission.message, "event_id": event_id}
    try:
        aws_clients.sqs().send_message(
            QueueUrl=submission.queue_url,
            MessageBody=json.dumps(message, separators=(",", ":"), default=str),
            MessageAttributes=trace_attributes(event_id, submission.correlation_id),
        )
    except Exception as exc:
        raise EnqueueError(f"could not queue event {event_id}: {type(exc).__name__}") from exc
    # False when a worker already moved it on: that is fine.
    events.transition(event_id, EventStatus.QUEUED)
    return {"event_id": event_id, "status": EventStatus.QUEUED.value, "duplicate": False}


@lru_cache(maxsize=1)
def idempotent_accept() -> Any:
    """`accept` behind Powertools Idempotency; built on first use (needs settings)."""
    persistence = DynamoDBPersistenceLayer(
        table_name=get_settings(IntakeSettings).idempotency_table_name,
        boto3_client=aws_clients.dynamodb_client(),
    )
    return idempotent_function(
        data_keyword_argument="submission", config=IDEMPOTENCY, persistence_store=persistence
    )(accept)


@contextmanager
def idempotency_answers(
    *, in_progress: str, retry_after_seconds: int, reused: Callable[[], Exception]
) -> Iterator[None]:
    """Powertools Idempotency's refusals as the caller hears them: a request with the same key
    still running is 409 with a Retry-After; a key reused with another payload is `reused()`."""
    try:
        yield
    except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError) as exc:
        raise ApiError(
            HTTPStatus.CONFLICT,
            ErrorCode.CONFLICT,
            in_progress,
            headers={"Retry-After": str(retry_after_seconds)},
        ) from exc
    except IdempotencyValidationError as exc:
        raise reused() from exc


@dataclass(frozen=True)
class Outcomes:
    """What a pipeline counts of the deliveries it accepts."""

    accepted: Metric
    duplicate: Metric
    # A dedupe key already accepted with another payload: the answer, counted or not.
    key_reused: Callable[[], ApiError]
    accepted_dimensions: dict[str, str] = field(default_factory=dict)


def submit(submission: Submission, lambda_context: Any, outcomes: Outcomes) -> dict[str, Any]:
    """Accept over HTTP: the answer (`duplicate` says whether it is the first), or an
    `ApiError` the sender can act on."""
    IDEMPOTENCY.register_lambda_context(lambda_context)
    try:
        with idempotency_answers(
            in_progress="this delivery is being processed by another request; retry shortly",
            retry_after_seconds=1,
            reused=outcomes.key_reused,
        ):
            result = dict(idempotent_accept()(submission=submission))
    except (EnqueueError, IdempotencyPersistenceLayerError, BotoCoreError, ClientError) as exc:
        # Nothing was acknowledged: the sender's retry records and queues the event.
        logger.exception("event not queued; asking the sender to retry")
        raise unavailable("the event could not be queued; retry the delivery") from exc
    logger.append_keys(event_id=result["event_id"])
    tracer.put_annotation("event_id", result["event_id"])
    if result["duplicate"]:
        count(outcomes.duplicate)
        logger.info("duplicate delivery", extra={"status": result["status"]})
    else:
        count(outcomes.accepted, **outcomes.accepted_dimensions)
        logger.info("webhook accepted")
    return result
