"""What every benchmark section reports: rows of figures, each beside the floor it is judged
against (measured in the same run) and, where the issue sets one, the target."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Row(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # what was measured, e.g. "ingest handler, deployed layer (no bytecode)"
    value: float
    unit: str  # "ms", "calls", "WCU", "records/s", "$ per 1M webhooks", "x"
    floor: float | None = None  # the same measurement of the floor, same unit
    floor_name: str | None = None  # what the floor is
    ratio: float | None = None  # value / floor, when there is a floor
    target: str | None = None  # the target for this row, e.g. "<= 1.5x floor and <= 600 ms"
    meets_target: bool | None = None  # None: no target for this row


class Section(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str  # stable id in bench/results.json, e.g. "cold_start"
    title: str
    method: str  # one or two sentences: how it was measured (repetitions, statistic, setup)
    rows: list[Row]
    notes: list[str] = Field(default_factory=list)  # what a reader must know to trust the figures
