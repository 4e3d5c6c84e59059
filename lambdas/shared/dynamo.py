"""How every store writes DynamoDB: conditional writes, the formats times are kept in, and numbers
in and out. Each convention is defined once here, for the events, entity, enrichment and products
tables and the idempotency table's latest deliveries alike."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar, cast

from botocore.exceptions import ClientError

from shared.item_table import from_attributes

_CONDITION_FAILED = "ConditionalCheckFailedException"
T = TypeVar("T")


def condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED


def if_condition_holds(write: Callable[[], T]) -> T | None:
    """Run a conditional write: its response, or None when its condition did not hold (another
    writer got there first, or the item is not in the state the write expects). Any other
    failure raises."""
    try:
        return write()
    except ClientError as exc:
        if condition_failed(exc):
            return None
        raise


# -- times -------------------------------------------------------------------------------------
# Three formats, each kept where it is today: changing one would change stored keys, the order
# of stored values, or what the APIs answer.


def iso_time(moment: datetime) -> str:
    """Status times (`received_at`, `updated_at`, history entries, enrichment times): UTC,
    milliseconds, `Z`. Comparable as strings, so indexes sort by them."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> str:
    return iso_time(datetime.now(UTC))


def instant(moment: datetime) -> str:
    """ERP source times, in inbox keys and the entity store's ordering condition: UTC, fixed
    width, microseconds, `Z` (an ERP timestamp keeps every digit it was sent with)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_sent(moment: datetime) -> str:
    """A sender's time as the sender gave it (its own offset and precision): what an event
    records of `timestamp` / `occurred_at`, for operators to compare with the sender's logs."""
    return moment.isoformat()


def expires_at(after: timedelta, *, start: datetime | None = None) -> int:
    """A TTL attribute: epoch seconds, `after` from `start` (now by default)."""
    return int(((start or datetime.now(UTC)) + after).timestamp())


# -- numbers -----------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; JSON and pydantic want int or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def stored(value: Any) -> Any:
    """The inverse of `plain`: DynamoDB takes numbers as Decimal, never float."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def json_number(value: Any) -> Any:
    """`json.dumps(default=...)` for what a table returned: its Decimals as JSON numbers."""
    if isinstance(value, Decimal):
        return plain(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def old_item(exc: ClientError) -> dict[str, Any]:
    """The item a conditional write found (`ReturnValuesOnConditionCheckFailure=ALL_OLD`), in
    the resource API's types: the error response is not deserialised by boto3."""
    return from_attributes(cast("dict[str, Any]", dict(exc.response).get("Item") or {}))


def epoch_millis() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
