"""Queue messages between the stages of the order pipeline, and the stages they start."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from orders.webhook import ORDER_ID_PATTERN, OrderEventType

DOWNLOAD_STAGE = "download"
PROCESSING_STAGE = "processing"


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(min_length=1)
    order_id: str = Field(pattern=ORDER_ID_PATTERN)
    correlation_id: str = Field(min_length=1)


class DownloadRequested(_Message):
    """Ingest → download worker."""

    event_type: OrderEventType


class ProcessingRequested(_Message):
    """Download worker → processing worker: where the raw order is and what it must hash to."""

    ping: bool = False  # the payload is a ping's, not an order: nothing to post
    s3_key: str
    s3_version_id: str | None = None
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
