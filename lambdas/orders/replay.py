"""Rebuild the message that starts an order event's stage again, from what the event stored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from orders.messages import DownloadRequested, ProcessingRequested
from shared.errors import NotReplayableError

STAGES = ("download", "processing")


def stage_to_replay(event: dict[str, Any]) -> str:
    """Where the event stopped: its dead-letter stage, else processing once the raw order is
    stored, else download."""
    stage = (event.get("dead_letter") or {}).get("stage")
    if stage in STAGES:
        return str(stage)
    return "processing" if event.get("s3_key") else "download"


def replay_message(event: dict[str, Any], stage: str) -> BaseModel:
    common = {
        "event_id": event["event_id"],
        "order_id": event["order_id"],
        "correlation_id": event.get("correlation_id") or event["event_id"],
    }
    if stage == "download":
        return DownloadRequested(**common, event_type=event["event_type"])
    if not event.get("s3_key") or not event.get("sha256"):
        raise NotReplayableError("the raw order was never stored: replay the download stage")
    return ProcessingRequested(
        **common,
        s3_key=event["s3_key"],
        s3_version_id=event.get("s3_version_id"),
        sha256=event["sha256"],
    )
