"""One environment's settings, and the checks that span several of its sections."""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import Field, HttpUrl, field_validator, model_validator

from infra.config.api import ApiSettings
from infra.config.base import StrictModel
from infra.config.functions import Functions
from infra.config.operations import AlarmSettings, DeployIdentitySettings, SecretNames
from infra.config.pipelines import (
    EnrichmentSettings,
    ErpSettings,
    EventTimeWindow,
    StuckEventSettings,
)
from infra.config.queues import MAX_RETRY_SPAN_SECONDS, QueueConsumerSettings, Queues
from shared.breaker.settings import BreakerSettings
from shared.http_settings import HttpClientSettings

SERVICE_NAME = "webhook-pipeline"
# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
     2922, 3288, 3653}
)  # fmt: skip
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class EnvironmentSettings(StrictModel):
    """Everything that differs between dev, staging and prod."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,15}$")
    # Optional at synth (CI synthesizes the repository as it is); `ops preflight` refuses a
    # staging or prod deploy without them, so prod never lands where credentials happen to point.
    account: str | None = Field(default=None, pattern=r"^\d{12}$")
    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    termination_protection: bool = False
    log_level: Literal["DEBUG", "INFO", "WARN", "ERROR"]
    log_retention_days: int
    removal_policy: Literal["destroy", "retain"]
    point_in_time_recovery: bool
    deletion_protection: bool
    event_ttl_days: int = Field(ge=1, le=3650)
    functions: Functions
    queues: Queues
    api: ApiSettings
    http: HttpClientSettings
    alarm_email: str | None = None
    alarms: AlarmSettings
    runbook_url: HttpUrl
    marketplace_api_base_url: HttpUrl
    internal_api_base_url: HttpUrl
    secret_names: SecretNames
    stuck_events: StuckEventSettings
    event_time_window: EventTimeWindow
    erp: ErpSettings
    enrichment: EnrichmentSettings
    circuit_breaker: BreakerSettings
    deploy_identity: DeployIdentitySettings

    @field_validator("log_retention_days")
    @classmethod
    def _retention_is_a_cloudwatch_value(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            allowed = ", ".join(str(v) for v in sorted(LOG_RETENTION_DAYS))
            raise ValueError(f"must be one of {allowed}")
        return value

    @field_validator("alarm_email")
    @classmethod
    def _email_shape(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("must be an email address")
        return value

    @model_validator(mode="after")
    def _workers_finish_their_batch_in_time(self) -> EnvironmentSettings:
        """A worker that times out fails its whole batch: the HTTP retries for every record of
        a batch (run `pool_size` at a time) must fit in 80% of the worker's timeout."""
        for worker, records in (
            ("download_worker", self.queues.download.batch_size),
            ("processing_worker", self.queues.processing.batch_size),
            # One catalog batch per message: up to 50 products, `pool_size` at a time.
            ("enrichment_worker", self.queues.enrichment.batch_size * 50),
        ):
            timeout = getattr(self.functions, worker).timeout_seconds
            rounds = math.ceil(records / self.http.pool_size)
            needed = rounds * self.http.worst_case_call_seconds
            if needed > 0.8 * timeout:
                raise ValueError(
                    f"functions.{worker}.timeout_seconds ({timeout}) is too short for the http "
                    f"retry budget: a batch can need {needed:.0f}s; raise the timeout or lower "
                    "http timeouts/retries"
                )
        return self

    @model_validator(mode="after")
    def _pollers_fit_the_reserved_concurrency(self) -> EnvironmentSettings:
        """A poller that invokes a function past its reserved concurrency is throttled, and
        every throttled receive counts toward maxReceiveCount: a burst would dead-letter
        healthy messages. Every event source therefore caps its pollers at the reservation."""
        for worker, queue, consumer in self.consumers:
            if consumer.max_concurrency is None:
                raise ValueError(f"queues.{queue}.max_concurrency is required (2 or more)")
            reserved = getattr(self.functions, worker).reserved_concurrency
            if reserved is not None and consumer.max_concurrency > reserved:
                raise ValueError(
                    f"queues.{queue}.max_concurrency ({consumer.max_concurrency}) is above "
                    f"functions.{worker}.reserved_concurrency ({reserved}): its pollers would be "
                    "throttled and throttled receives count toward maxReceiveCount"
                )
        return self

    @model_validator(mode="after")
    def _erp_lanes_are_ordered_by_priority(self) -> EnvironmentSettings:
        """The high lane must get more pollers than standard, standard more than low; one
        retry budget for all lanes (the worker counts attempts the same way for each)."""
        lanes = self.queues.erp_lanes
        high, standard, low = (lane.max_concurrency or 0 for lane in lanes.values())
        if not high > standard > low:
            raise ValueError(
                f"ERP lane max_concurrency must be high > standard > low, got {high}, "
                f"{standard}, {low}"
            )
        reserved = self.functions.erp_sync_worker.reserved_concurrency
        if reserved is not None and high + standard + low > reserved:
            raise ValueError(
                f"the ERP lanes may poll with {high + standard + low} concurrent invocations but "
                f"functions.erp_sync_worker.reserved_concurrency is {reserved}: lanes would "
                "throttle each other"
            )
        schedules = {
            (lane.retry_delays_seconds, lane.retry_jitter_ratio) for lane in lanes.values()
        }
        if len(schedules) != 1:
            raise ValueError("ERP lanes must share one retry schedule (retry_delays_seconds)")
        return self

    @property
    def consumers(self) -> list[tuple[str, str, QueueConsumerSettings]]:
        """(function, queue, consumer settings) for every queue a worker consumes."""
        return [
            ("download_worker", "download", self.queues.download),
            ("processing_worker", "processing", self.queues.processing),
            *(("erp_sync_worker", f"erp_{lane}", c) for lane, c in self.queues.erp_lanes.items()),
            ("enrichment_worker", "enrichment", self.queues.enrichment),
        ]

    @model_validator(mode="after")
    def _retry_schedules_fit_sqs(self) -> EnvironmentSettings:
        """Each wait must be a visibility SQS accepts, and the whole schedule must end in the
        DLQ well before the source queue's retention would drop the message."""
        for worker, queue, consumer in self.consumers:
            timeout = getattr(self.functions, worker).timeout_seconds
            limit = consumer.max_delay_seconds(timeout)
            if any(delay > limit for delay in consumer.retry_delays_seconds):
                raise ValueError(
                    f"queues.{queue}.retry_delays_seconds: each wait must be at most {limit}s "
                    f"(SQS's 12 h visibility limit minus functions.{worker}.timeout_seconds, the "
                    "batching window and a minute)"
                )
            span = consumer.retry_span_seconds(timeout)
            if span > MAX_RETRY_SPAN_SECONDS:
                raise ValueError(
                    f"queues.{queue}.retry_delays_seconds can keep a message retrying for "
                    f"{span / 3600:.1f} h; at most {MAX_RETRY_SPAN_SECONDS / 3600:.0f} h, so it "
                    "reaches the DLQ a day before the source queue's 4-day retention drops it"
                )
        return self

    @model_validator(mode="after")
    def _stuck_means_past_any_retry(self) -> EnvironmentSettings:
        """An event waiting out a crashed consumer's visibility timeout is not stuck."""
        # Waiting for a scheduled retry is not stuck (the sweeper counts from `next_retry_at`);
        # waiting out a crashed attempt's visibility timeout is not either. Enrichment batches
        # are not events: the sweeper does not look at them.
        longest = max(
            consumer.visibility_timeout_seconds(getattr(self.functions, worker).timeout_seconds)
            for worker, _, consumer in self.consumers
            if worker != "enrichment_worker"
        )
        if self.stuck_events.stuck_after_minutes * 60 <= longest:
            raise ValueError(
                f"stuck_events.stuck_after_minutes ({self.stuck_events.stuck_after_minutes}) "
                f"must exceed the longest visibility timeout ({longest}s)"
            )
        return self

    @property
    def stack_name(self) -> str:
        return f"WebhookPipeline-{self.name}"

    @property
    def deploy_identity_stack_name(self) -> str:
        return f"{self.stack_name}-DeployIdentity"

    @property
    def tags(self) -> dict[str, str]:
        return {"environment": self.name, "service": SERVICE_NAME}

    @property
    def retain_data(self) -> bool:
        return self.removal_policy == "retain"

    @property
    def metrics_namespace(self) -> str:
        return f"WebhookPipeline/{self.name}"
