"""Rebuild the message that starts an order event's stage again, from what the event stored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from orders.messages import (
    DOWNLOAD_STAGE,
    PROCESSING_STAGE,
    DownloadRequested,
    ProcessingRequested,
)
from shared.errors import NotReplayableError

STAGES = (DOWNLOAD_STAGE, PROCESSING_STAGE)


def stage_to_replay(event: dict[str, Any]) -> str:
    """Where the event stopped: its dead-letter stage, else processing once the raw order is
    stored, else download."""
    stage = (event.get("dead_letter") or {}).get("stage")
    if stage in STAGES:
        return str(stage)
    return PROCESSING_STAGE if event.get("s3_key") else DOWNLOAD_STAGE


def replay_message(event: dict[str, Any], stage: str) -> BaseModel:
    common = {
        "event_id": event["event_id"],
        "order_id": event["order_id"],
        "correlation_id": event.get("correlation_id") or event["event_id"],
    }
    if stage == DOWNLOAD_STAGE:
        return DownloadRequested(**common, event_type=event["event_type"])
    if not event.get("s3_key") or not event.get("sha256"):
        raise NotReplayableError("the raw order was never stored: replay the download stage")
    return ProcessingRequested(
        **common,
        s3_key=event["s3_key"],
        s3_version_id=event.get("s3_version_id"),
        sha256=event["sha256"],
    )
