"""The marketplace's order webhook body, as the sender signs it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class OrderEventType(StrEnum):
    CREATED = "order.created"
    UPDATED = "order.updated"
    READY_FOR_DOWNLOAD = "order.ready_for_download"
    CANCELLED = "order.cancelled"
    # Ours, not the marketplace's: a signed synthetic event (`ops smoke`) that every stage
    # passes on without calling the marketplace or the internal API.
    PING = "ping"


ORDER_ID_PATTERN = r"^QO-[0-9]{3,}$"  # "QO-" and ASCII digits, at least 6 characters in all


class OrderWebhook(BaseModel):
    """Unknown extra fields are kept out of the model: the sender may add fields at any time."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    order_id: str = Field(pattern=ORDER_ID_PATTERN, max_length=64)
    event_type: OrderEventType
    timestamp: AwareDatetime
