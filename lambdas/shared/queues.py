"""A stage's queue and its dead-letter queue, as functions receive them in their settings."""

from __future__ import annotations

from pydantic import BaseModel


class QueueRef(BaseModel):
    url: str
    arn: str
    dlq_url: str
    dlq_arn: str
