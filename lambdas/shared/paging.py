"""Paged reads: the opaque cursor that carries DynamoDB's `LastEvaluatedKey` from one page to
the next. The routes' query parameters are `shared.page_params`, apart so that the workers,
which page through stores too, do not import the API event handler."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

DEFAULT_PAGE, MAX_PAGE = 25, 100
# An opaque token this API returned: URL-safe base64 of a small JSON key (`encode_cursor`).
CURSOR_PATTERN = r"^[A-Za-z0-9_\-]+={0,2}$"


class InvalidCursorError(ValueError):
    """A cursor this API did not return: a 400 for the caller, never a query."""


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode()


def decode_cursor(cursor: str | None, keys: frozenset[str], required: str) -> dict[str, Any] | None:
    """The opaque cursor back into DynamoDB's ExclusiveStartKey of a table (or index) whose key
    attributes are `keys`, `required` among them; anything else is refused."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as exc:
        raise InvalidCursorError("cursor is not one this API returned") from exc
    if (
        not isinstance(key, dict)
        or not set(key) <= keys
        or required not in key
        or not all(isinstance(value, str) and value for value in key.values())
    ):
        raise InvalidCursorError("cursor is not one this API returned")
    return key
