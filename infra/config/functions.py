"""Each function's memory, timeout and reserved concurrency (`functions` in an env)."""

from __future__ import annotations

from pydantic import Field

from infra.config.base import StrictModel


class FunctionSettings(StrictModel):
    memory_mb: int = Field(ge=128, le=10240)
    timeout_seconds: int = Field(ge=1, le=900)
    reserved_concurrency: int | None = Field(default=None, ge=1)


class Functions(StrictModel):
    ingest: FunctionSettings
    download_worker: FunctionSettings
    processing_worker: FunctionSettings
    ops_api: FunctionSettings
    erp_ingest: FunctionSettings
    erp_sync_worker: FunctionSettings
    stuck_sweeper: FunctionSettings
    catalog_api: FunctionSettings
    enrichment_worker: FunctionSettings
    breaker_probe: FunctionSettings
