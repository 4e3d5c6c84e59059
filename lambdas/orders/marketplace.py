"""The marketplace's order document (GET /orders/{order_id}), as the marketplace shapes it.

This model is the outer edge of the anti-corruption layer: camelCase names, free-text states,
string amounts. Nothing past `orders.transform` sees it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _MarketplaceModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class MarketplaceAddress(_MarketplaceModel):
    line1: str = Field(min_length=1)
    line2: str | None = None
    city: str = Field(min_length=1)
    state: str = Field(min_length=1)
    postal_code: str = Field(pattern=r"^\d{5}(-\d{4})?$")
    county: str | None = None


class MarketplaceProperty(_MarketplaceModel):
    address: MarketplaceAddress
    parcel_number: str | None = None


class MarketplaceProduct(_MarketplaceModel):
    code: str = Field(min_length=1)
    name: str | None = None


class MarketplaceParty(_MarketplaceModel):
    role: str = Field(min_length=1)
    name: str = Field(min_length=1)
    email: str | None = None


class MarketplaceFee(_MarketplaceModel):
    description: str
    amount: Decimal = Field(ge=0, decimal_places=2)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class MarketplaceOrder(_MarketplaceModel):
    id: str
    order_number: str
    status: str
    created_at: datetime
    product: MarketplaceProduct
    property: MarketplaceProperty
    parties: list[MarketplaceParty] = Field(default_factory=list)
    fees: list[MarketplaceFee] = Field(default_factory=list)
    due_date: date | None = None
