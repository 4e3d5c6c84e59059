"""Operator endpoints (IAM-authorized): list and show events, replay one, stats, health, and
start or follow a DLQ redrive. Parameters are typed and bounded (Powertools validation): a bad
one is a 400 VALIDATION_ERROR naming it."""

from __future__ import annotations

import shared.startup

from collections.abc import Callable
from functools import lru_cache
from http import HTTPStatus
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from botocore.exceptions import BotoCoreError, ClientError

from ops_api import operations
from ops_api.operations import OpsSettings, ReplayRefusedError, UnknownQueueError
from shared.api import (
    IAM_AUTH,
    ApiError,
    ErrorCode,
    answers,
    api_handler,
    create_resolver,
    success,
)
from shared.dynamo import plain
from shared.event_status import EventStatus
from shared.event_store import EventStore
from shared.observability import logger
from shared.page_params import PageCursor, PageLimit
from shared.paging import DEFAULT_PAGE, InvalidCursorError
from shared.settings import get_settings

app = create_resolver()
RouteT = TypeVar("RouteT", bound=Callable[..., Response[str]])
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
STAGE_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"
PIPELINE_PATTERN = r"^[a-z][a-z_]{0,63}$"
EventId = Annotated[
    str,
    Path(
        pattern=UUID_PATTERN,
        description="an event id (a UUID)",
        examples=["3e4478b0-7f55-4b1f-8935-830eacc6043a"],
    ),
]
# The stages of this deployment's queues (GET /stats lists them); the examples are every env's.
Stage = Annotated[
    str,
    Path(
        pattern=STAGE_PATTERN,
        description="a queue stage, as GET /stats lists them",
        examples=["download", "processing", "erp-high", "erp-standard", "erp-low", "enrichment"],
    ),
]


def _operation(
    method: str, path: str, success: int, *failures: HTTPStatus, summary: str
) -> Callable[[RouteT], RouteT]:
    """An operator route: IAM-authorized, documented with every answer it can give."""
    return app.route(
        path,
        method,
        summary=summary,
        responses=answers(success, *failures),
        security=IAM_AUTH,
        tags=["operations"],
    )


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


@_operation(
    "GET",
    "/events",
    200,
    summary="Events newest first, by status and/or pipeline, a page at a time",
)
def list_events(
    status: Annotated[EventStatus | None, Query()] = None,
    pipeline: Annotated[str | None, Query(pattern=PIPELINE_PATTERN)] = None,
    limit: PageLimit = DEFAULT_PAGE,
    cursor: PageCursor = None,
) -> Response[str]:
    if not status and not pipeline:
        raise _invalid("status", "give status, pipeline, or both")
    try:
        items, next_cursor = _events().list_events(
            status=status.value if status else None, pipeline=pipeline, limit=limit, cursor=cursor
        )
    except InvalidCursorError as exc:
        raise _invalid("cursor", str(exc)) from exc
    return success(
        app,
        {
            "events": [_shown(item) for item in items],
            "count": len(items),
            "next_cursor": next_cursor,
        },
    )


@_operation(
    "GET",
    "/events/<event_id>",
    200,
    HTTPStatus.NOT_FOUND,
    summary="One event with its status history",
)
def get_event(event_id: EventId) -> Response[str]:
    item = _events().get(event_id)
    if item is None:
        raise ApiError(HTTPStatus.NOT_FOUND, ErrorCode.NOT_FOUND, f"no event {event_id}")
    return success(app, _shown(item))


@_operation(
    "POST",
    "/events/<event_id>/replay",
    202,
    HTTPStatus.NOT_FOUND,
    HTTPStatus.CONFLICT,
    summary="Queue one event again at the stage where it stopped",
)
def replay_event(event_id: EventId, force: Annotated[bool, Query()] = False) -> Response[str]:
    try:
        result = operations.replay(get_settings(OpsSettings), _events(), event_id, force)
    except LookupError as exc:
        raise ApiError(HTTPStatus.NOT_FOUND, ErrorCode.NOT_FOUND, str(exc)) from exc
    except ReplayRefusedError as exc:
        raise ApiError(HTTPStatus.CONFLICT, ErrorCode.CONFLICT, str(exc)) from exc
    logger.info("event replayed", extra=result)
    return success(app, result, HTTPStatus.ACCEPTED)


@_operation(
    "GET",
    "/stats",
    200,
    summary="Events by status and pipeline, ERP entity and priority; queue depths",
)
def get_stats() -> Response[str]:
    return success(app, operations.stats(get_settings(OpsSettings), _events()))


@_operation(
    "GET",
    "/health",
    200,
    summary="Whether the events table, the bucket and every queue and DLQ answer",
)
def get_health() -> Response[str]:
    return success(app, operations.health(get_settings(OpsSettings)))


@_operation(
    "POST",
    "/dlq/<queue>/redrive",
    202,
    HTTPStatus.NOT_FOUND,
    HTTPStatus.CONFLICT,
    summary="Move a stage's DLQ back to its queue (an SQS message move task)",
)
def start_redrive(
    queue: Stage, rate: Annotated[int | None, Query(ge=1, le=500)] = None
) -> Response[str]:
    try:
        task = operations.start_redrive(get_settings(OpsSettings), queue, rate)
    except UnknownQueueError as exc:
        raise ApiError(HTTPStatus.NOT_FOUND, ErrorCode.NOT_FOUND, str(exc)) from exc
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        # e.g. a move task is already running for this DLQ
        raise ApiError(HTTPStatus.CONFLICT, ErrorCode.CONFLICT, f"redrive refused: {code}") from exc
    logger.info("DLQ redrive started", extra=task)
    return success(app, task, HTTPStatus.ACCEPTED)


@_operation(
    "GET",
    "/dlq/<queue>/redrive",
    200,
    HTTPStatus.NOT_FOUND,
    HTTPStatus.SERVICE_UNAVAILABLE,
    summary="A stage's DLQ depth and its latest redrive tasks",
)
def redrive_progress(queue: Stage) -> Response[str]:
    try:
        return success(app, operations.redrive_progress(get_settings(OpsSettings), queue))
    except UnknownQueueError as exc:
        raise ApiError(HTTPStatus.NOT_FOUND, ErrorCode.NOT_FOUND, str(exc)) from exc
    except (BotoCoreError, ClientError) as exc:
        raise ApiError(
            HTTPStatus.SERVICE_UNAVAILABLE, ErrorCode.SERVICE_UNAVAILABLE, "SQS did not answer"
        ) from exc


handler = api_handler(app)

shared.startup.loaded()  # last: every object of the cold start is built
