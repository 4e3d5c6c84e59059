"""The REST API's settings (`api` in an env): throttling, body limit, TLS policy and the WAF."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from infra.config.base import StrictModel

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


class WafSettings(StrictModel):
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


class ApiSettings(StrictModel):
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
