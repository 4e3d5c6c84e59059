"""Rebuild the sync message of an ERP event from its inbox record."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from erp.messages import ErpSyncRequested
from shared.dynamo import plain
from shared.errors import NotReplayableError


def stage_to_replay(event: dict[str, Any]) -> str:
    """The lane the event was queued in: a replay keeps its priority."""
    lane = event.get("lane")
    if not lane:
        raise NotReplayableError("the event has no lane: it was never accepted for sync")
    return f"erp-{lane}"


def replay_message(event: dict[str, Any], stage: str) -> ErpSyncRequested:
    del stage  # one stage per lane: the message is the same
    if "data" not in event and "data_ref" not in event:
        raise NotReplayableError("the inbox record holds neither the data nor where it is")
    try:
        return ErpSyncRequested(
            event_id=event["event_id"],
            correlation_id=event.get("correlation_id") or event["event_id"],
            idempotency_key=event["idempotency_key"],
            entity_type=event["entity_type"],
            entity_id=event["entity_id"],
            event_type=event["event_type"],
            # A large event's data stays where the inbox put it: the message refers to it.
            data=plain(event.get("data", {})),
            data_ref=event.get("data_ref"),
            source_timestamp=event["source_timestamp"],
            priority=int(event["priority"]),
        )
    except (KeyError, ValidationError) as exc:
        raise NotReplayableError(f"the inbox record cannot rebuild the message: {exc}") from exc
