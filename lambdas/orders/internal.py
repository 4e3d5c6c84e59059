"""The internal order model: what the internal API (POST /orders) accepts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class InternalAddress(BaseModel):
    model_config = ConfigDict(frozen=True)

    line1: str
    line2: str | None
    city: str
    postal_code: str
    county: str | None
    jurisdiction_code: str
    jurisdiction_name: str


class InternalParty(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: str
    name: str


class InternalOrder(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    external_order_id: str
    external_order_number: str
    external_status: str
    ordered_at: datetime
    product_code: str
    property_address: InternalAddress
    parcel_number: str | None
    parties: tuple[InternalParty, ...]
    total_fees: Decimal
    currency: str
    due_date: date | None
    source_event_id: str
