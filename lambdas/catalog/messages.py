"""The queue message: one batch of one catalog's enrichment."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from catalog.requests import Product


class EnrichmentBatchRequested(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    tracking_id: str
    catalog_id: str
    batch_id: str
    user_id: str
    provider: str
    products: list[Product] = Field(min_length=1, max_length=50)
