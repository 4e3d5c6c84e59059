"""Accepting one verified, valid webhook: record it, queue it, exactly once per dedupe key.

Shared by every pipeline's intake. The event item is its own idempotency record, so an accepted
delivery costs three calls: a conditional PutItem creates the event QUEUED and held by this
delivery (`EventRecorder.claim`), SendMessage queues it, and an UpdateItem drops the hold. The
event id is derived from the dedupe key, so every delivery of one key meets the same item:
- while another delivery holds it, the answer is 409 with a Retry-After (`idempotency_answers`,
  which maps the catalog's Powertools Idempotency refusals alike);
- once it is held no more, it is a duplicate, answered with the event's current status, for as
  long as the event is kept (the env's `event_ttl_days`), not only for an idempotency window;
- a key already accepted with another payload hash is refused as reused;
- when the enqueue fails the event goes back to RECEIVED, unheld, and the sender's retry (503)
  claims and queues it; when the holder dies before confirming, its hold expires at the end of
  its invocation and the sender's retry takes it over (the stuck-event sweeper re-drives an
  event nobody retries).
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

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from shared import aws_clients
from shared.api import ApiError, ErrorCode, unavailable
from shared.dynamo import epoch_millis
from shared.event_recorder import CLAIM, HELD_UNTIL, EventRecorder, IntakeClaim
from shared.event_status import EventStatus
from shared.event_time import EventTimeWindow
from shared.message_attributes import trace_attributes
from shared.metric_names import Metric
from shared.metrics import count
from shared.observability import logger, tracer
from shared.settings import EventsTableSettings, get_settings

_EVENT_ID_NAMESPACE = uuid.UUID("5d0c3f57-6f0a-4a53-9d37-1f1b8c1d0e42")
# How long a delivery holds its event when the runtime does not say how long it has left.
_DEFAULT_HOLD_MILLIS = 30_000


class IntakeSettings(EventsTableSettings):
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


class KeyInFlightError(Exception):
    """Another delivery with this key holds its event: retry shortly."""


class KeyReusedError(Exception):
    """The key was accepted with another payload."""


def event_id_for(source: str, dedupe_key: str) -> str:
    """Deterministic, so every delivery with one key names the same event."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{source}:{dedupe_key}"))


@dataclass(frozen=True)
class Intake:
    """Accepts submissions into one events table."""

    events: EventRecorder

    def accept(self, submission: Submission, *, hold_millis: int) -> dict[str, Any]:
        """The answer for a first delivery; a repeat's answer, or the refusal a repeat gets."""
        event_id = event_id_for(submission.source, submission.dedupe_key)
        claim = IntakeClaim(
            token=uuid.uuid4().hex,
            until=epoch_millis() + hold_millis,
            payload_sha256=submission.payload_sha256,
        )
        attributes = {
            **submission.attributes,
            "pipeline": submission.pipeline,
            "source": submission.source,
            "correlation_id": submission.correlation_id,
        }
        existing = self.events.claim(event_id, attributes, claim)
        if existing is not None:
            return repeat_answer(event_id, existing, submission.payload_sha256)
        self._enqueue(event_id, submission, claim)
        try:
            self.events.confirm(event_id, claim)
        except (BotoCoreError, ClientError):
            # Queued all the same: the hold lapses at its deadline, and a delivery after that
            # finds the event moved on (a duplicate) or takes it over (queued again, harmless).
            logger.exception("event queued but its hold not dropped")
        return {"event_id": event_id, "status": EventStatus.QUEUED.value, "duplicate": False}

    def _enqueue(self, event_id: str, submission: Submission, claim: IntakeClaim) -> None:
        message = {**submission.message, "event_id": event_id}
        try:
            aws_clients.sqs().send_message(
                QueueUrl=submission.queue_url,
                MessageBody=json.dumps(message, separators=(",", ":"), default=str),
                MessageAttributes=trace_attributes(event_id, submission.correlation_id),
            )
        except Exception as exc:
            try:
                self.events.release(event_id, claim)
            except (BotoCoreError, ClientError):  # the hold lapses at its deadline instead
                logger.exception("could not release the event after a failed enqueue")
            raise EnqueueError(f"could not queue event {event_id}: {type(exc).__name__}") from exc


def repeat_answer(event_id: str, existing: dict[str, Any], payload_sha256: str) -> dict[str, Any]:
    """Another delivery of an existing event: reused with another payload (refused), still held
    by the delivery accepting it (409, retry), or a duplicate with the event's current status.
    Events recorded before the hash was kept on them are taken as the same payload."""
    if existing.get("payload_sha256", payload_sha256) != payload_sha256:
        raise KeyReusedError("the dedupe key was accepted with another payload")
    if CLAIM in existing and int(existing.get(HELD_UNTIL, 0)) >= epoch_millis():
        raise KeyInFlightError(f"event {event_id} is being accepted")
    return {"event_id": event_id, "status": existing.get("status"), "duplicate": True}


@lru_cache(maxsize=1)
def idempotent_accept() -> Intake:
    """The container's intake; built on first use (needs settings)."""
    settings = get_settings(IntakeSettings)
    return Intake(EventRecorder(settings.events_table_name, ttl_days=settings.event_ttl_days))


def _hold_millis(lambda_context: Any) -> int:
    """A delivery holds its event until its invocation ends: after that it cannot confirm."""
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
    return int(remaining()) if callable(remaining) else _DEFAULT_HOLD_MILLIS


@contextmanager
def idempotency_answers(
    *, in_progress: str, retry_after_seconds: int, reused: Callable[[], Exception]
) -> Iterator[None]:
    """Idempotency refusals (this intake's, and Powertools Idempotency's for the catalog) as the
    caller hears them: a request with the same key still running is 409 with a Retry-After; a
    key reused with another payload is `reused()`."""
    try:
        yield
    except Exception as exc:
        refusal = _refusal(exc)
        if refusal == "in_progress":
            raise ApiError(
                HTTPStatus.CONFLICT,
                ErrorCode.CONFLICT,
                in_progress,
                headers={"Retry-After": str(retry_after_seconds)},
            ) from exc
        if refusal == "reused":
            raise reused() from exc
        raise


def _refusal(exc: Exception) -> str | None:
    if isinstance(exc, KeyInFlightError):
        return "in_progress"
    if isinstance(exc, KeyReusedError):
        return "reused"
    # Powertools Idempotency is imported only where it is used (the catalog): not at the
    # webhook intakes' cold start.
    from aws_lambda_powertools.utilities.idempotency import exceptions as powertools

    if isinstance(
        exc,
        powertools.IdempotencyAlreadyInProgressError | powertools.IdempotencyInconsistentStateError,
    ):
        return "in_progress"
    return "reused" if isinstance(exc, powertools.IdempotencyValidationError) else None


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
    try:
        with idempotency_answers(
            in_progress="this delivery is being processed by another request; retry shortly",
            retry_after_seconds=1,
            reused=outcomes.key_reused,
        ):
            result = idempotent_accept().accept(
                submission, hold_millis=_hold_millis(lambda_context)
            )
    except (EnqueueError, BotoCoreError, ClientError) as exc:
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
