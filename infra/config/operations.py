"""What operators and CI work with: alarm thresholds, secret names, the deploy identity."""

from __future__ import annotations

from pydantic import Field

from infra.config.base import StrictModel


class AlarmSettings(StrictModel):
    """Thresholds for paging alarms. In dev, `actions_enabled: false` keeps alarms quiet."""

    actions_enabled: bool
    api_5xx_rate_percent: float = Field(gt=0, le=100)
    api_p99_latency_ms: int = Field(ge=50, le=29000)
    function_error_rate_percent: float = Field(gt=0, le=100)
    function_duration_ratio: float = Field(gt=0, le=1, description="p99 / timeout")
    queue_oldest_message_seconds: int = Field(ge=60)
    queue_max_depth: int = Field(ge=1)


class SecretNames(StrictModel):
    webhook_signing: str = Field(min_length=1, max_length=512)
    marketplace_api_token: str = Field(min_length=1, max_length=512)
    erp_webhook_keys: str = Field(min_length=1, max_length=512)
    provider_api_key: str = Field(min_length=1, max_length=512)


class DeployIdentitySettings(StrictModel):
    """Who deploys this env from CI: the GitHub Actions of one repository, through OIDC, in the
    GitHub environment named like this env. An account holds one GitHub OIDC provider: when
    two envs share an account, one identity stack creates it and the others use it."""

    github_repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    create_oidc_provider: bool = True
