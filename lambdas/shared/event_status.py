"""The statuses an event moves through, and which status may follow which: the rules the events
table's conditional writes enforce (`shared.event_store`)."""

from __future__ import annotations

from enum import StrEnum


class EventStatus(StrEnum):
    RECEIVED = "RECEIVED"
    QUEUED = "QUEUED"
    DOWNLOADED = "DOWNLOADED"
    PROCESSING = "PROCESSING"  # a worker is on it (one entry per attempt)
    RETRYING = "RETRYING"  # the attempt failed; the next one is scheduled
    PROCESSED = "PROCESSED"
    DEAD_LETTERED = "DEAD_LETTERED"
    REJECTED = "REJECTED"  # refused at ingest (invalid); kept so operators see what was refused


# Still on their way: a stage is expected to move them on (the sweeper and the stats watch these).
IN_FLIGHT_STATUSES = (
    EventStatus.RECEIVED,
    EventStatus.QUEUED,
    EventStatus.DOWNLOADED,
    EventStatus.PROCESSING,
    EventStatus.RETRYING,
)
# A status may be entered only from these. DEAD_LETTERED events re-enter a stage when redriven;
# RETRYING is entered from whatever status the failing stage found (and again on each failure).
_RETRYABLE_FROM = frozenset(
    {
        EventStatus.RECEIVED,  # a worker may run before the ingest wrote QUEUED
        EventStatus.QUEUED,
        EventStatus.DOWNLOADED,
        EventStatus.PROCESSING,
        EventStatus.RETRYING,
        EventStatus.DEAD_LETTERED,
    }
)
ALLOWED_FROM: dict[EventStatus, frozenset[EventStatus]] = {
    EventStatus.QUEUED: frozenset({EventStatus.RECEIVED}),
    EventStatus.DOWNLOADED: frozenset(
        {
            EventStatus.RECEIVED,
            EventStatus.QUEUED,
            EventStatus.RETRYING,
            EventStatus.DEAD_LETTERED,
        }
    ),
    EventStatus.PROCESSING: frozenset(
        {
            EventStatus.RECEIVED,
            EventStatus.QUEUED,
            EventStatus.RETRYING,
            EventStatus.PROCESSING,  # redelivered after a crash mid-attempt
            EventStatus.DEAD_LETTERED,
        }
    ),
    EventStatus.RETRYING: _RETRYABLE_FROM,
    EventStatus.PROCESSED: frozenset(
        {
            EventStatus.DOWNLOADED,
            EventStatus.PROCESSING,
            EventStatus.RETRYING,
            EventStatus.DEAD_LETTERED,
        }
    ),
    # Again from DEAD_LETTERED: a redriven event that fails again gets its new reason.
    EventStatus.DEAD_LETTERED: _RETRYABLE_FROM,
}
