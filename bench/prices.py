"""The one price table `bench.cost` uses (bench/prices.json): its date, region and, per price,
the public page it was read from. Update the JSON, its date with it; never price elsewhere."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

PRICES_FILE = Path(__file__).with_name("prices.json")


class Price(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    usd: float
    per: int  # usd buys this many units
    unit: str
    source: str

    @property
    def each(self) -> float:
        return self.usd / self.per


class PriceTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    date: str
    region: str
    currency: str
    note: str
    prices: dict[str, Price]

    def each(self, name: str) -> float:
        return self.prices[name].each


@cache
def price_table() -> PriceTable:
    return PriceTable.model_validate_json(PRICES_FILE.read_text())
