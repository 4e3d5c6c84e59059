"""The message that asks the sync worker to apply one ERP event to the entity store, and the
stage it starts (one per priority lane's queue, one worker for all)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from erp.entities import EntityType, ErpEventType
from shared.claim_check import ClaimRef

SYNC_STAGE = "sync"


class ErpSyncRequested(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(min_length=1)
    correlation_id: str = Field(min_length=1)
    idempotency_key: str
    entity_type: EntityType
    entity_id: str
    event_type: ErpEventType
    data: dict[str, Any]  # empty when the data is too large to travel inline: see data_ref
    data_ref: ClaimRef | None = None  # where the data is when it does not fit an item
    source_timestamp: datetime
    priority: int
