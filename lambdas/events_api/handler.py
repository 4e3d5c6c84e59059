"""GET /events/{event_id}: an event, its current status and its full history."""

from __future__ import annotations

import uuid
from decimal import Decimal
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from shared.api import ApiError, ErrorCode, api_handler, create_resolver, success
from shared.event_store import EventStore
from shared.settings import FunctionSettings, get_settings

app = create_resolver()


@lru_cache(maxsize=1)
def _events() -> EventStore:
    return EventStore(get_settings(FunctionSettings).events_table_name)


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; JSON wants int or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@app.get("/events/<event_id>")
def get_event(event_id: str) -> Response[str]:
    try:
        uuid.UUID(event_id)
    except ValueError as exc:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            ErrorCode.VALIDATION_ERROR,
            "event_id must be a UUID",
            details=[{"field": "event_id", "message": "not a UUID"}],
        ) from exc
    item = _events().get(event_id)
    if item is None:
        raise ApiError(HTTPStatus.NOT_FOUND, ErrorCode.NOT_FOUND, f"no event {event_id}")
    item.pop("expires_at", None)
    return success(app, _plain(item))


handler = api_handler(app)
