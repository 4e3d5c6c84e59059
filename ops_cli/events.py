"""Reading an event as operators and scripts do: has it settled, and where did it stop?"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# The stage an event waits for in each status, per pipeline (RETRYING and DEAD_LETTERED name
# their stage themselves).
_NEXT_STAGE = {
    "marketplace_orders": {"RECEIVED": "ingest", "QUEUED": "download", "DOWNLOADED": "processing"},
    "erp_entity_sync": {"RECEIVED": "ingest", "QUEUED": "sync", "PROCESSING": "sync"},
}


def settled(event: dict[str, Any], now: datetime | None = None) -> bool:
    """The event will not move on its own: PROCESSED, or DEAD_LETTERED with no final attempt
    still running (a final attempt is marked DEAD_LETTERED until it succeeds or its invocation
    ends: `dead_letter.attempt_ends_by`)."""
    status = event.get("status")
    if status == "PROCESSED":
        return True
    if status != "DEAD_LETTERED":
        return False
    ends_by = (event.get("dead_letter") or {}).get("attempt_ends_by")
    moment = (now or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return ends_by is None or str(ends_by) < moment


def where_it_stopped(event: dict[str, Any]) -> str:
    """One line: the stage an unfinished or failed event is at, and why if it is known."""
    if not event:
        return "the event cannot be read (GET /events/{id})"
    status = str(event.get("status"))
    if status == "DEAD_LETTERED":
        dead = event.get("dead_letter") or {}
        return f"DEAD_LETTERED at the {dead.get('stage', '?')} stage: {dead.get('reason', '?')}"
    if status == "RETRYING":
        stage = next(
            (h["stage"] for h in reversed(event.get("status_history", [])) if h.get("stage")), "?"
        )
        return (
            f"RETRYING at the {stage} stage after {event.get('attempts', '?')} attempt(s): "
            f"{event.get('last_error', '?')}; next attempt at {event.get('next_retry_at', '?')}"
        )
    if status == "PROCESSED":
        return f"PROCESSED with outcome {event.get('outcome', 'none')}, not a ping's"
    stage = _NEXT_STAGE.get(str(event.get("pipeline")), {}).get(status, "?")
    return f"{status}: the {stage} stage has not finished it"
