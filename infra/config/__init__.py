"""Per-environment settings: read from `cdk.json` context and validated by one pydantic model.

Constructs receive these typed settings and never read CDK context themselves. One module per
section of an env (functions, queues, api, the pipelines' own, operations); `EnvironmentSettings`
holds them and checks what spans sections; `load_settings` selects and validates one env.
Importers use this package: `from infra.config import EnvironmentSettings, load_settings`.
"""

from __future__ import annotations

from infra.config.api import (
    LAMBDA_SYNC_PAYLOAD_BYTES,
    PROXY_EVENT_HEADROOM_BYTES,
    ApiSettings,
    TlsSecurityPolicy,
    WafSettings,
)
from infra.config.environment import LOG_RETENTION_DAYS, SERVICE_NAME, EnvironmentSettings
from infra.config.functions import Functions, FunctionSettings
from infra.config.loading import (
    DEFAULT_ENV,
    ENV_CONTEXT_KEY,
    ENVIRONMENTS_CONTEXT_KEY,
    ConfigError,
    load_settings,
)
from infra.config.operations import AlarmSettings, DeployIdentitySettings, SecretNames
from infra.config.pipelines import (
    EnrichmentAlarmSettings,
    EnrichmentSettings,
    ErpSettings,
    EventTimeWindow,
    StuckEventSettings,
)
from infra.config.queues import (
    AGE_METRIC_RECEIVES,
    DLQ_RETENTION_SECONDS,
    MAX_RETRY_SPAN_SECONDS,
    SOURCE_QUEUE_RETENTION_SECONDS,
    SQS_MAX_MESSAGE_BYTES,
    SQS_MAX_VISIBILITY_SECONDS,
    VISIBILITY_TIMEOUT_FACTOR,
    QueueConsumerSettings,
    Queues,
)
from shared.http_settings import HttpClientSettings

__all__ = [
    "AGE_METRIC_RECEIVES",
    "DEFAULT_ENV",
    "DLQ_RETENTION_SECONDS",
    "ENVIRONMENTS_CONTEXT_KEY",
    "ENV_CONTEXT_KEY",
    "LAMBDA_SYNC_PAYLOAD_BYTES",
    "LOG_RETENTION_DAYS",
    "MAX_RETRY_SPAN_SECONDS",
    "PROXY_EVENT_HEADROOM_BYTES",
    "SERVICE_NAME",
    "SOURCE_QUEUE_RETENTION_SECONDS",
    "SQS_MAX_MESSAGE_BYTES",
    "SQS_MAX_VISIBILITY_SECONDS",
    "VISIBILITY_TIMEOUT_FACTOR",
    "AlarmSettings",
    "ApiSettings",
    "ConfigError",
    "DeployIdentitySettings",
    "EnrichmentAlarmSettings",
    "EnrichmentSettings",
    "EnvironmentSettings",
    "ErpSettings",
    "EventTimeWindow",
    "FunctionSettings",
    "Functions",
    "HttpClientSettings",
    "QueueConsumerSettings",
    "Queues",
    "SecretNames",
    "StuckEventSettings",
    "TlsSecurityPolicy",
    "WafSettings",
    "load_settings",
]
