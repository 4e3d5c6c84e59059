"""Operator endpoints (IAM-authorized): events, stats, health, DLQ redrive and replay."""

from __future__ import annotations

import uuid
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from botocore.exceptions import BotoCoreError, ClientError

from ops_api import operations
from ops_api.operations import OpsSettings, ReplayRefusedError, UnknownQueueError
from shared.api import ApiError, ErrorCode, api_handler, create_resolver, success
from shared.event_store import EventStatus, EventStore, InvalidCursorError, plain
from shared.observability import logger
from shared.settings import get_settings

app = create_resolver()
MAX_PAGE = 100
DEFAULT_PAGE = 25


@lru_cache(maxsize=1)
def _events() -> EventStore:
    return EventStore(get_settings(OpsSettings).events_table_name)


def _shown(event: dict[str, Any]) -> Any:
    """What operators see of an event: JSON numbers, without the table's TTL bookkeeping."""
    return plain({k: v for k, v in event.items() if k != "expires_at"})


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(
        HTTPStatus.BAD_REQUEST,
        ErrorCode.VALIDATION_ERROR,
        f"{field}: {message}",
        details=[{"field": field, "message": message}],
    )


def _event_id(value: str) -> str:
    try:
        uuid.UUID(value)
    except ValueError as exc:
        raise _invalid("event_id", "not a UUID") from exc
    return value


def _query(name: str) -> str | None:
    value = app.current_event.get_query_string_value(name, None)
    return value or None


@app.get("/events")
def list_events() -> Response[str]:
    status, pipeline = _query("status"), _query("pipeline")
    if status and status not in {s.value for s in EventStatus}:
        raise _invalid("status", f"one of {', '.join(s.value for s in EventStatus)}")
    if not status and not pipeline:
        raise _invalid("status", "give status, pipeline, or both")
    raw_limit = _query("limit") or str(DEFAULT_PAGE)
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAGE:
        raise _invalid("limit", f"a whole number from 1 to {MAX_PAGE}")
    try:
        items, cursor = _events().list_events(
            status=status, pipeline=pipeline, limit=int(raw_limit), cursor=_query("cursor")
        )
    except InvalidCursorError as exc:
        raise _invalid("cursor", str(exc)) from exc
    return success(
        app,
        {"events": [_shown(item) for item in items], "count": len(items), "next_cursor": cursor},
    )


@app.get("/events/<event_id>")
def get_event(event_id: str) -> Response[str]:
    item = _events().get(_event_id(event_id))
    if item is None:
        raise ApiError(HTTPStatus.NOT_FOUND, ErrorCode.NOT_FOUND, f"no event {event_id}")
    return success(app, _shown(item))


@app.post("/events/<event_id>/replay")
def replay_event(event_id: str) -> Response[str]:
    force = (_query("force") or "").lower() == "true"
    try:
        result = operations.replay(get_settings(OpsSettings), _events(), _event_id(event_id), force)
    except LookupError as exc:
        raise ApiError(HTTPStatus.NOT_FOUND, ErrorCode.NOT_FOUND, str(exc)) from exc
    except ReplayRefusedError as exc:
        raise ApiError(HTTPStatus.CONFLICT, ErrorCode.CONFLICT, str(exc)) from exc
    logger.info("event replayed", extra=result)
    return success(app, result, HTTPStatus.ACCEPTED)


@app.get("/stats")
def get_stats() -> Response[str]:
    return success(app, operations.stats(get_settings(OpsSettings), _events()))


@app.get("/health")
def get_health() -> Response[str]:
    return success(app, operations.health(get_settings(OpsSettings)))


@app.post("/dlq/<queue>/redrive")
def start_redrive(queue: str) -> Response[str]:
    rate = _query("rate")
    if rate is not None and (not rate.isdigit() or not 1 <= int(rate) <= 500):
        raise _invalid("rate", "messages per second, 1 to 500")
    try:
        task = operations.start_redrive(
            get_settings(OpsSettings), queue, int(rate) if rate else None
        )
    except UnknownQueueError as exc:
        raise ApiError(HTTPStatus.NOT_FOUND, ErrorCode.NOT_FOUND, str(exc)) from exc
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        # e.g. a move task is already running for this DLQ
        raise ApiError(HTTPStatus.CONFLICT, ErrorCode.CONFLICT, f"redrive refused: {code}") from exc
    logger.info("DLQ redrive started", extra=task)
    return success(app, task, HTTPStatus.ACCEPTED)


@app.get("/dlq/<queue>/redrive")
def redrive_progress(queue: str) -> Response[str]:
    try:
        return success(app, operations.redrive_progress(get_settings(OpsSettings), queue))
    except UnknownQueueError as exc:
        raise ApiError(HTTPStatus.NOT_FOUND, ErrorCode.NOT_FOUND, str(exc)) from exc
    except (BotoCoreError, ClientError) as exc:
        raise ApiError(
            HTTPStatus.SERVICE_UNAVAILABLE, ErrorCode.SERVICE_UNAVAILABLE, "SQS did not answer"
        ) from exc


handler = api_handler(app)
