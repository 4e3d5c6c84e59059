"""Per-environment settings: read from `cdk.json` context and validated by one pydantic model.

Constructs receive these typed settings and never read CDK context themselves.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.http_settings import HttpClientSettings

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

# SQS limits and the queue settings derived from them (the queue construct uses these).
SQS_MAX_VISIBILITY_SECONDS = 43_200
SQS_MAX_MESSAGE_BYTES = 1024 * 1024
SOURCE_QUEUE_RETENTION_SECONDS = 4 * 86_400
DLQ_RETENTION_SECONDS = 14 * 86_400
# AWS guidance for Lambda event sources: a visibility timeout of at least 6x the function timeout.
VISIBILITY_TIMEOUT_FACTOR = 6
# SQS leaves a message out of ApproximateAgeOfOldestMessage once it was received this often.
AGE_METRIC_RECEIVES = 3
# A message must reach its DLQ a day before the source queue would drop it (a backlog can delay
# its first receive); it keeps its enqueue time there, so 11 of the DLQ's 14 days are left.
MAX_RETRY_SPAN_SECONDS = SOURCE_QUEUE_RETENTION_SECONDS - 86_400
_VISIBILITY_MARGIN_SECONDS = 60


class ConfigError(Exception):
    """The selected environment is unknown or its settings are invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FunctionSettings(_Strict):
    memory_mb: int = Field(ge=128, le=10240)
    timeout_seconds: int = Field(ge=1, le=900)
    reserved_concurrency: int | None = Field(default=None, ge=1)


class QueueConsumerSettings(_Strict):
    """A stage's queue consumer: the event source mapping and the retry schedule of its
    messages (the wait after each failed attempt; one receive more than waits)."""

    batch_size: int = Field(ge=1, le=10)
    batching_window_seconds: int = Field(ge=0, le=300)
    max_concurrency: int | None = Field(default=None, ge=2, le=1000)
    retry_delays_seconds: tuple[Annotated[int, Field(ge=1, le=SQS_MAX_VISIBILITY_SECONDS)], ...] = (
        Field(max_length=50)
    )
    retry_jitter_ratio: float = Field(default=0.2, ge=0, le=1)

    @property
    def max_receive_count(self) -> int:
        return len(self.retry_delays_seconds) + 1

    def visibility_timeout_seconds(self, consumer_timeout: int) -> int:
        """What a crashed or timed-out attempt waits before its message is received again."""
        return VISIBILITY_TIMEOUT_FACTOR * consumer_timeout + self.batching_window_seconds

    def max_delay_seconds(self, consumer_timeout: int) -> int:
        """SQS refuses a visibility that reaches past 12 h after the receive; the attempt has
        used up to the batching window and the function timeout of that by the time it fails."""
        return (
            SQS_MAX_VISIBILITY_SECONDS
            - consumer_timeout
            - self.batching_window_seconds
            - _VISIBILITY_MARGIN_SECONDS
        )

    def longest_wait_seconds(self, delay: int, consumer_timeout: int) -> int:
        jittered = math.ceil(delay * (1 + self.retry_jitter_ratio))
        return min(jittered, self.max_delay_seconds(consumer_timeout))

    def retry_schedule(self, consumer_timeout: int) -> dict[str, Any]:
        """The schedule as the worker reads it (`RETRY_SCHEDULE`, `shared.retries`)."""
        return {
            "delays_seconds": list(self.retry_delays_seconds),
            "jitter_ratio": self.retry_jitter_ratio,
            "max_delay_seconds": self.max_delay_seconds(consumer_timeout),
        }

    def retry_span_seconds(self, consumer_timeout: int) -> int:
        """The longest a message can take from its first receive to the DLQ: each attempt
        runs the whole timeout and then waits its longest, or crashes and waits out the
        visibility timeout, whichever is longer; the last one crashes too."""
        visibility = self.visibility_timeout_seconds(consumer_timeout)
        attempt = self.batching_window_seconds + consumer_timeout
        waits = (
            max(attempt + self.longest_wait_seconds(delay, consumer_timeout), visibility)
            for delay in self.retry_delays_seconds
        )
        return sum(waits) + visibility

    def age_while_retrying_seconds(self, consumer_timeout: int) -> int:
        """How old a message that keeps failing gets while SQS still counts it in the queue's
        ApproximateAgeOfOldestMessage (it stops after the third receive)."""
        attempt = self.batching_window_seconds + consumer_timeout
        counted = self.retry_delays_seconds[: AGE_METRIC_RECEIVES - 1]
        return sum(attempt + self.longest_wait_seconds(d, consumer_timeout) for d in counted)


# API Gateway takes bodies up to 10 MB, but a Lambda proxy integration is a synchronous invoke,
# whose request payload (the whole proxy event: body, headers, context) is capped at 6 MB.
LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
PROXY_EVENT_HEADROOM_BYTES = 64 * 1024  # headers, multi-value headers, request context


# The security policies a REGIONAL REST API accepts that refuse TLS 1.0 and 1.1 (the default,
# TLS_1_0, accepts them; the *_EDGE policies are for edge-optimized endpoints only). Policies named
# SecurityPolicy_* are "enhanced": they also need an endpoint access mode (the API sets STRICT).
TlsSecurityPolicy = Literal[
    "TLS_1_2",
    "SecurityPolicy_TLS13_1_2_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09",
    "SecurityPolicy_TLS13_1_3_2025_09",
    "SecurityPolicy_TLS13_1_3_FIPS_2025_09",
]


class WafSettings(_Strict):
    """The API stage's AWS WAF web ACL: managed rule groups, a per-IP rate limit and body rules."""

    enabled: bool
    # Requests one client IP may send in any 5 minutes before WAF answers 429 (WAF: 10 or more).
    rate_limit_per_5_minutes: int = Field(ge=10, le=2_000_000_000)
    # How much of a body API Gateway forwards to WAF: 16 KB is included in the request price,
    # each further 16 KB costs extra. Bodies past it are "oversize" to every rule.
    body_inspection_limit_kb: Literal[16, 32, 48, 64]

    @property
    def body_inspection_limit_bytes(self) -> int:
        return self.body_inspection_limit_kb * 1024


class ApiSettings(_Strict):
    # Stage-wide default, applied to each method on its own (API Gateway keeps a token bucket per
    # method): the operator and catalog routes.
    throttling_rate_limit: float = Field(gt=0)
    throttling_burst_limit: int = Field(ge=1)
    # The partner webhook routes' own buckets, at most the stage default.
    webhook_throttling_rate_limit: float = Field(gt=0)
    webhook_throttling_burst_limit: int = Field(ge=1)
    max_request_body_bytes: int = Field(
        ge=1024,
        le=LAMBDA_SYNC_PAYLOAD_BYTES - PROXY_EVENT_HEADROOM_BYTES,
        description="larger bodies get 413; at most Lambda's 6 MB synchronous payload less "
        "the proxy event's headers and context",
    )
    tls_security_policy: TlsSecurityPolicy
    waf: WafSettings

    @model_validator(mode="after")
    def _webhooks_do_not_outrun_the_stage(self) -> ApiSettings:
        """A webhook flood is throttled in the webhook routes' own buckets: they must not be
        allowed more than any operator route gets."""
        for kind in ("rate", "burst"):
            webhook = getattr(self, f"webhook_throttling_{kind}_limit")
            stage = getattr(self, f"throttling_{kind}_limit")
            if webhook > stage:
                raise ValueError(
                    f"api.webhook_throttling_{kind}_limit ({webhook:g}) is above "
                    f"api.throttling_{kind}_limit ({stage:g}): the webhook routes must be "
                    "throttled at or below the stage default"
                )
        return self


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


class EventTimeWindow(_Strict):
    """How far from now a webhook's own event time may be. One sender's wrong clock must not
    poison ordering: an ERP update dated 9999 would make every later real one look stale."""

    max_future_seconds: int = Field(ge=0, le=86_400)
    max_age_days: int = Field(ge=1, le=3650)


class ErpSettings(_Strict):
    """ERP entity sync. A delivery without `occurred_at` that repeats the entity's latest one
    (same event type and data) within the window is a re-delivery; with `occurred_at` the
    ERP's timestamp tells them apart and no window applies."""

    dedupe_window_seconds: int = Field(ge=1, le=86_400)


class DeployIdentitySettings(_Strict):
    """Who deploys this env from CI: the GitHub Actions of one repository, through OIDC, in the
    GitHub environment named like this env. An account holds one GitHub OIDC provider: when
    two envs share an account, one identity stack creates it and the others use it."""

    github_repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    create_oidc_provider: bool = True


class SecretNames(_Strict):
    webhook_signing: str = Field(min_length=1, max_length=512)
    marketplace_api_token: str = Field(min_length=1, max_length=512)
    erp_webhook_keys: str = Field(min_length=1, max_length=512)
    provider_api_key: str = Field(min_length=1, max_length=512)


class EnvironmentSettings(_Strict):
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
    deploy_identity: DeployIdentitySettings

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
