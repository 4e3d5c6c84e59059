"""The SQS message attributes that carry one event's identity from stage to stage.

Apart from `shared.batch` on purpose: the intakes and the replay only send messages, and
importing `shared.batch` loads Powertools' batch utility (asyncio and every event data class),
which the API functions' cold start does not otherwise need.
"""

from __future__ import annotations

from typing import Any

CORRELATION_ID_ATTRIBUTE = "correlation_id"
EVENT_ID_ATTRIBUTE = "event_id"


def trace_attributes(event_id: str, correlation_id: str) -> dict[str, Any]:
    """The SQS message attributes that carry one event's identity from stage to stage."""
    return {
        EVENT_ID_ATTRIBUTE: {"DataType": "String", "StringValue": event_id},
        CORRELATION_ID_ATTRIBUTE: {"DataType": "String", "StringValue": correlation_id},
    }
