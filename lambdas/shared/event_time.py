"""Whether a webhook's own event time is plausible: a sender's wrong clock must not poison
ordering (an update dated 9999 would make every later real update of its entity stale)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field


class EventTimeWindow(BaseModel):
    """The env's window, from its config (`EVENT_TIME_WINDOW`, written by the stack whole)."""

    model_config = ConfigDict(frozen=True)

    max_future_seconds: int = Field(ge=0, le=86_400)
    max_age_days: int = Field(ge=1, le=3650)


def implausible(moment: datetime, *, now: datetime, window: EventTimeWindow) -> str | None:
    """Why `moment` is outside the window around `now`, or None when it is inside."""
    if moment > now + timedelta(seconds=window.max_future_seconds):
        return f"must not be more than {window.max_future_seconds} s in the future"
    if moment < now - timedelta(days=window.max_age_days):
        return f"must not be more than {window.max_age_days} days in the past"
    return None
