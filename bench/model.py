"""What every benchmark section reports: rows of figures, each beside the floor it is judged
against (measured in the same run) and, where the issue sets one, the target."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Lambda gives a function CPU in proportion to its memory: one vCPU-second per second at 1,769 MB
# (AWS docs, "Configure Lambda function memory"); a Python process uses at most one (the GIL).
ONE_VCPU_MB = 1769


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


class StageUsage(BaseModel):
    """What one unit of work at one stage costs in AWS requests, as counted by `bench.calls`
    (botocore calls made, capacity reported) and priced by `bench.cost`."""

    model_config = ConfigDict(frozen=True)

    pipeline: str  # "orders", "erp", "catalog"
    stage: str  # "ingest", "download", "processing", "erp-ingest", "erp-sync", "enrichment", ...
    unit: str  # what one unit is: "webhook", "record", "batch of 20 products"
    units_per_webhook: float = 1.0  # how many of this unit one webhook (or product) causes
    calls: dict[str, int]  # "dynamodb.PutItem" -> count, per unit
    read_units: float  # DynamoDB RCU per unit (tables and indexes)
    write_units: float  # DynamoDB WCU per unit (tables and indexes)
    index_write_units: float = 0.0  # the part of write_units spent on secondary indexes
    s3_bytes_stored: int = 0  # bytes put to S3 per unit
    notes: list[str] = Field(default_factory=list)
