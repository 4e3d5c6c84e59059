"""What each pipeline's own settings are: the event time window of the webhooks, the ERP's
re-delivery window, catalog enrichment and the stuck-event sweeper."""

from __future__ import annotations

from pydantic import Field, HttpUrl

from infra.config.base import StrictModel


class EventTimeWindow(StrictModel):
    """How far from now a webhook's own event time may be. One sender's wrong clock must not
    poison ordering: an ERP update dated 9999 would make every later real one look stale."""

    max_future_seconds: int = Field(ge=0, le=86_400)
    max_age_days: int = Field(ge=1, le=3650)


class ErpSettings(StrictModel):
    """ERP entity sync. A delivery without `occurred_at` that repeats the entity's latest one
    (same event type and data) within the window is a re-delivery; with `occurred_at` the
    ERP's timestamp tells them apart and no window applies."""

    dedupe_window_seconds: int = Field(ge=1, le=86_400)


class EnrichmentAlarmSettings(StrictModel):
    batch_failure_rate_percent: float = Field(gt=0, le=100)
    batch_duration_ratio: float = Field(gt=0, le=1, description="p99 batch duration / timeout")
    queue_max_depth: int = Field(ge=1)


class EnrichmentSettings(StrictModel):
    """Catalog enrichment: the provider, batch sizes, and its own alarm thresholds."""

    provider_api_base_url: HttpUrl
    default_batch_size: int = Field(ge=5, le=50)
    max_products: int = Field(ge=1, le=10000)
    alarms: EnrichmentAlarmSettings


class StuckEventSettings(StrictModel):
    """The sweeper re-enqueues events that have not moved for `stuck_after_minutes`."""

    sweep_every_minutes: int = Field(ge=1, le=1440)
    stuck_after_minutes: int = Field(ge=5, le=10080)
