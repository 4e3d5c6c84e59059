"""Per-environment settings: read from `cdk.json` context and validated by one pydantic model.

Constructs receive these typed settings and never read CDK context themselves.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)

ENVIRONMENTS_CONTEXT_KEY = "webhook-pipeline:environments"
ENV_CONTEXT_KEY = "env"
DEFAULT_ENV = "dev"
SERVICE_NAME = "webhook-pipeline"

# CloudWatch Logs accepts only these retention periods (days).
_LOG_RETENTION_DAYS = frozenset(
    {
        1,
        3,
        5,
        7,
        14,
        30,
        60,
        90,
        120,
        150,
        180,
        365,
        400,
        545,
        731,
        1096,
        1827,
        2192,
        2557,
        2922,
        3288,
        3653,
    }
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ConfigError(Exception):
    """The selected environment is unknown or its settings are invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FunctionSettings(_Strict):
    memory_mb: int = Field(ge=128, le=10240)
    timeout_seconds: int = Field(ge=1, le=900)
    reserved_concurrency: int | None = Field(default=None, ge=1)


class QueueConsumerSettings(_Strict):
    batch_size: int = Field(ge=1, le=10)
    batching_window_seconds: int = Field(ge=0, le=300)
    max_receive_count: int = Field(ge=1, le=1000)
    max_concurrency: int | None = Field(default=None, ge=2, le=1000)


class ApiSettings(_Strict):
    throttling_rate_limit: float = Field(gt=0)
    throttling_burst_limit: int = Field(ge=1)
    max_request_body_bytes: int = Field(ge=1024, le=10 * 1024 * 1024)


class HttpClientSettings(_Strict):
    connect_timeout_seconds: float = Field(gt=0, le=30)
    read_timeout_seconds: float = Field(gt=0, le=120)
    max_retries: int = Field(ge=0, le=10)
    backoff_factor_seconds: float = Field(ge=0, le=10)
    max_retry_after_seconds: float = Field(ge=0, le=60)
    pool_size: int = Field(ge=1, le=100)

    @property
    def worst_case_call_seconds(self) -> float:
        """The longest one call can take: every attempt timing out, every pause at its maximum
        (urllib3 backs off factor * 2 ** (n - 1); a Retry-After is capped)."""
        attempts = self.max_retries + 1
        longest_backoff = self.backoff_factor_seconds * float(2 ** max(0, self.max_retries - 1))
        pause = max(self.max_retry_after_seconds, longest_backoff)
        per_attempt = self.connect_timeout_seconds + self.read_timeout_seconds
        return attempts * per_attempt + self.max_retries * pause


class AlarmSettings(_Strict):
    """Thresholds for paging alarms. In dev, `actions_enabled: false` keeps alarms quiet."""

    actions_enabled: bool
    api_5xx_rate_percent: float = Field(gt=0, le=100)
    api_p99_latency_ms: int = Field(ge=50, le=29000)
    function_error_rate_percent: float = Field(gt=0, le=100)
    function_duration_ratio: float = Field(gt=0, le=1, description="p99 / timeout")
    queue_oldest_message_seconds: int = Field(ge=60)
    queue_max_depth: int = Field(ge=1)


class Functions(_Strict):
    ingest: FunctionSettings
    download_worker: FunctionSettings
    processing_worker: FunctionSettings
    ops_api: FunctionSettings
    erp_ingest: FunctionSettings
    erp_sync_worker: FunctionSettings
    stuck_sweeper: FunctionSettings
    catalog_api: FunctionSettings
    enrichment_worker: FunctionSettings


class Queues(_Strict):
    download: QueueConsumerSettings
    processing: QueueConsumerSettings
    erp_high: QueueConsumerSettings
    erp_standard: QueueConsumerSettings
    erp_low: QueueConsumerSettings
    enrichment: QueueConsumerSettings

    @property
    def erp_lanes(self) -> dict[str, QueueConsumerSettings]:
        """The ERP priority lanes, most urgent first."""
        return {"high": self.erp_high, "standard": self.erp_standard, "low": self.erp_low}


class EnrichmentAlarmSettings(_Strict):
    batch_failure_rate_percent: float = Field(gt=0, le=100)
    batch_duration_ratio: float = Field(gt=0, le=1, description="p99 batch duration / timeout")
    queue_max_depth: int = Field(ge=1)


class EnrichmentSettings(_Strict):
    """Catalog enrichment: the provider, batch sizes, and its own alarm thresholds."""

    provider_api_base_url: HttpUrl
    default_batch_size: int = Field(ge=5, le=50)
    max_products: int = Field(ge=1, le=10000)
    alarms: EnrichmentAlarmSettings


class StuckEventSettings(_Strict):
    """The sweeper re-enqueues events that have not moved for `stuck_after_minutes`."""

    sweep_every_minutes: int = Field(ge=1, le=1440)
    stuck_after_minutes: int = Field(ge=5, le=10080)


class SecretNames(_Strict):
    webhook_signing: str = Field(min_length=1, max_length=512)
    marketplace_api_token: str = Field(min_length=1, max_length=512)
    erp_webhook_keys: str = Field(min_length=1, max_length=512)
    provider_api_key: str = Field(min_length=1, max_length=512)


class EnvironmentSettings(_Strict):
    """Everything that differs between dev, staging and prod."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,15}$")
    account: str | None = Field(default=None, pattern=r"^\d{12}$")
    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
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
    enrichment: EnrichmentSettings

    @field_validator("log_retention_days")
    @classmethod
    def _retention_is_a_cloudwatch_value(cls, value: int) -> int:
        if value not in _LOG_RETENTION_DAYS:
            allowed = ", ".join(str(v) for v in sorted(_LOG_RETENTION_DAYS))
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
    def _erp_lanes_are_ordered_by_priority(self) -> EnvironmentSettings:
        """The high lane must get more pollers than standard, standard more than low; one
        retry budget for all lanes (the worker counts attempts the same way for each)."""
        lanes = self.queues.erp_lanes
        concurrency = [lane.max_concurrency for lane in lanes.values()]
        if any(c is None for c in concurrency):
            raise ValueError("queues.erp_high/erp_standard/erp_low need max_concurrency")
        high, standard, low = (c or 0 for c in concurrency)
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
        if len({lane.max_receive_count for lane in lanes.values()}) != 1:
            raise ValueError("ERP lanes must share one max_receive_count")
        return self

    @model_validator(mode="after")
    def _stuck_means_past_any_retry(self) -> EnvironmentSettings:
        """An event waiting out a crashed consumer's visibility timeout is not stuck."""
        longest = max(
            6 * getattr(self.functions, worker).timeout_seconds + queue.batching_window_seconds
            for worker, queue in (
                ("download_worker", self.queues.download),
                ("processing_worker", self.queues.processing),
                *(("erp_sync_worker", lane) for lane in self.queues.erp_lanes.values()),
            )
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
    def tags(self) -> dict[str, str]:
        return {"environment": self.name, "service": SERVICE_NAME}

    @property
    def retain_data(self) -> bool:
        return self.removal_policy == "retain"

    @property
    def metrics_namespace(self) -> str:
        return f"WebhookPipeline/{self.name}"


def load_settings(environments: Any, env_name: str | None) -> EnvironmentSettings:
    """Select and validate one environment from the `webhook-pipeline:environments` context."""
    if not isinstance(environments, dict) or not environments:
        raise ConfigError(f"cdk.json context '{ENVIRONMENTS_CONTEXT_KEY}' is missing or empty")
    name = env_name or DEFAULT_ENV
    if name not in environments:
        valid = ", ".join(sorted(environments))
        raise ConfigError(f"unknown environment '{name}': valid names are {valid}")
    try:
        return EnvironmentSettings.model_validate({**environments[name], "name": name})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings for environment '{name}': {problems}") from exc
